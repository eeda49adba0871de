"""Words, not codes: every stored choice reaches a page or an email as its label.

The record tables are built generically from the models: one enterprise gets, for
every record table, enough records that every value of every choice field occurs, so
a new table, field or choice is covered without touching this file. The pages are
rendered in both languages and read back as the user sees them (tags stripped, table
cells one by one); a stored code anywhere in the output fails the test.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from accounts.models import OrganizationKind, Role
from accounts.selectors import platform_organization
from borrowers import services as borrower_services
from borrowers.models import AccessChannel, ConsentPurpose, Enterprise
from core.codes import INDUSTRIES, Category
from creditdata.categories import RECORD_FIELDS
from creditdata.models import (
    RECORD_MODELS,
    DataQualityFinding,
    FindingSeverity,
    IngestionRun,
    IngestionStatus,
)
from creditdata.quality import FindingRule
from tests.factories import MembershipFactory, OrganizationFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db

LANGUAGES = ["zh-hans", "en"]
#: Fields every record has; the rest are the category's own.
BASE_FIELDS = {"id", "enterprise", "source", "source_id", "fetched_at", "ingestion_run"}

MONTH = dt.date(2025, 3, 1)
DAY = dt.date(2025, 3, 14)
AMOUNT = Decimal("1234567.89")
COUNT = 1234
#: How each kind of cell reads, per language (exact strings).
EXPECTED = {
    "zh-hans": {
        "month": "2025年3月",
        "date": "2025年3月14日",
        "money": "1,234,567.89元",
        "decimal": "1,234,567.89",
        "int": "1,234",
        "bool": {"是", "否"},
    },
    "en": {
        "month": "Mar 2025",
        "date": "March 14, 2025",
        "money": "CNY 1,234,567.89",
        "decimal": "1,234,567.89",
        "int": "1,234",
        "bool": {"Yes", "No"},
    },
}


def _url(language: str, name: str, args=()) -> str:
    """The page's address in ``language`` (no prefix for zh-hans, ``/en/`` for en)."""
    with translation.override(language):
        return reverse(name, args=list(args))


# --- reading a page as its reader does -------------------------------------------------
def _text(fragment: str) -> str:
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _table(page: str, testid: str) -> tuple[list[str], list[list[str]]]:
    """The header texts and the rows' cell texts of the table ``data-testid``."""
    match = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert match, f"no table {testid}"
    table = match.group(0)
    headers = [_text(th) for th in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S)]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    rows = [
        [_text(td) for td in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, re.S)
    ]
    return headers, rows


def _main(page: str) -> str:
    match = re.search(r"<main\b.*?</main>", page, re.S)
    return _text(match.group(0) if match else page)


def _codes_shown(text: str, codes, allowed) -> list[str]:
    """The codes (3 characters or more) that occur as a whole word in ``text`` once
    every allowed wording (labels, headers) is taken out of it: a label may contain
    its code as a word ("Administrative penalty"), a leaked code is never inside one.
    One-letter codes ("A", "G") are checked cell by cell instead."""
    for wording in sorted({str(a) for a in allowed if str(a)}, key=len, reverse=True):
        text = text.replace(wording, " ")
    return sorted(
        code
        for code in {str(c) for c in codes}
        if len(code) >= 3 and re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)
    )


def _verified(enterprise: Enterprise) -> Enterprise:
    """Real-name verified, as an enterprise must be before it grants a consent."""
    Enterprise.objects.filter(pk=enterprise.pk).update(
        verification_status="verified",
        verified_at=timezone.now(),
        verification_method="pre_existing",
    )
    return enterprise


# --- one record of every table, every choice value ---------------------------------------
def _own_fields(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in BASE_FIELDS]


def _choice_fields(model) -> list[models.Field]:
    return [f for f in _own_fields(model) if f.choices]


def _value(model, field: models.Field, index: int):
    """The ``index``-th record's value: choices cycle through all their values."""
    if field.choices:
        values = [value for value, _label in field.flatchoices]
        return values[index % len(values)]
    kind = {spec.name: spec.kind for spec in RECORD_FIELDS[model.CATEGORY]}.get(
        field.name
    )
    if isinstance(field, models.BooleanField):
        return index % 2 == 0
    if isinstance(field, models.DateField):
        return MONTH if kind == "month" else DAY
    if isinstance(field, models.DecimalField):
        return AMOUNT
    if isinstance(field, models.IntegerField):
        return COUNT
    if isinstance(field, models.CharField):
        return f"示例{index}"[: field.max_length]
    raise AssertionError(f"{model.__name__}.{field.name}: no sample value")


