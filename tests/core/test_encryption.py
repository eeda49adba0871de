"""Encryption at rest (core.crypto, EncryptedTextField, MFA seeds) and key rotation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet, InvalidToken
from django.core.cache import cache
from django.core.checks import Error
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core import checks, crypto
from lenders import webhooks
from lenders.models import WebhookEndpoint
from tests.config.test_settings import ROOT, prod_env
from tests.factories import UserFactory, activate_totp, totp_code
from tests.factories.lenders import LenderFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
URL = "https://bank.example/hooks/xyd"


def raw_secret(endpoint: WebhookEndpoint) -> str:
    """The column as stored, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM lenders_webhookendpoint WHERE id = %s", [endpoint.pk]
        )
        return cursor.fetchone()[0]


def raw_authenticator_data(user) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM mfa_authenticator WHERE user_id = %s AND type = %s",
            [user.pk, Authenticator.Type.TOTP],
        )
        value = cursor.fetchone()[0]
    return value if isinstance(value, dict) else json.loads(value)


def endpoint_with(secret: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        lender=LenderFactory(), url=URL, secret=secret
    )


# --- The field --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_column_holds_a_token_not_the_secret():
    secret = webhooks.new_secret()
    endpoint = endpoint_with(secret)
    stored = raw_secret(endpoint)
    assert stored.startswith(crypto.TOKEN_PREFIX)
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert crypto.decrypt(stored) == secret
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db
def test_a_value_round_trips_and_each_save_makes_a_new_token():
    endpoint = endpoint_with("whsec_ünïcode 信易贷")
    first = raw_secret(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_ünïcode 信易贷"
    endpoint.save()
    assert raw_secret(endpoint) != first
    assert WebhookEndpoint.objects.values_list("secret", flat=True).get() == (
        "whsec_ünïcode 信易贷"
    )


@pytest.mark.django_db
def test_an_encrypted_column_refuses_lookups_that_could_never_match():
    endpoint_with(webhooks.new_secret())
    with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
        list(WebhookEndpoint.objects.filter(secret__exact="whsec_x"))
    with pytest.raises(FieldError, match="Unsupported lookup 'icontains'"):
        list(WebhookEndpoint.objects.filter(secret__icontains="whsec"))
    assert WebhookEndpoint.objects.filter(secret__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_value_under_an_unknown_key_is_refused_without_showing_it(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    secret = webhooks.new_secret()
    endpoint = endpoint_with(secret)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.DecryptionError) as caught:
        WebhookEndpoint.objects.get(pk=endpoint.pk)
    message = str(caught.value)
    assert "lenders.WebhookEndpoint.secret" in message
    assert secret not in message and raw_secret(endpoint) not in message
    assert OLD_KEY not in message and NEW_KEY not in message


def test_invalid_keys_are_a_configuration_error_naming_no_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as caught:
        crypto.encrypt("whsec_x")
    assert "FIELD_ENCRYPTION_KEYS entry 1 is not a Fernet key" in str(caught.value)
    assert "not-a-fernet-key" not in str(caught.value)


# --- Rotation ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_old_key_still_decrypts_and_the_command_reencrypts_under_the_new(
    settings, capsys
):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    secret = webhooks.new_secret()
    endpoint = endpoint_with(secret)
    before = raw_secret(endpoint)
    updated_at = WebhookEndpoint.objects.get(pk=endpoint.pk).updated_at

    # Step 1: the new key goes first; values under the old one still decrypt.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    with pytest.raises(CommandError, match="not under the first key yet"):
        call_command("encryption_rotate", "--check")
    assert raw_secret(endpoint) == before  # --check changes nothing

    # Step 2: the command re-encrypts.
    call_command("encryption_rotate")
    after = raw_secret(endpoint)
    assert after != before
    assert Fernet(NEW_KEY).decrypt(after.encode()).decode() == secret
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(after.encode())
    output = capsys.readouterr().out
    assert (
        "lenders.WebhookEndpoint.secret: 1 re-encrypted, 0 already under the first "
        "key, 0 failed" in output
    )
    reloaded = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (reloaded.secret, reloaded.updated_at) == (secret, updated_at)
    assert secret not in output and after not in output

    # Step 3: the check passes, the old key goes, the secret still reads.
    call_command("encryption_rotate", "--check")
    call_command("encryption_rotate")
    assert raw_secret(endpoint) == after  # already current: left as it is
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db
def test_rotation_reports_a_value_no_key_decrypts_and_changes_nothing(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    lost = endpoint_with(webhooks.new_secret())
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    readable = endpoint_with(webhooks.new_secret())
    lost_before, readable_before = raw_secret(lost), raw_secret(readable)
    with pytest.raises(CommandError) as caught:
        call_command("encryption_rotate")
    assert f"lenders.WebhookEndpoint.secret (pk={lost.pk})" in str(caught.value)
    assert lost_before not in str(caught.value)
    assert (raw_secret(lost), raw_secret(readable)) == (lost_before, readable_before)


@pytest.mark.django_db
def test_the_compare_and_swap_keeps_a_secret_rotated_meanwhile(settings):
    from core.management.commands import encryption_rotate

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    endpoint = endpoint_with(webhooks.new_secret())
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    fresh = webhooks.new_secret()
    real_rotate_token = crypto.rotate_token

    def rotate_then_race(report, token, where):
        new = real_rotate_token(report, token, where)
        # A bank administrator rotates the secret between the read and the write.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=fresh)
        return new

    encryption_rotate.crypto.rotate_token = rotate_then_race
    try:
        report = encryption_rotate.rotate_field(
            WebhookEndpoint,
            WebhookEndpoint._meta.get_field("secret"),
            check_only=False,
        )
    finally:
        encryption_rotate.crypto.rotate_token = real_rotate_token
    assert (report.reencrypted, report.current, report.failed) == (0, 1, [])
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == fresh


# --- MFA seeds --------------------------------------------------------------------


@pytest.mark.django_db
def test_totp_seeds_are_stored_encrypted_and_still_verify_codes(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    user = UserFactory()
    secret = activate_totp(user)
    stored = raw_authenticator_data(user)["secret"]
    assert stored.startswith(crypto.TOKEN_PREFIX) and secret not in stored
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert TOTP(authenticator).validate_code(totp_code(secret)) is True

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("encryption_rotate")
    rotated = raw_authenticator_data(user)["secret"]
    assert rotated != stored
    assert Fernet(NEW_KEY).decrypt(rotated.encode()).decode() == secret
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    authenticator.refresh_from_db()
    cache.clear()  # the replay marker of the code used above
    assert TOTP(authenticator).validate_code(totp_code(secret)) is True


# --- Data migrations ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_existing_secrets_and_the_reverse_decrypts_them():
    plain_webhook = webhooks.new_secret()
    plain_totp = "JBSWY3DPEHPK3PXP"
    executor = MigrationExecutor(connection)
    before = [("lenders", "0001_initial"), ("accounts", "0002_platform_organization")]
    after = [
        ("lenders", "0002_encrypt_webhook_secret"),
        ("accounts", "0003_encrypt_mfa_secrets"),
    ]
    executor.migrate(before)
    # Rows written with the models as they were then (later migrations, e.g. new
    # columns, are not applied at this point).
    old_apps = executor.loader.project_state(
        [*before, ("mfa", "0003_authenticator_type_uniq")]
    ).apps
    lender = old_apps.get_model("lenders", "Lender").objects.create(
        organization=old_apps.get_model("accounts", "Organization").objects.create(
            kind="lender", name="迁移测试银行"
        ),
        name="迁移测试银行",
        short_name="迁移",
    )
    endpoint = old_apps.get_model("lenders", "WebhookEndpoint").objects.create(
        lender=lender, url=URL, secret=plain_webhook
    )
    user = old_apps.get_model("accounts", "User").objects.create(
        email="migration@example.com"
    )
    # Written as allauth's default adapter did: the seed in plaintext.
    old_apps.get_model("mfa", "Authenticator").objects.create(
        user_id=user.pk, type="totp", data={"secret": plain_totp}
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert crypto.decrypt(raw_secret(endpoint)) == plain_webhook
        assert crypto.decrypt(raw_authenticator_data(user)["secret"]) == plain_totp

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert raw_secret(endpoint) == plain_webhook
        assert raw_authenticator_data(user) == {"secret": plain_totp}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- Configuration checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            [],
            "FIELD_ENCRYPTION_KEYS is empty: no key to encrypt stored credentials with.",
        ),
        (
            [NEW_KEY, "c2hvcnQ="],
            "FIELD_ENCRYPTION_KEYS entry 2 is not a Fernet key (32 bytes in URL-safe "
            "base64, 44 characters).",
        ),
        ([NEW_KEY, OLD_KEY, NEW_KEY], "FIELD_ENCRYPTION_KEYS entry 3 repeats entry 1."),
    ],
)
def test_the_system_check_refuses_missing_malformed_or_repeated_keys(
    settings, keys, message
):
    settings.FIELD_ENCRYPTION_KEYS = keys
    errors = checks.check_field_encryption_keys()
    assert errors == [Error(message, hint=checks.KEYS_HINT, id="xinyidai.E010")]


def test_the_deploy_check_refuses_the_development_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert checks.check_field_encryption_keys_deploy() == []
    settings.FIELD_ENCRYPTION_KEYS = [
        NEW_KEY,
        settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY,
    ]
    assert [error.id for error in checks.check_field_encryption_keys_deploy()] == [
        "xinyidai.E011"
    ]


def _manage_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_production_settings_without_the_keys_fail_the_check(tmp_path):
    env = prod_env(tmp_path)
    del env["FIELD_ENCRYPTION_KEYS"]
    result = _manage_check(env)
    assert result.returncode != 0
    assert "Set the FIELD_ENCRYPTION_KEYS environment variable" in result.stderr


@pytest.mark.parametrize("value", ["", "not-a-key", "development"])
def test_production_settings_refuse_empty_invalid_or_development_keys(
    tmp_path, settings, value
):
    if value == "development":
        value = f"{NEW_KEY},{settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY}"
    result = _manage_check(prod_env(tmp_path, FIELD_ENCRYPTION_KEYS=value))
    assert result.returncode != 0
    assert "Set the FIELD_ENCRYPTION_KEYS environment variable" in result.stderr
    assert NEW_KEY not in result.stderr and "not-a-key" not in result.stderr
