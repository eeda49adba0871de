"""Webhook signing secrets encrypted at rest (core.crypto), with the date each was issued.

The column is widened to text first (a Fernet token of a 50-character secret is about
160 characters), the existing plaintext secrets are encrypted with the first key of
FIELD_ENCRYPTION_KEYS, then the field becomes an ``EncryptedTextField``. The reverse
decrypts them again (with any configured key) before the column is narrowed back.

Existing rows did not record when their secret was issued: they get the row's last
change (``updated_at``), the latest moment it can have been issued.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F

import core.fields
from core import crypto


def encrypt_secrets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("lenders", "WebhookEndpoint")
    for pk, secret in WebhookEndpoint.objects.values_list("pk", "secret").iterator():
        WebhookEndpoint.objects.filter(pk=pk).update(
            secret=crypto.encrypt(secret) if secret else secret,
            secret_created_at=F("updated_at"),
        )


def decrypt_secrets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("lenders", "WebhookEndpoint")
    for pk, token in WebhookEndpoint.objects.values_list("pk", "secret").iterator():
        if token:
            plaintext = crypto.decrypt(
                token, where=f"lenders.WebhookEndpoint.secret (pk={pk})"
            )
            WebhookEndpoint.objects.filter(pk=pk).update(secret=plaintext)


class Migration(migrations.Migration):
    dependencies = [
        ("lenders", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.TextField(verbose_name="signing secret"),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                verbose_name="signing secret issued at",
            ),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=core.fields.EncryptedTextField(verbose_name="signing secret"),
        ),
    ]
