"""StreamField blocks for every CMS page, with one shared ``BaseStreamBlock``."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Heading"), max_length=120)
    size = blocks.ChoiceBlock(
        label=_("Size"),
        choices=[("h2", "H2"), ("h3", "H3"), ("h4", "H4")],
        default="h2",
    )

    class Meta:
        icon = "title"
        template = "blocks/heading_block.html"
        preview_value = {"text": "信易贷 · 以信换贷", "size": "h2"}


class CallToActionBlock(blocks.StructBlock):
    title = blocks.CharBlock(label=_("Title"), max_length=120)
    text = blocks.TextBlock(label=_("Text"), required=False, max_length=400)
    link_page = blocks.PageChooserBlock(label=_("Link to page"), required=False)
    link_url = blocks.URLBlock(label=_("Or link to URL"), required=False)
    button_label = blocks.CharBlock(label=_("Button label"), max_length=40)

    class Meta:
        icon = "link"
        template = "blocks/call_to_action_block.html"
        preview_value = {
            "title": "授权数据，获得信用评分",
            "text": "企业授权平台使用公共信用数据后，即可获得评分并匹配贷款产品。",
            "link_url": "https://example.org/",
            "button_label": "立即注册",
        }


class BaseStreamBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        label=_("Paragraph"),
        icon="pilcrow",
        template="blocks/paragraph_block.html",
        features=["bold", "italic", "link", "ol", "ul", "h3", "h4"],
        preview_value="<p>信用越好，融资越易。</p>",
    )
    image = ImageBlock(label=_("Image"), template="blocks/image_block.html")
    call_to_action = CallToActionBlock()
