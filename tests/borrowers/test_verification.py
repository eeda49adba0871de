"""Real-name verification (企业实名认证): registration is checked against the registry
record, and nothing is granted or pulled until the registrant proves to act for the
enterprise — by a code the provider sends to the registered contact, or by an
authorization letter an operator reviews.

The provider is the in-process sandbox (the test settings' default), so the real
client, transport and sandbox run; where the provider must fail or answer something
the sandbox never does, it is an ``https://`` URL mocked with ``responses``.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import requests
import responses
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from PIL import Image

from accounts.models import Membership, Organization, Role
from accounts.selectors import platform_organization
from borrowers import services
from borrowers.exceptions import (
    EnterpriseAlreadyVerified,
    EnterpriseNotVerified,
    NotEnterpriseOwner,
    NotOperator,
    RegistryUnavailable,
    TooManyAttempts,
    VerificationFailed,
)
from borrowers.models import (
    AttemptStatus,
    CreditAuthorization,
    Enterprise,
    EnterpriseVerification,
    VerificationMethod,
    VerificationStatus,
)
from core.codes import Category
from creditdata import sandbox
from creditdata import services as creditdata_services
from creditdata.models import IngestionRun, IngestionStatus, TaxRecord
from creditdata.synthetic import firm_profile, registered_contact, synthetic_uscc
from tests.factories import UserFactory
from tests.factories.accounts import MembershipFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant
from workflows import onboarding

pytestmark = pytest.mark.django_db

USCC = synthetic_uscc(9101)
PROFILE = firm_profile(USCC)
REGISTER_URL = "/en/portal/enterprise/register/"
VERIFY_URL = "/en/portal/enterprise/verify/"
LETTER_URL = "/en/portal/enterprise/verify/letter/"
PROVIDER = "https://provider.example/v1"


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, the source language, whatever the .po say."""
    with translation.override("en"):
        yield


def registration(**overrides) -> dict:
    return {
        "uscc": USCC,
        "name": PROFILE.name,
        "legal_representative": PROFILE.legal_representative,
        "registered_capital": "5000000.00",
        "founded_on": "2015-06-01",
        "industry": "C",
        "district": "440305",
        "employees": "42",
        **overrides,
    }


def nothing_registered() -> None:
    assert Enterprise.objects.count() == 0
    assert Organization.objects.filter(kind="enterprise").count() == 0
    assert Membership.objects.filter(organization__kind="enterprise").count() == 0


@pytest.fixture
def unverified():
    """An enterprise of the sandbox registry, just registered, and its owner."""
    return enterprise_with_owner(
        unverified=True,
        uscc=USCC,
        name=PROFILE.name,
        legal_representative=PROFILE.legal_representative,
    )


@pytest.fixture
def mocked_provider(settings):
    settings.CREDIT_PROVIDER_URL = PROVIDER
    settings.CREDIT_PROVIDER_MAX_RETRIES = 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def code_of(verification: EnterpriseVerification) -> str:
    """The code the sandbox "sent" for this attempt, read from its outbox."""
    (message,) = [
        message
        for message in sandbox.outbox_messages()
        if message["verification_id"] == verification.provider_challenge_id
    ]
    return message["code"]


def wrong_code(verification: EnterpriseVerification) -> str:
    return "000000" if code_of(verification) != "000000" else "111111"


def state(enterprise: Enterprise) -> tuple:
    enterprise.refresh_from_db()
    return (
        enterprise.verification_status,
        enterprise.verified_at,
        enterprise.verification_method,
    )


UNVERIFIED_STATE = (VerificationStatus.UNVERIFIED, None, "")


# --- Registration against the registry record -------------------------------------------


def test_registration_that_matches_the_registry_is_created_unverified(client):
    user = UserFactory()
    client.force_login(user)
    # White space around it (an ideographic space too) is not part of the name.
    typed = f"\u3000{PROFILE.name}  "
    response = client.post(REGISTER_URL, registration(name=typed))
    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    enterprise = Enterprise.objects.get()
    assert enterprise.uscc == USCC
    assert state(enterprise) == UNVERIFIED_STATE
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert EnterpriseVerification.objects.count() == 0


