"""The project's catalogue must not change what allauth's, Wagtail's and Django's own
pages say. Django reads the project's catalogue first, so a project msgid that is
also one of theirs ("Code", "Promote") replaced their translation everywhere: the
TOTP field on every staff login read "产品编号" and Wagtail's Promote tab
"设为生效模型". The project's ambiguous words carry a message context
(``pgettext``); where the project deliberately re-translates a library's string it
is listed here with the reason."""

from __future__ import annotations

import re
from pathlib import Path

import allauth
import django
import polib
import pytest
import wagtail
from django.conf import settings
from django.urls import reverse

OURS = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
LIBRARIES = {
    "allauth": Path(allauth.__file__).parent,
    "wagtail": Path(wagtail.__file__).parent,
    "django": Path(django.__file__).parent,
}

#: Library strings the project translates differently on purpose, and why. Each
#: means the same in the library's use as in ours.
REVIEWED_OVERRIDES = {
    "Email": "电子邮箱 throughout the portal",
    "Email address": "电子邮箱地址 throughout the portal",
    "email address": "电子邮箱地址 throughout the portal",
    "Name": "名称 and 名字 both fit a name column",
    "active": "已启用 and 有效 both fit a yes/no column",
    "English": "the language switcher names each language in itself",
    "requested by": "a synonym",
    "started at": "a synonym",
    "finished at": "a synonym",
    "description": "a synonym",
    "Page not found": "a synonym",
    "Filter": "筛选 is the portal's word",
    "Previous": "pagination in both",
    "Next": "pagination in both",
    "Log out": "退出登录 is the portal's word",
    "Clear all filters": "a synonym",
    "Created": "a synonym",
    "created at": "a synonym",
    "Phone": "a synonym",
}


def _library_translations() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, root in LIBRARIES.items():
        for path in root.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"):
            for entry in polib.pofile(str(path)):
                if entry.msgstr and not entry.msgctxt:
                    found.setdefault(entry.msgid, {})[name] = entry.msgstr
    return found


def _allauth_overrides() -> set[str]:
    source = (
        Path(settings.BASE_DIR) / "accounts" / "allauth_translations.py"
    ).read_text()
    return set(re.findall(r'gettext_noop\(\s*"((?:[^"\\]|\\.)*)"', source))


def test_no_project_string_changes_a_library_translation():
    libraries = _library_translations()
    allauth_fixed = _allauth_overrides()
    clashes = []
    for entry in polib.pofile(str(OURS)):
        if entry.msgctxt or entry.obsolete or entry.msgid not in libraries:
            continue
        theirs = libraries[entry.msgid]
        if entry.msgstr in theirs.values():
            continue
        if entry.msgid in REVIEWED_OVERRIDES or entry.msgid in allauth_fixed:
            continue
        clashes.append(f"{entry.msgid!r}: ours {entry.msgstr!r}, theirs {theirs}")
    assert clashes == [], "\n".join(clashes)


def test_no_allauth_string_is_shown_half_in_english():
    """allauth's Chinese catalogue writes "Email" in Latin letters in many strings;
    the project's catalogue translates each of them again."""
    ours = {e.msgid: e.msgstr for e in polib.pofile(str(OURS)) if not e.msgctxt}
    half = []
    for path in LIBRARIES["allauth"].glob("locale/zh_Hans/LC_MESSAGES/django.po"):
        for entry in polib.pofile(str(path)):
            if not entry.msgstr or entry.msgctxt or "openid" in entry.msgid:
                continue
            shown = ours.get(entry.msgid) or entry.msgstr
            bare = re.sub(r"%\(\w+\)s|\{\w+\}|<[^>]+>", "", shown)
            if re.search(r"[Ee]-?mail", bare):
                half.append(f"{entry.msgid!r} → {shown!r}")
    assert half == []


@pytest.mark.django_db
def test_the_staff_second_factor_field_is_labelled_code(client):
    from tests.factories import UserFactory, activate_totp
    from tests.factories.accounts import PASSWORD

    user = UserFactory()
    activate_totp(user)
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    html = client.get(reverse("mfa_authenticate")).content.decode()

    assert re.search(r"<label[^>]*>\s*代码\s*</label>", html), html
    assert "产品编号" not in html


@pytest.mark.django_db
def test_the_email_verification_page_is_all_chinese(client):
    html = client.get(reverse("account_email_verification_sent")).content.decode()
    assert "验证您的电子邮箱地址" in html
    assert "Email" not in re.sub(r"<[^>]+>", "", html)


@pytest.mark.django_db
def test_the_cms_page_editor_shows_wagtails_own_words(client):
    from wagtail.models import Page

    from accounts import services as account_services
    from accounts.models import OrganizationKind, Role
    from tests.factories import OrganizationFactory, UserFactory, activate_totp

    user = UserFactory()
    account_services.membership_create(
        user=user,
        organization=OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE),
        role=Role.EDITOR,
    )
    activate_totp(user)
    client.force_login(user)
    home = Page.objects.get(depth=2)

    html = client.get(
        reverse("wagtailadmin_pages:edit", args=[home.pk])
    ).content.decode()

    assert "设为生效模型" not in html
    assert ">推荐<" in html or "推荐\n" in html  # Wagtail's own "Promote" tab
    assert "Moderators approval" not in html
    assert "提交给信用办审核" in html