def _records_of_every_kind(enterprise: Enterprise) -> None:
    for category, model in RECORD_MODELS.items():
        count = max([2, *(len(field.flatchoices) for field in _choice_fields(model))])
        model.objects.bulk_create(
            model(
                enterprise=enterprise,
                source="sandbox",
                source_id=f"{category}-{index}",
                **{f.name: _value(model, f, index) for f in _own_fields(model)},
            )
            for index in range(count)
        )


@pytest.fixture
def owner_with_records(client):
    enterprise, owner = enterprise_with_owner()
    _records_of_every_kind(enterprise)
    client.force_login(owner)
    return enterprise, owner


def test_every_category_has_a_record_table_the_test_fills():
    assert set(RECORD_MODELS) == set(Category.values)
    for model in RECORD_MODELS.values():
        assert {spec.name for spec in RECORD_FIELDS[model.CATEGORY]} == {
            field.name for field in _own_fields(model)
        }, model.__name__


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("category", Category.values)
def test_record_tables_show_labels_months_money_and_words_never_codes(
    client, owner_with_records, language, category
):
    model = RECORD_MODELS[category]
    specs = RECORD_FIELDS[category]
    response = client.get(_url(language, "creditdata:my_data_category", [category]))
    assert response.status_code == 200
    page = response.content.decode()
    headers, rows = _table(page, "records")
    with translation.override(language):
        expected_headers = [
            str(capfirst(model._meta.get_field(spec.name).verbose_name))
            for spec in specs
        ] + [gettext("Source"), gettext("Fetched at")]
        labels = {
            field.name: {value: str(label) for value, label in field.flatchoices}
            for field in _choice_fields(model)
        }
        title = str(Category(category).label)  # "Utilities (water, electricity, gas)"
    assert headers == expected_headers
    assert len(rows) == model.objects.count()
    expected = EXPECTED[language]
    codes = {code for by_code in labels.values() for code in by_code}
    for position, spec in enumerate(specs):
        cells = [row[position] for row in rows]
        assert not set(cells) & codes, (spec.name, sorted(set(cells) & codes))
        if spec.name in labels:
            # Every value of the choice occurs once in a while, always as its label.
            assert set(cells) == set(labels[spec.name].values()), spec.name
        elif spec.kind == "bool":
            assert set(cells) == expected["bool"], spec.name
        elif spec.kind in ("month", "date", "int"):
            assert set(cells) == {expected[spec.kind]}, spec.name
        elif spec.kind == "decimal":
            wanted = expected["decimal" if spec.quantity else "money"]
            assert set(cells) == {wanted}, spec.name
    allowed = [
        title,
        *expected_headers,
        *(v for by in labels.values() for v in by.values()),
    ]
    assert _codes_shown(_main(page), codes, allowed) == []


def test_english_headers_are_capitalized_words_not_field_names(
    client, owner_with_records
):
    page = client.get(_url("en", "creditdata:my_data_category", ["administrative"]))
    headers, _rows = _table(page.content.decode(), "records")
    assert headers == [
        "Type",
        "Decision number",
        "Authority",
        "Decided on",
        "Amount",
        "Severity",
        "Credit repaired",
        "Repaired on",
        "Description",
        "Source",
        "Fetched at",
    ]


@pytest.mark.parametrize(
    ("language", "district", "industry"),
    [("zh-hans", "福田区", "制造业"), ("en", "Futian", "Manufacturing")],
)
def test_registration_shows_the_district_and_industry_names(
    client, language, district, industry
):
    enterprise, owner = enterprise_with_owner()
    RECORD_MODELS["registration"].objects.create(
        enterprise=enterprise,
        source="sandbox",
        source_id="reg-1",
        name="深圳市示例有限公司",
        legal_representative="张三",
        registered_capital=Decimal("3840000.00"),
        founded_on=dt.date(2002, 2, 24),
        industry="C",
        district="440304",
        status="active",
    )
    client.force_login(owner)
    page = client.get(
        _url(language, "creditdata:my_data_category", ["registration"])
    ).content.decode()
    _headers, [row] = _table(page, "records")
    money = {"zh-hans": "3,840,000.00元", "en": "CNY 3,840,000.00"}[language]
    assert row[2] == money
    assert (row[4], row[5]) == (industry, district)
    assert "440304" not in _main(page)