def test_names_are_compared_after_normalization():
    normalize = services.normalize_registered_text
    assert normalize("（深圳）ＡＢＣ  科技\u3000有限公司 ") == "(深圳)abc 科技 有限公司"
    assert normalize("Zhang  SAN") == normalize("zhang san")
    assert normalize("张三") != normalize("张 三")


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        (
            "legal_representative",
            "张三丰",
            "This legal representative does not match the registry record for this Unified Social Credit Code.",
        ),
        (
            "name",
            "深圳市别的公司有限公司",
            "This name does not match the registry record for this Unified Social Credit Code. Type the registered name exactly as on the business licence.",
        ),
    ],
)
def test_registration_that_does_not_match_the_registry_is_a_field_error(
    client, field, typed, message
):
    client.force_login(UserFactory())
    response = client.post(REGISTER_URL, registration(**{field: typed}))
    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    nothing_registered()
    body = response.content.decode()
    # The registry's value is never shown to someone not verified.
    registry_value = getattr(PROFILE, field)
    assert registry_value not in body
    assert typed in body  # what was typed stays in the form


def test_both_mismatches_are_reported_without_the_registry_values(client):
    client.force_login(UserFactory())
    response = client.post(
        REGISTER_URL,
        registration(name="深圳市别的公司有限公司", legal_representative="张三丰"),
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "legal_representative"}
    body = response.content.decode()
    assert PROFILE.name not in body and PROFILE.legal_representative not in body
    nothing_registered()


def test_a_code_unknown_to_the_registry_is_a_uscc_error(client, mocked_provider):
    mocked_provider.get(
        f"{PROVIDER}/enterprises/{USCC}",
        status=404,
        json={
            "error": {
                "type": "not_found",
                "code": "enterprise_not_found",
                "message": "no such enterprise",
            }
        },
    )
    client.force_login(UserFactory())
    response = client.post(REGISTER_URL, registration())
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "uscc": ["The registry has no enterprise with this Unified Social Credit Code."]
    }
    nothing_registered()


def test_an_enterprise_the_registry_lists_as_revoked_cannot_be_registered(
    client, mocked_provider
):
    mocked_provider.get(
        f"{PROVIDER}/enterprises/{USCC}",
        json={
            "uscc": USCC,
            "name": PROFILE.name,
            "legal_representative": PROFILE.legal_representative,
            "status": "revoked",
        },
    )
    client.force_login(UserFactory())
    response = client.post(REGISTER_URL, registration())
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "uscc": [
            "The registry lists the enterprise with this code as no longer active; it cannot be registered."
        ]
    }
    nothing_registered()


def test_a_code_registered_by_someone_else_is_refused_without_asking_the_registry(
    client, mocked_provider
):
    enterprise, _owner = enterprise_with_owner(uscc=USCC)
    client.force_login(UserFactory())
    response = client.post(REGISTER_URL, registration())
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "uscc": [
            f"An enterprise with the code {USCC} is already registered; ask its owner to invite you."
        ]
    }
    assert len(mocked_provider.calls) == 0
    assert Enterprise.objects.get() == enterprise
    assert Membership.objects.count() == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "json": {"error": {"type": "api_error", "code": "down"}}},
        {"body": requests.ConnectionError("refused")},
        {"status": 401, "json": {"error": {"code": "invalid_api_key"}}},
    ],
    ids=["503", "connection-refused", "bad-key"],
)
def test_registry_unreachable_registers_nothing(client, mocked_provider, answer):
    mocked_provider.get(f"{PROVIDER}/enterprises/{USCC}", **answer)
    client.force_login(UserFactory())
    response = client.post(REGISTER_URL, registration())
    assert response.status_code == 503
    assert response.context["form"].errors == {
        "__all__": [
            "The enterprise registry cannot be reached right now, so nothing was done. Please try again in a few minutes."
        ]
    }
    assert "alert-danger" in response.content.decode()
    nothing_registered()


def test_too_many_mismatches_lock_the_user_out_for_an_hour():
    user = UserFactory()
    data = {
        **registration(legal_representative="张三丰"),
        "registered_capital": 5_000_000,
        "founded_on": dt.date(2015, 6, 1),
        "employees": 42,
    }
    for _ in range(services.REGISTRATION_MISMATCH_LIMIT):
        with pytest.raises(Exception, match="does not match the registry"):
            onboarding.enterprise_register(user=user, **data)
    correct = {**data, "legal_representative": PROFILE.legal_representative}
    with pytest.raises(TooManyAttempts, match="Too many registrations"):
        onboarding.enterprise_register(user=user, **correct)
    nothing_registered()
    # Another user is not affected.
    assert onboarding.enterprise_register(user=UserFactory(), **correct).uscc == USCC


