"""The Wagtail home page in both languages (see ``manage.py seed_demo``)."""

from __future__ import annotations

from typing import Any, TypedDict

from wagtail.models import Locale, Page, Site

from cms.models import HomePage


class _HomeContent(TypedDict):
    title: str
    hero_title: str
    hero_text: str
    #: StreamField blocks as ``(block name, value)``.
    body: list[tuple[str, Any]]


HOME_CONTENT: dict[str, _HomeContent] = {
    "zh-hans": {
        "title": "信易贷",
        "hero_title": "以信换贷，信用越好融资越易",
        "hero_text": "企业授权使用公共信用数据，获得可解释的信用评分，对接银行贷款产品，全程进度可查、授权随时可撤回。",
        "body": [
            ("heading", {"text": "平台如何工作", "size": "h2"}),
            (
                "paragraph",
                "<ol><li>注册并认证企业（统一社会信用代码）。</li>"
                "<li>阅读授权书，选择授权的数据类别、用途和期限。</li>"
                "<li>获得信用评分和影响评分的主要原因。</li>"
                "<li>申请匹配的贷款产品，银行须在承诺时限内答复。</li></ol>",
            ),
        ],
    },
    "en": {
        "title": "Xinyidai",
        "hero_title": "Credit makes lending easy",
        "hero_text": "Authorize the use of your public credit data, get an explainable credit score, "
        "apply to bank loan products and follow every step; revoke your consent at any time.",
        "body": [
            ("heading", {"text": "How the platform works", "size": "h2"}),
            (
                "paragraph",
                "<ol><li>Register and verify your enterprise (Unified Social Credit Code).</li>"
                "<li>Read the authorization notice and choose data categories, purpose and term.</li>"
                "<li>Get your credit score and the main reasons behind it.</li>"
                "<li>Apply to matched loan products; banks must answer within their promised time.</li></ol>",
            ),
        ],
    },
}


def _fill(page: HomePage, language: str) -> None:
    content = HOME_CONTENT[language]
    page.title = content["title"]
    page.hero_title = content["hero_title"]
    page.hero_text = content["hero_text"]
    page.body = content["body"]


def seed(**options) -> list[str]:
    zh, _ = Locale.objects.get_or_create(language_code="zh-hans")
    en, _ = Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node()
    home = HomePage.objects.filter(locale=zh).first()
    if home is None:
        # Wagtail's migrations create a plain "Welcome" page; the home page replaces it.
        for page in root.get_children().exact_type(Page):
            page.delete()
        home = HomePage(slug="home", locale=zh)
        _fill(home, "zh-hans")
        root.add_child(instance=home)
        home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name="信易贷 Xinyidai",
        )
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.site_name = "信易贷 Xinyidai"
        site.save()
    if not HomePage.objects.filter(
        translation_key=home.translation_key, locale=en
    ).exists():
        english = home.copy_for_translation(en)
        english = HomePage.objects.get(pk=english.pk)
        _fill(english, "en")
        english.save_revision().publish()
    return ["", "Wagtail home page ready in zh-hans (/) and en (/en/); CMS at /admin/"]