# --- the formatting helpers ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ["1,234,567.89元", "0.50元", "-5.00元", "12,000,000.00元", ""]),
        ("en", ["CNY 1,234,567.89", "CNY 0.50", "CNY -5.00", "CNY 12,000,000.00", ""]),
    ],
)
def test_money_is_grouped_by_thousands_with_the_currency_of_the_language(
    language, expected
):
    from core.templatetags.formatting import format_money

    with translation.override(language):
        assert [
            format_money(value)
            for value in (Decimal("1234567.89"), "0.5", -5, 12_000_000, None)
        ] == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_are_grouped_in_both_languages(language):
    from core.templatetags.formatting import format_number

    with translation.override(language):
        assert format_number(1234) == "1,234"
        assert format_number(Decimal("15547.10"), 2) == "15,547.10"
        assert format_number(999) == "999"
        assert format_number("not a number") == ""


@pytest.mark.parametrize(
    ("language", "march", "december"),
    [("zh-hans", "2026年3月", "2025年12月"), ("en", "Mar 2026", "Dec 2025")],
)
def test_months_are_written_as_months_in_the_locale_format(language, march, december):
    from django.template import Context, Template

    from core.templatetags.formatting import format_month

    with translation.override(language):
        assert format_month(dt.date(2026, 3, 1)) == march
        assert format_month(None) == ""
        rendered = Template("{% load formatting %}{{ day|month }}").render(
            Context({"day": dt.date(2025, 12, 1)})
        )
    assert rendered == december


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "1,234,567.89元 · 2026年3月 · 是"),
        ("en", "CNY 1,234,567.89 · Mar 2026 · Yes"),
    ],
)
def test_the_template_filters_follow_a_language_block(language, expected):
    from django.template import Context, Template

    template = Template(
        "{% load i18n formatting %}{% language code %}"
        "{{ amount|money }} · {{ day|month }} · {{ flag|yes_no }}{% endlanguage %}"
    )
    with translation.override("en" if language == "zh-hans" else "zh-hans"):
        rendered = template.render(
            Context(
                {
                    "code": language,
                    "amount": AMOUNT,
                    "day": dt.date(2026, 3, 1),
                    "flag": True,
                }
            )
        )
    assert rendered == expected


# --- reasons --------------------------------------------------------------------------------
@pytest.mark.parametrize("section", ["C", "E", "F", "G", "H", "I", "L", "M"])
def test_the_industry_reason_names_the_industry_not_its_section_letter(section):
    from scoring.features import INDUSTRY_SECTIONS
    from scoring.reasons import sentence

    assert section in INDUSTRY_SECTIONS
    for language in LANGUAGES:
        text = sentence("industry", {}, f"industry_{section}", language)
        with translation.override(language):
            name = str(INDUSTRIES[section])
        assert name in text, (language, text)
        assert not re.search(rf"(?<![A-Za-z]){section}(?![A-Za-z])", text), text
    assert sentence("industry", {}, "industry_C", "en") == (
        "the overall risk of its industry (Manufacturing)"
    )


def test_no_reason_sentence_shows_a_feature_name_or_a_placeholder():
    from scoring.features import FEATURES, GROUPS
    from scoring.reasons import sentence

    values = {feature.name: 1.0 for feature in FEATURES}
    for group in GROUPS:
        for feature in (f for f in FEATURES if f.group == group):
            for language in LANGUAGES:
                text = sentence(group, values, feature.name, language)
                assert not re.search(r"[a-z]+_[a-z0-9_]+", text), text
                assert "?" not in text and "%(" not in text, text