# --- The code sent to the registered contact ------------------------------------------


def test_code_to_the_registered_contact_verifies_the_enterprise(unverified):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    contact = registered_contact(USCC)
    assert verification.masked_contact == f"{contact[:3]}****{contact[-4:]}"
    assert verification.status == AttemptStatus.PENDING
    assert 590 <= (verification.expires_at - timezone.now()).total_seconds() <= 600
    assert state(enterprise) == UNVERIFIED_STATE

    onboarding.verification_code_confirm(
        enterprise=enterprise, user=owner, code=code_of(verification)
    )
    status, verified_at, method = state(enterprise)
    assert (status, method) == (
        VerificationStatus.VERIFIED,
        VerificationMethod.REGISTERED_CONTACT_CODE,
    )
    assert verified_at is not None
    verification.refresh_from_db()
    assert verification.status == AttemptStatus.CONFIRMED
    assert verification.confirmed_at is not None


def test_a_wrong_code_counts_down_and_changes_no_status(unverified):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    with pytest.raises(VerificationFailed) as excinfo:
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=wrong_code(verification)
        )
    assert (excinfo.value.field, excinfo.value.message) == (
        "code",
        "The code is wrong; 4 attempts are left.",
    )
    verification.refresh_from_db()
    assert (verification.status, verification.failed_attempts) == (
        AttemptStatus.PENDING,
        1,
    )
    assert state(enterprise) == UNVERIFIED_STATE
    # The right code still works afterwards.
    onboarding.verification_code_confirm(
        enterprise=enterprise, user=owner, code=code_of(verification)
    )
    assert state(enterprise)[0] == VerificationStatus.VERIFIED


def test_a_code_cannot_be_used_twice(unverified):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    code = code_of(verification)
    onboarding.verification_code_confirm(enterprise=enterprise, user=owner, code=code)
    before = state(enterprise)
    with pytest.raises(EnterpriseAlreadyVerified):
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=code
        )
    # And the attempt itself refuses a second confirmation.
    with pytest.raises(VerificationFailed, match="used already"):
        services.verification_code_confirmed(verification=verification, user=owner)
    assert state(enterprise) == before
    verification.refresh_from_db()
    assert verification.status == AttemptStatus.CONFIRMED


def test_a_code_the_provider_says_was_used_is_refused(unverified, monkeypatch):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    code = code_of(verification)
    # The provider confirmed it (an answer lost on the way back), we did not.
    assert (
        sandbox.handle(
            "POST",
            f"/verifications/{verification.provider_challenge_id}/confirm",
            {},
            {
                "Authorization": "Bearer sk_sandbox_public_demo_key",
                "Idempotency-Key": "x",
            },
            b'{"code": "%s"}' % code.encode(),
        ).status
        == 200
    )
    with pytest.raises(VerificationFailed, match="This code was used already"):
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=code
        )
    assert state(enterprise) == UNVERIFIED_STATE
    verification.refresh_from_db()
    assert verification.status == AttemptStatus.EXPIRED


def test_an_expired_code_is_refused_without_asking_the_provider(unverified, settings):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    code = code_of(verification)
    EnterpriseVerification.objects.filter(pk=verification.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    settings.CREDIT_PROVIDER_URL = PROVIDER  # any call would fail: none is made
    with responses.RequestsMock() as mock:
        with pytest.raises(VerificationFailed) as excinfo:
            onboarding.verification_code_confirm(
                enterprise=enterprise, user=owner, code=code
            )
        assert len(mock.calls) == 0
    assert excinfo.value.message == "The code has expired; request a new one."
    verification.refresh_from_db()
    assert verification.status == AttemptStatus.EXPIRED
    assert state(enterprise) == UNVERIFIED_STATE


def test_a_code_the_provider_says_expired_is_refused(unverified, monkeypatch):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    later = timezone.now() + dt.timedelta(minutes=11)
    monkeypatch.setattr(sandbox, "_now", lambda: later)  # the provider's clock only
    with pytest.raises(VerificationFailed, match="expired"):
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=code_of(verification)
        )
    verification.refresh_from_db()
    assert verification.status == AttemptStatus.EXPIRED
    assert state(enterprise) == UNVERIFIED_STATE


