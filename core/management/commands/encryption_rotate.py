"""Re-encrypt every value encrypted at rest under the first key of FIELD_ENCRYPTION_KEYS.

Key rotation (docs/webhooks.md, "Encryption at rest and key rotation"): put the new
key first in FIELD_ENCRYPTION_KEYS and deploy, run this command, run it again with
``--check`` (it must report 0 to re-encrypt and 0 failed), then remove the old key.

It finds every ``EncryptedTextField`` of every installed model by itself, and the
other stores apps register (``core.crypto.register_rotation``: the MFA seeds). A value
already under the first key is left as it is, so the command can be run again at any
time; each value is swapped only if nobody changed it meanwhile. It prints counts and
row ids, never a value.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from core import crypto
from core.fields import EncryptedTextField

CHUNK = 500


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete ``EncryptedTextField`` of every installed model."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def rotate_field(
    model: type[models.Model], field: EncryptedTextField, *, check_only: bool
) -> crypto.RotationReport:
    """Re-encrypt one column, row by row, each with a compare-and-swap update."""
    label = f"{model._meta.label}.{field.name}"
    report = crypto.RotationReport(store=label)
    # The stored token itself: cast to a plain text column, which has no converter.
    raw = Cast(field.name, output_field=models.TextField())
    rows = (
        model._base_manager.annotate(token=raw)
        .exclude(token__isnull=True)
        .exclude(token="")
        .order_by("pk")
        .values_list("pk", "token")
    )
    for pk, token in rows.iterator(chunk_size=CHUNK):
        new = crypto.rotate_token(report, token, f"{label} (pk={pk})")
        if new is None or check_only:
            continue
        updated = (
            model._base_manager.filter(pk=pk)
            .filter(Exact(Cast(field.name, output_field=models.TextField()), token))
            .update(**{field.name: crypto.Ciphertext(new)})
        )
        if not updated:
            # Changed since it was read (a rotation of the secret, say): the new
            # value was written under the first key already.
            report.reencrypted -= 1
            report.current += 1
    return report


class Command(BaseCommand):
    help = (
        "Re-encrypt every value encrypted at rest (EncryptedTextField columns, MFA "
        "seeds) under the first key of FIELD_ENCRYPTION_KEYS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; report how many values are not under the first key "
            "(exit status 1 if any), e.g. before removing an old key.",
        )

    def handle(self, *args, check: bool, **options) -> None:
        reports = [
            rotate_field(model, field, check_only=check)
            for model, field in encrypted_fields()
        ]
        reports += [
            function(check_only=check) for function in crypto.ROTATIONS.values()
        ]
        verb = "to re-encrypt" if check else "re-encrypted"
        for report in reports:
            self.stdout.write(
                f"{report.store}: {report.reencrypted} {verb}, "
                f"{report.current} already under the first key, "
                f"{len(report.failed)} failed"
            )
        failed = [where for report in reports for where in report.failed]
        if failed:
            raise CommandError(
                "Cannot decrypt with any key in FIELD_ENCRYPTION_KEYS: "
                + ", ".join(failed)
                + ". Put back the key they were encrypted with, then run again."
            )
        if check and any(report.reencrypted for report in reports):
            raise CommandError(
                "Some values are not under the first key yet: run "
                "`manage.py encryption_rotate` before removing an old key."
            )
