"""Form widgets that render their own context in Python.

Django renders every widget through templates: a ``<select>`` of twenty districts is
one template for the select, one per option and one for each element's attributes,
which made the product supermarket's filter form cost more than the rest of the page.
These widgets take the very context Django builds (``get_context``) and write the
same HTML directly, escaped by ``format_html``; they are drop-in replacements where
a form is rendered on a busy public page. Their output is compared with Django's own
in ``tests/core/test_widgets.py``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """`` name="value"`` pairs as ``django/forms/widgets/attrs.html`` writes them:
    ``True`` as a bare name, ``False`` left out."""
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(" {}", name)
                if value is True
                else format_html(' {}="{}"', name, value),
            )
            for name, value in attrs.items()
            if value is not False
        ),
    )


class PythonRenderedInput:
    """``<input>`` as ``django/forms/widgets/input.html``."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        value_html = (
            format_html(' value="{}"', widget["value"])
            if widget["value"] is not None
            else ""
        )
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            value_html,
            _attributes(widget["attrs"]),
        )


class NumberInput(PythonRenderedInput, forms.NumberInput):
    pass


class CheckboxInput(PythonRenderedInput, forms.CheckboxInput):
    pass


class Select(forms.Select):
    """``<select>`` as ``django/forms/widgets/select.html`` and ``select_option.html``."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [
            format_html(
                '<select name="{}"{}>', widget["name"], _attributes(widget["attrs"])
            )
        ]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    format_html(
                        '<option value="{}"{}>{}</option>',
                        option["value"],
                        _attributes(option["attrs"]),
                        option["label"],
                    )
                )
            if group_name:
                parts.append(mark_safe("</optgroup>"))
        parts.append(mark_safe("</select>"))
        # Every part is escaped above or a constant.
        return mark_safe("".join(parts))  # noqa: S308