def test_five_wrong_codes_lock_the_code(unverified):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    wrong = wrong_code(verification)
    messages = []
    for _ in range(5):
        with pytest.raises(VerificationFailed) as excinfo:
            onboarding.verification_code_confirm(
                enterprise=enterprise, user=owner, code=wrong
            )
        messages.append(excinfo.value.message)
    assert messages[:4] == [
        "The code is wrong; 4 attempts are left.",
        "The code is wrong; 3 attempts are left.",
        "The code is wrong; 2 attempts are left.",
        "The code is wrong; 1 attempt is left.",
    ]
    locked = (
        "Too many wrong codes: this code is locked. Request a new code or upload an "
        "authorization letter."
    )
    assert messages[4] == locked
    with pytest.raises(VerificationFailed) as excinfo:
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=code_of(verification)
        )
    assert excinfo.value.message == locked
    verification.refresh_from_db()
    assert (verification.status, verification.failed_attempts) == (
        AttemptStatus.LOCKED,
        5,
    )
    assert state(enterprise) == UNVERIFIED_STATE


def test_a_new_code_waits_for_the_cool_down_and_supersedes_the_old_one(unverified):
    enterprise, owner = unverified
    first = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    with pytest.raises(TooManyAttempts, match=r"request another in (60|59) seconds"):
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
    assert len(sandbox.outbox_messages()) == 1
    EnterpriseVerification.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=61)
    )
    second = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    first.refresh_from_db()
    assert first.status == AttemptStatus.SUPERSEDED
    # Only the newest code can be entered.
    with pytest.raises(VerificationFailed):
        onboarding.verification_code_confirm(
            enterprise=enterprise, user=owner, code=code_of(first)
        )
    onboarding.verification_code_confirm(
        enterprise=enterprise, user=owner, code=code_of(second)
    )
    assert state(enterprise)[0] == VerificationStatus.VERIFIED


def test_at_most_five_codes_a_day(unverified):
    enterprise, owner = unverified
    for _ in range(services.CODES_PER_DAY):
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
        EnterpriseVerification.objects.update(
            created_at=timezone.now() - dt.timedelta(minutes=5)
        )
    with pytest.raises(TooManyAttempts, match="5 codes were sent in the last 24 hours"):
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
    assert EnterpriseVerification.objects.count() == 5
    assert len(sandbox.outbox_messages()) == 5


def test_provider_unreachable_costs_no_attempt(unverified, settings):
    enterprise, owner = unverified
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    settings.CREDIT_PROVIDER_URL = PROVIDER
    settings.CREDIT_PROVIDER_MAX_RETRIES = 0
    with responses.RequestsMock() as mock:
        mock.post(
            f"{PROVIDER}/verifications/{verification.provider_challenge_id}/confirm",
            body=requests.ConnectTimeout("timed out"),
        )
        with pytest.raises(RegistryUnavailable):
            onboarding.verification_code_confirm(
                enterprise=enterprise, user=owner, code="123456"
            )
    verification.refresh_from_db()
    assert (verification.status, verification.failed_attempts) == (
        AttemptStatus.PENDING,
        0,
    )
    assert state(enterprise) == UNVERIFIED_STATE


def test_provider_unreachable_at_send_records_nothing(unverified, mocked_provider):
    enterprise, owner = unverified
    mocked_provider.post(f"{PROVIDER}/verifications", status=502)
    with pytest.raises(RegistryUnavailable):
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
    assert EnterpriseVerification.objects.count() == 0


def test_the_registry_refusing_the_legal_representative_reveals_nothing():
    # Registered before this check existed, with a legal representative the registry
    # does not hold.
    enterprise, owner = enterprise_with_owner(
        unverified=True, uscc=USCC, legal_representative="张三"
    )
    with pytest.raises(VerificationFailed) as excinfo:
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
    assert PROFILE.legal_representative not in excinfo.value.message
    assert "authorization letter" in excinfo.value.message
    assert EnterpriseVerification.objects.count() == 0
    assert sandbox.outbox_messages() == []


