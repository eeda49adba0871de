"""Encrypt the TOTP and recovery-code seeds allauth stored in plaintext.

From now on ``accounts.adapters.MFAAdapter`` encrypts them as allauth writes them
(core.crypto, FIELD_ENCRYPTION_KEYS); this encrypts the ones written before. A value
that already is a Fernet token is left alone, so the migration can run on a database
where some authenticators were created after the adapter was deployed. The reverse
decrypts them all again (for a rollback to the plaintext default adapter).
"""

from django.db import migrations

from core import crypto

KEYS = ("secret", "seed")
LISTS = ("migrated_codes",)


def _convert(apps, convert) -> None:
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.order_by("pk").iterator():
        data, changed = dict(authenticator.data), False
        for key in KEYS:
            if data.get(key):
                new = convert(data[key], authenticator.pk)
                changed |= new != data[key]
                data[key] = new
        for key in LISTS:
            if data.get(key):
                new_list = [convert(value, authenticator.pk) for value in data[key]]
                changed |= new_list != data[key]
                data[key] = new_list
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_secrets(apps, schema_editor):
    def encrypt(value, pk):
        return value if crypto.looks_encrypted(value) else crypto.encrypt(value)

    _convert(apps, encrypt)


def decrypt_secrets(apps, schema_editor):
    def decrypt(value, pk):
        if not crypto.looks_encrypted(value):
            return value
        return crypto.decrypt(value, where=f"mfa.Authenticator.data (pk={pk})")

    _convert(apps, decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_platform_organization"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
    ]
