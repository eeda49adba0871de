"""CMS pages. The home page is the root of each language tree."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from cms.blocks import BaseStreamBlock


class HomePage(Page):
    """The public front page of the platform, one per language."""

    # Wagtail ships no type information, so the stubs cannot tell that this is a model
    # and infer the fields' value types: they are spelled out.
    hero_title: models.CharField[str, str] = models.CharField(
        _("hero title"), max_length=120
    )
    hero_text: models.TextField[str, str] = models.TextField(
        _("hero text"), max_length=500, blank=True
    )
    body = StreamField(BaseStreamBlock(), verbose_name=_("body"), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("hero_title"),
        FieldPanel("hero_text"),
        FieldPanel("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    max_count_per_parent = 1
    template = "cms/home_page.html"

    class Meta:
        verbose_name = _("home page")