# --- emails -----------------------------------------------------------------------------------
def _revoked_with_managers(capture, *languages: str):
    """A consent to a bank revoked from an English page, the bank's managers
    preferring ``languages`` ("" = none chosen); returns the enterprise and the
    managers' emails in order."""
    enterprise, owner = enterprise_with_owner()
    lender = OrganizationFactory(kind=OrganizationKind.LENDER, name="示范银行")
    emails = []
    for index, language in enumerate(languages):
        manager = MembershipFactory(organization=lender, role=Role.ADMIN).user
        manager.email = f"manager{index}@bank.example"
        manager.preferred_language = language
        manager.save()
        emails.append(manager.email)
    authorization = grant(
        _verified(enterprise),
        owner,
        grantee=lender,
        purpose=ConsentPurpose.POST_LOAN_MONITORING,
        categories=["utilities", "tax", "administrative"],
    )
    with translation.override("en"), capture(execute=True):
        borrower_services.authorization_revoke(
            authorization=authorization, revoked_by=owner
        )
    return enterprise, emails


def _labels_of(language: str) -> tuple[str, list[str]]:
    with translation.override(language):
        purpose = str(ConsentPurpose.POST_LOAN_MONITORING.label)
        categories = [
            str(Category(c).label) for c in ("tax", "utilities", "administrative")
        ]
    return purpose, categories


def _no_codes_in(body: str) -> list[str]:
    labels = []
    for language in LANGUAGES:
        with translation.override(language):
            labels += [
                str(label) for label in (*Category.labels, *ConsentPurpose.labels)
            ]
    return _codes_shown(body, [*Category.values, *ConsentPurpose.values], labels)


def test_the_revocation_email_names_the_purpose_and_categories_in_both_languages(
    django_capture_on_commit_callbacks,
):
    _enterprise, [email] = _revoked_with_managers(
        django_capture_on_commit_callbacks, ""
    )
    [message] = mail.outbox
    assert message.to == [email]
    zh, en = message.body.split("\n----\n")
    assert "Purpose: Post-loan monitoring\n" in en
    assert (
        "Categories: Tax; Utilities (water, electricity, gas); "
        "Administrative licences and penalties\n"
    ) in en
    # The Chinese half names them in Chinese although the revocation came from an
    # English page (its sentences are the catalogue's; the labels are checked here).
    purpose, categories = _labels_of("zh-hans")
    assert (purpose, categories) == (
        "贷后监测",
        ["纳税", "水电气", "行政许可与行政处罚"],
    )
    assert purpose in zh and all(label in zh for label in categories)
    assert "Post-loan monitoring" not in zh and "Tax" not in zh
    assert _no_codes_in(message.body) == []


def test_each_manager_gets_the_revocation_email_in_the_language_they_chose(
    django_capture_on_commit_callbacks,
):
    enterprise, (chinese, english, unknown) = _revoked_with_managers(
        django_capture_on_commit_callbacks, "zh-hans", "en", ""
    )
    by_recipient = {tuple(message.to): message for message in mail.outbox}
    assert set(by_recipient) == {(chinese,), (english,), (unknown,)}
    zh_purpose, zh_categories = _labels_of("zh-hans")
    en_purpose, en_categories = _labels_of("en")
    only_zh = by_recipient[(chinese,)].body
    assert zh_purpose in only_zh and en_purpose not in only_zh
    assert all(label in only_zh for label in zh_categories)
    assert "\n----\n" not in only_zh
    only_en = by_recipient[(english,)].body
    assert f"Purpose: {en_purpose}\n" in only_en and zh_purpose not in only_en
    assert f"Categories: {'; '.join(en_categories)}\n" in only_en
    assert by_recipient[(english,)].subject == (
        f"[Xinyidai] {enterprise.name} revoked its data consent"
    )
    both = by_recipient[(unknown,)].body
    assert zh_purpose in both and en_purpose in both
    for message in mail.outbox:
        assert _no_codes_in(message.body) == []


# --- the consent and data pages --------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_consent_pages_show_category_purpose_and_channel_labels(client, language):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(_verified(enterprise), owner, categories=["tax", "customs"])
    borrower_services.access_log_record(
        enterprise=enterprise,
        authorization=authorization,
        organization=platform_organization(),
        category="tax",
        channel=AccessChannel.WEB,
        request_id="req-1",
        actor=None,
    )
    client.force_login(owner)
    with translation.override(language):
        labels = [
            str(choice.label)
            for choices in (Category, ConsentPurpose, AccessChannel)
            for choice in choices
        ]
        tax, customs = str(Category("tax").label), str(Category("customs").label)
    consents = client.get(_url(language, "creditdata:consents"))
    assert f"{tax} · {customs}" in _main(consents.content.decode())
    codes = [*Category.values, *ConsentPurpose.values, *AccessChannel.values]
    for name, args in [
        ("creditdata:consents", []),
        ("creditdata:consent_detail", [authorization.pk]),
        ("creditdata:access_log", []),
    ]:
        page = client.get(_url(language, name, args))
        assert page.status_code == 200
        assert _codes_shown(_main(page.content.decode()), codes, labels) == [], name