def test_only_an_owner_can_ask_for_a_code(unverified):
    enterprise, _owner = unverified
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=enterprise.organization, role=Role.MEMBER
    )
    with pytest.raises(NotEnterpriseOwner):
        onboarding.verification_code_send(enterprise=enterprise, user=member)
    assert EnterpriseVerification.objects.count() == 0
    assert sandbox.outbox_messages() == []


def test_a_verified_enterprise_gets_no_code():
    enterprise, owner = enterprise_with_owner(uscc=USCC)
    with pytest.raises(EnterpriseAlreadyVerified):
        onboarding.verification_code_send(enterprise=enterprise, user=owner)
    assert sandbox.outbox_messages() == []


# --- The verification page ---------------------------------------------------------------


def test_owner_verifies_on_the_page_with_the_code_from_the_sandbox_outbox(
    client, unverified
):
    enterprise, owner = unverified
    client.force_login(owner)
    page = client.get(VERIFY_URL).content.decode()
    assert 'data-status="unverified"' in page
    assert f'href="/sandbox/provider/outbox/?uscc={USCC}"' in page
    assert 'name="action" value="send"' in page

    response = client.post(VERIFY_URL, {"action": "send"})
    assert response.status_code == 302
    verification = EnterpriseVerification.objects.get()
    page = client.get(VERIFY_URL).content.decode()
    assert verification.masked_contact in page
    assert 'data-testid="cooldown"' in page

    wrong = client.post(
        VERIFY_URL, {"action": "confirm", "code": wrong_code(verification)}
    )
    assert wrong.status_code == 400
    assert wrong.context["code_form"].errors == {
        "code": ["The code is wrong; 4 attempts are left."]
    }
    malformed = client.post(VERIFY_URL, {"action": "confirm", "code": "12ab"})
    assert malformed.context["code_form"].errors == {"code": ["The code has 6 digits."]}
    verification.refresh_from_db()
    assert verification.failed_attempts == 1  # a malformed code is not an attempt

    response = client.post(
        VERIFY_URL, {"action": "confirm", "code": code_of(verification)}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/portal/enterprise/consents/new/"
    assert state(enterprise)[0] == VerificationStatus.VERIFIED


def test_resend_during_the_cool_down_is_refused_on_the_page(client, unverified):
    _enterprise, owner = unverified
    client.force_login(owner)
    client.post(VERIFY_URL, {"action": "send"})
    response = client.post(VERIFY_URL, {"action": "send"})
    assert response.status_code == 400
    assert "you can request another in" in response.content.decode()
    assert EnterpriseVerification.objects.count() == 1


def test_registry_down_on_the_page_is_a_clear_503(client, unverified, mocked_provider):
    _enterprise, owner = unverified
    mocked_provider.post(f"{PROVIDER}/verifications", body=requests.ConnectionError())
    client.force_login(owner)
    response = client.post(VERIFY_URL, {"action": "send"})
    assert response.status_code == 503
    assert "The enterprise registry cannot be reached right now" in (
        response.content.decode()
    )
    assert EnterpriseVerification.objects.count() == 0


# --- The authorization letter and the operators' review ---------------------------------


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def upload(client, content: bytes, name: str = "letter.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    letter = SimpleUploadedFile(name, content, content_type="image/png")
    return client.post(LETTER_URL, {"letter": letter})


@pytest.fixture
def operator_client(client):
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    client.operator = operator
    return client


def test_letter_upload_waits_for_review(client, unverified):
    enterprise, owner = unverified
    client.force_login(owner)
    response = upload(client, png_bytes(), "授权委托书.png")
    assert response.status_code == 302
    letter = EnterpriseVerification.objects.get()
    assert (letter.method, letter.status, letter.letter_content_type) == (
        VerificationMethod.AUTHORIZATION_LETTER,
        AttemptStatus.PENDING,
        "image/png",
    )
    assert letter.letter_filename == "授权委托书.png"
    assert bytes(letter.letter_content) == png_bytes()
    assert state(enterprise) == (VerificationStatus.PENDING_REVIEW, None, "")
    page = client.get(VERIFY_URL).content.decode()
    assert 'data-testid="letter-pending"' in page
    portal = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-status="pending_review"' in portal
    # One letter waits at a time.
    assert upload(client, png_bytes()).status_code == 400
    assert EnterpriseVerification.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            b"MZ\x90\x00 not a scan",
            "letter.pdf",
            "The file must be a PDF, JPEG or PNG scan of the signed and sealed letter.",
        ),
        (
            b"\x89PNG\r\n\x1a\n truncated",
            "letter.png",
            "The file must be a PDF, JPEG or PNG scan of the signed and sealed letter.",
        ),
        (
            b"%PDF-1.4 no end marker",
            "letter.pdf",
            "The file must be a PDF, JPEG or PNG scan of the signed and sealed letter.",
        ),
        (b"", "letter.png", "The submitted file is empty."),
        (
            b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024),
            "big.png",
            "The file is larger than 5 MB.",
        ),
    ],
    ids=["executable", "broken-png", "broken-pdf", "empty", "too-large"],
)
def test_a_letter_that_is_not_an_acceptable_scan_is_refused(
    client, unverified, content, name, message
):
    enterprise, owner = unverified
    client.force_login(owner)
    response = upload(client, content, name)
    assert response.status_code == 400
    assert response.context["letter_form"].errors == {"letter": [message]}
    assert EnterpriseVerification.objects.count() == 0
    assert state(enterprise) == UNVERIFIED_STATE


