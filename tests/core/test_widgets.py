"""The Python-rendered widgets write exactly what Django's widget templates write."""

from __future__ import annotations

import re

import pytest
from django import forms

from core import widgets

CHOICES = [("", "任意"), ("440304", "福田区"), ("a&b", "<R&D> “quoted”")]


@pytest.mark.parametrize(
    ("fast", "django_widget", "value", "attrs"),
    [
        (widgets.NumberInput(), forms.NumberInput(), None, {"class": "form-control"}),
        (widgets.NumberInput(), forms.NumberInput(), "12", {"id": "id_term", "min": 1}),
        (
            widgets.NumberInput(),
            forms.NumberInput(),
            '"><script>',
            {"class": "form-control is-invalid", "aria-invalid": "true"},
        ),
        (widgets.CheckboxInput(), forms.CheckboxInput(), True, {"id": "id_x"}),
        (widgets.CheckboxInput(), forms.CheckboxInput(), False, {"required": True}),
        (
            widgets.Select(choices=CHOICES),
            forms.Select(choices=CHOICES),
            "440304",
            {"id": "id_district", "class": "form-select"},
        ),
        (
            widgets.Select(choices=CHOICES),
            forms.Select(choices=CHOICES),
            "a&b",
            {"disabled": True},
        ),
        (
            widgets.Select(choices=[("Group <1>", [("1", "one"), ("2", "two")])]),
            forms.Select(choices=[("Group <1>", [("1", "one"), ("2", "two")])]),
            "2",
            {},
        ),
    ],
)
def test_python_rendered_widgets_match_djangos_templates(
    fast, django_widget, value, attrs
):
    expected = django_widget.render("field", value, attrs=dict(attrs))
    fast_html = str(fast.render("field", value, attrs=dict(attrs)))
    # Django's templates put line breaks between the options; nothing else differs.
    assert fast_html == re.sub(r">\s+<", "><", str(expected).strip())
