"""Both languages render, the switcher works, bad input is refused, error pages."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.seed import seed as seed_accounts
from cms.seed import seed as seed_cms


@pytest.fixture
def home_pages(db):
    seed_cms()


def test_home_page_renders_in_chinese_by_default(client, home_pages):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in html
    assert "以信换贷，信用越好融资越易" in html
    assert "注册" in html  # navigation is translated too


def test_home_page_renders_in_english_under_en(client, home_pages):
    response = client.get("/en/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Credit makes lending easy" in html
    assert "Sign up" in html


def test_every_page_has_the_language_switcher(client, db):
    for path in ["/accounts/login/", "/en/accounts/login/", "/accounts/signup/"]:
        html = client.get(path).content.decode()
        assert 'data-testid="language-switcher"' in html
        assert 'value="zh-hans"' in html and 'value="en"' in html


def test_switcher_moves_to_the_same_page_in_english_and_back(client, db):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/login/"
    assert response.cookies["django_language"].value == "en"
    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/en/accounts/login/"}
    )
    assert response["Location"] == "/accounts/login/"
    assert response.cookies["django_language"].value == "zh-hans"


def test_unknown_language_code_is_refused_with_a_message_and_no_cookie(db):
    client = Client()
    response = client.post(
        "/i18n/setlang/", {"language": "xx-evil", "next": "/en/accounts/login/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/login/"
    assert "django_language" not in response.cookies
    page = client.get(response["Location"])
    messages = [str(m) for m in page.context["messages"]]
    assert messages == ["Unknown language “xx-evil”. Choose one of: en, zh-hans."]


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_language_switch_refuses_open_redirects(client, db, next_url):
    response = client.post("/i18n/setlang/", {"language": "en", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/en/"
    assert "evil" not in response["Location"]


def test_language_switch_answers_only_post(client, db):
    assert client.get("/i18n/setlang/?language=en").status_code == 405


def test_unknown_language_prefix_is_404(client, db):
    assert client.get("/xx/accounts/login/").status_code == 404


def test_404_page_is_ours_in_both_languages(client, home_pages):
    zh = client.get("/no-such-page/")
    en = client.get("/en/no-such-page/")
    assert zh.status_code == 404 and en.status_code == 404
    assert "页面不存在" in zh.content.decode()
    assert "Page not found" in en.content.decode()


def test_500_page_renders_without_any_context(rf):
    from config.views import server_error

    response = server_error(rf.get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "服务暂时不可用" in html and "Service temporarily unavailable" in html


def test_navigation_follows_roles(client, db, home_pages):
    seed_accounts()
    from accounts.models import User

    client.force_login(User.objects.get(email="owner@xinyidai.local"))
    html = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-portal="enterprise"' in html
    assert 'href="/en/portal/enterprise/"' in html
    assert 'href="/en/portal/bank/"' not in html


def test_seed_demo_is_idempotent(db):
    from django.core.management import call_command

    from accounts.models import Membership, Organization, User
    from cms.models import HomePage

    call_command("seed_demo", model_enterprises=150, stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
        HomePage.objects.count(),
    )
    call_command("seed_demo", model_enterprises=150, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
        HomePage.objects.count(),
    ) == counts
    assert counts == (7, 4, 7, 2)


def test_chinese_catalogue_is_complete():
    """Every project string has a zh-hans translation that gettext will use."""
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"
    entries, current = [], {}
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current:
                entries.append(current)
            current = {}
        elif line.startswith("#,"):
            current["flags"] = line
        elif line.startswith(("msgid ", "msgstr ", "msgstr[0] ")):
            key, _, value = line.partition(" ")
            current[key] = value.strip('"')
            current["_last"] = key
        elif line.startswith('"') and "_last" in current:
            current[current["_last"]] += line.strip('"')
    messages = [e for e in entries if e.get("msgid")]
    assert len(messages) > 100
    untranslated = [
        e["msgid"] for e in messages if not (e.get("msgstr") or e.get("msgstr[0]"))
    ]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e.get("flags", "")]
    assert untranslated == []
    assert fuzzy == []