def test_operator_approves_a_letter_and_the_enterprise_is_verified(
    client, operator_client, unverified
):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="letter.pdf", content=PDF
    )
    queue = operator_client.get("/en/portal/operator/verifications/")
    assert f'data-letter="{letter.pk}"' in queue.content.decode()
    detail = operator_client.get(f"/en/portal/operator/verifications/{letter.pk}/")
    assert detail.status_code == 200
    file = operator_client.get(f"/en/portal/verifications/{letter.pk}/letter/")
    assert file.status_code == 200
    assert file.content == PDF
    assert file["Content-Type"] == "application/pdf"
    assert file["Content-Disposition"].startswith("attachment;")
    assert file["Cache-Control"] == "private, no-store"

    response = operator_client.post(
        f"/en/portal/operator/verifications/{letter.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 302
    status, _verified_at, method = state(enterprise)
    assert (status, method) == (
        VerificationStatus.VERIFIED,
        VerificationMethod.AUTHORIZATION_LETTER,
    )
    letter.refresh_from_db()
    assert (letter.status, letter.reviewed_by) == (
        AttemptStatus.CONFIRMED,
        operator_client.operator,
    )
    client.force_login(owner)
    portal = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-status="verified"' in portal


def test_operator_rejects_a_letter_with_a_reason_the_enterprise_sees(
    client, operator_client, unverified
):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="letter.png", content=png_bytes()
    )
    url = f"/en/portal/operator/verifications/{letter.pk}/"
    refused = operator_client.post(url, {"decision": "reject", "reason": "  "})
    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "reason": ["Give the reason for the rejection; the enterprise is shown it."]
    }
    letter.refresh_from_db()
    assert letter.status == AttemptStatus.PENDING
    assert state(enterprise) == (VerificationStatus.PENDING_REVIEW, None, "")

    reason = "公章不清晰，请重新上传加盖公章的授权委托书。"
    response = operator_client.post(url, {"decision": "reject", "reason": reason})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.status, letter.rejection_reason) == (AttemptStatus.REJECTED, reason)
    assert state(enterprise) == UNVERIFIED_STATE
    # Reviewed once: a second decision is refused.
    again = operator_client.post(url, {"decision": "approve"})
    assert again.status_code == 400
    assert "This letter is no longer waiting for review." in again.content.decode()
    assert state(enterprise) == UNVERIFIED_STATE
    client.force_login(owner)
    portal = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-testid="letter-rejected"' in portal and reason in portal
    # Rejected: the owner may upload a new letter.
    assert upload(client, png_bytes()).status_code == 302


def test_a_second_review_of_a_letter_is_refused():
    enterprise, owner = enterprise_with_owner(unverified=True)
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.pdf", content=PDF
    )
    services.verification_letter_review(
        verification=letter, reviewer=operator, approve=False, reason="unreadable"
    )
    with pytest.raises(VerificationFailed, match="no longer waiting for review"):
        services.verification_letter_review(
            verification=letter, reviewer=operator, approve=True
        )
    assert state(enterprise) == UNVERIFIED_STATE


