"""Bootstrap classes for bound fields rendered by hand (allauth's field loops)."""

from django import template
from django.forms.boundfield import BoundField

register = template.Library()

CHECK_WIDGETS = {"checkbox", "radio"}


@register.filter
def bootstrap(field: BoundField) -> str:
    widget_type = field.widget_type
    if widget_type in CHECK_WIDGETS:
        css = "form-check-input"
    elif widget_type in {"select", "selectmultiple"}:
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})