@pytest.mark.parametrize(("language", "detail"), [("zh-hans", "纳税"), ("en", "Tax")])
def test_a_failed_pull_names_the_categories_that_failed(client, language, detail):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(_verified(enterprise), owner)
    IngestionRun.objects.create(
        enterprise=enterprise,
        authorization=authorization,
        categories=["tax", "customs"],
        status=IngestionStatus.FAILED,
        category_results={
            "tax": {"status": "provider_error", "error": "provider unavailable"},
            "customs": {"status": "ok", "records": 3},
        },
        error="tax: provider unavailable",
    )
    client.force_login(owner)
    page = client.get(_url(language, "creditdata:my_data"))
    cells = re.findall(
        r'<td[^>]*data-testid="run-details"[^>]*>(.*?)</td>',
        page.content.decode(),
        re.S,
    )
    assert [_text(cell) for cell in cells] == [detail]


def test_the_i_have_read_box_sits_just_above_the_grant_button(client):
    enterprise, owner = enterprise_with_owner()
    _verified(enterprise)
    client.force_login(owner)
    response = client.post(
        _url("zh-hans", "creditdata:consent_new"),
        {
            "grantee": platform_organization().pk,
            "purpose": ConsentPurpose.SCORING,
            "categories": ["tax"],
            "months": 12,
            "retention_days": 180,
            "action": "preview",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="agree"') == 1
    agree = page.index('name="agree"')
    notice = page.index('data-testid="notice"')
    grant_button = page.index('value="grant"')
    preview_button = page.index('value="preview"')
    # After the notice it confirms, before the button that grants, away from the
    # terms column (whose last element is the "Show the notice" button).
    assert preview_button < notice < agree < grant_button
    between = page[agree:grant_button]
    assert "<input" not in between.split(">", 1)[1]
    assert "<pre" not in between and "<select" not in between


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_data_quality_page_says_no_findings_once(client, language):
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    page = client.get(_url(language, "creditdata:operator_data_quality"))
    with translation.override(language):
        none = gettext("No findings.")
    assert _main(page.content.decode()).count(none) == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_data_quality_page_names_rules_by_their_labels(client, language):
    enterprise, _owner = enterprise_with_owner()
    DataQualityFinding.objects.bulk_create(
        DataQualityFinding(
            enterprise=enterprise,
            category="tax",
            rule=rule,
            severity=FindingSeverity.WARNING,
            message="detail",
        )
        for rule in FindingRule.values
    )
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    page = client.get(
        _url(language, "creditdata:operator_data_quality")
    ).content.decode()
    _headers, rows = _table(page, "findings")
    with translation.override(language):
        labels = {str(label) for label in FindingRule.labels}
        none = gettext("No findings.")
    assert {row[2] for row in rows} == labels
    assert none not in _main(page)
    assert _codes_shown(_main(page), FindingRule.values, labels) == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "电：缺失 2 个月：2025年2月、2025年3月"),
        ("en", "Electricity: 2 missing months: Feb 2025; Mar 2025"),
    ],
)
def test_a_findings_details_are_words_months_and_labels(client, language, expected):
    """The finding's message was stored English with codes ("electricity: 2 missing
    month(s): 2025-02"); the page now writes it from its codes, translated."""
    from creditdata.quality import check_records

    records = [
        {"utility": "electricity", "period": dt.date(2025, month, 1), "source_id": s}
        for month, s in ((1, "a"), (4, "b"))
    ]
    [finding] = check_records("utilities", records, today=dt.date(2026, 1, 1))
    enterprise, _owner = enterprise_with_owner()
    DataQualityFinding.objects.create(
        enterprise=enterprise,
        category="utilities",
        rule=finding.rule,
        severity=finding.severity,
        message=finding.message,
        params=finding.params,
    )
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    page = client.get(
        _url(language, "creditdata:operator_data_quality")
    ).content.decode()
    _headers, rows = _table(page, "findings")
    assert rows[0][4] == expected
    assert "2025-02" not in _main(page)