def test_a_non_operator_can_neither_see_nor_review_a_letter(client, unverified):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.png", content=png_bytes()
    )
    _other, intruder = enterprise_with_owner()
    for user in (owner, intruder):
        client.force_login(user)
        assert client.get("/en/portal/operator/verifications/").status_code == 404
        url = f"/en/portal/operator/verifications/{letter.pk}/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"decision": "approve"}).status_code == 404
    with pytest.raises(NotOperator):
        services.verification_letter_review(
            verification=letter, reviewer=intruder, approve=True
        )
    letter.refresh_from_db()
    assert letter.status == AttemptStatus.PENDING
    assert state(enterprise) == (VerificationStatus.PENDING_REVIEW, None, "")


def test_the_letter_file_is_reachable_only_by_its_owner_and_operators(
    client, unverified
):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.png", content=png_bytes()
    )
    url = f"/portal/verifications/{letter.pk}/letter/"
    assert client.get(url).status_code == 302  # anonymous: log in first
    _other, intruder = enterprise_with_owner()
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=enterprise.organization, role=Role.MEMBER
    )
    for user in (intruder, member, UserFactory()):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 404
        assert png_bytes() not in response.content
    client.force_login(owner)
    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
    assert response["Content-Disposition"].startswith("inline;")
    assert response.content == png_bytes()
    assert client.get("/portal/verifications/999999/letter/").status_code == 404


def test_verifying_by_code_supersedes_a_letter_waiting_for_review(unverified):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.pdf", content=PDF
    )
    verification = onboarding.verification_code_send(enterprise=enterprise, user=owner)
    onboarding.verification_code_confirm(
        enterprise=enterprise, user=owner, code=code_of(verification)
    )
    letter.refresh_from_db()
    assert letter.status == AttemptStatus.SUPERSEDED
    assert state(enterprise)[0] == VerificationStatus.VERIFIED


# --- Until verified nothing is granted or pulled ----------------------------------------


def test_an_unverified_enterprise_grants_no_consent(unverified):
    enterprise, owner = unverified
    with pytest.raises(EnterpriseNotVerified) as excinfo:
        grant(enterprise, owner)
    assert excinfo.value.message == (
        f"{PROFILE.name} is not verified yet: complete the real-name verification "
        "before granting any consent."
    )
    assert CreditAuthorization.objects.count() == 0
    assert IngestionRun.objects.count() == 0


def test_the_consent_page_says_to_verify_first_and_grants_nothing(client, unverified):
    _enterprise, owner = unverified
    client.force_login(owner)
    page = client.get("/en/portal/enterprise/consents/new/").content.decode()
    assert 'data-testid="verify-first"' in page
    assert 'href="/en/portal/enterprise/verify/"' in page
    data = {
        "grantee": platform_organization().pk,
        "purpose": "scoring",
        "categories": ["tax"],
        "months": "12",
        "retention_days": "180",
    }
    preview = client.post(
        "/en/portal/enterprise/consents/new/", {**data, "action": "preview"}
    )
    assert 'value="grant"' not in preview.content.decode()
    sha = preview.context["preview"]["sha256"]
    response = client.post(
        "/en/portal/enterprise/consents/new/",
        {**data, "action": "grant", "agree": "on", "notice_sha256": sha},
    )
    assert response.status_code == 400
    assert "is not verified yet" in response.content.decode()
    assert CreditAuthorization.objects.count() == 0
    assert IngestionRun.objects.count() == 0


def test_nothing_is_pulled_for_an_unverified_enterprise(client, unverified):
    enterprise, owner = unverified
    with pytest.raises(EnterpriseNotVerified):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    client.force_login(owner)
    response = client.post("/en/portal/enterprise/data/pull/")
    assert response.status_code == 302
    assert IngestionRun.objects.count() == 0


def test_a_queued_pull_for_an_enterprise_no_longer_verified_reads_nothing(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner(uscc=USCC)
    grant(enterprise, owner, categories=[Category.TAX])
    with django_capture_on_commit_callbacks(execute=False):
        run = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=owner
        )
    Enterprise.objects.filter(pk=enterprise.pk).update(
        verification_status=VerificationStatus.UNVERIFIED,
        verified_at=None,
        verification_method="",
    )
    creditdata_services.ingestion_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == IngestionStatus.CANCELLED
    assert TaxRecord.objects.count() == 0


def test_the_portal_shows_the_verification_status(client, unverified):
    _enterprise, owner = unverified
    client.force_login(owner)
    portal = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-status="unverified"' in portal
    assert 'data-testid="verify-link"' in portal
    _verified, verified_owner = enterprise_with_owner()
    client.force_login(verified_owner)
    portal = client.get("/en/portal/enterprise/").content.decode()
    assert 'data-status="verified"' in portal
    assert 'data-testid="verify-link"' not in portal


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_verification_pages_render_in_both_languages(client, unverified, prefix):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.png", content=png_bytes()
    )
    client.force_login(owner)
    assert client.get(f"{prefix}/portal/enterprise/verify/").status_code == 200
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    for path in ["operator/verifications/", f"operator/verifications/{letter.pk}/"]:
        assert client.get(f"{prefix}/portal/{path}").status_code == 200, path


# --- Invariants in the database ---------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"verification_status": VerificationStatus.VERIFIED},  # without when and how
        {"verification_status": "trusted"},
        {"verified_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},  # but unverified
    ],
)
def test_enterprise_verification_invariants_hold_in_the_database(unverified, change):
    enterprise, _owner = unverified
    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.filter(pk=enterprise.pk).update(**change)
    assert state(enterprise) == UNVERIFIED_STATE


@pytest.mark.parametrize(
    "change",
    [
        {"status": AttemptStatus.REJECTED},  # without reviewer and reason
        {"status": AttemptStatus.CONFIRMED},  # without a review
        {"status": AttemptStatus.LOCKED},  # a letter cannot be locked
        {"letter_size": 6 * 1024 * 1024},
        {"letter_content_type": "text/html"},
        {"method": VerificationMethod.REGISTERED_CONTACT_CODE},  # no challenge
        {"failed_attempts": 6},
    ],
)
def test_attempt_invariants_hold_in_the_database(unverified, change):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.pdf", content=PDF
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        EnterpriseVerification.objects.filter(pk=letter.pk).update(**change)
    letter.refresh_from_db()
    assert (letter.status, letter.method) == (
        AttemptStatus.PENDING,
        VerificationMethod.AUTHORIZATION_LETTER,
    )


def test_only_one_letter_waits_per_enterprise_in_the_database(unverified):
    enterprise, owner = unverified
    letter = services.verification_letter_submit(
        enterprise=enterprise, user=owner, filename="l.pdf", content=PDF
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        EnterpriseVerification.objects.create(
            enterprise=enterprise,
            method=VerificationMethod.AUTHORIZATION_LETTER,
            requested_by=owner,
            letter_content=PDF,
            letter_content_type="application/pdf",
            letter_size=len(PDF),
            letter_sha256=letter.letter_sha256,
        )
    assert EnterpriseVerification.objects.count() == 1


def test_the_migration_marks_earlier_enterprises_verified():
    from importlib import import_module

    migration = import_module(
        "borrowers.migrations.0004_enterprise_real_name_verification"
    )
    earlier, _owner = enterprise_with_owner(unverified=True)
    migration.mark_existing_enterprises_verified(django_apps, None)
    status, verified_at, method = state(earlier)
    assert (status, method) == (
        VerificationStatus.VERIFIED,
        VerificationMethod.PRE_EXISTING,
    )
    assert verified_at is not None


def test_seed_lists_sandbox_enterprises_that_can_be_registered():
    from creditdata.seed import SANDBOX_DEMO_COUNT, sandbox_registrable

    first = synthetic_uscc(9001)
    enterprise_with_owner(uscc=first)  # a registered one is not offered
    lines = sandbox_registrable()
    offered = [line.split() for line in lines if line.startswith("  9")]
    assert len(offered) == SANDBOX_DEMO_COUNT
    assert first not in {words[0] for words in offered}
    assert "/sandbox/provider/outbox/" in lines[-1]
    uscc, name, _label, _word, representative = offered[0]
    profile = firm_profile(uscc)
    assert (name, representative) == (profile.name, profile.legal_representative)
    enterprise = onboarding.enterprise_register(
        user=UserFactory(),
        uscc=uscc,
        name=name,
        legal_representative=representative,
        registered_capital=profile.registered_capital,
        founded_on=profile.founded_on,
        industry=profile.industry,
        district=profile.district,
        employees=10,
    )
    assert state(enterprise) == UNVERIFIED_STATE
