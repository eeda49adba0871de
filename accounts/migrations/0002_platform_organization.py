"""Every deployment has exactly one platform operator organization: the grantee of
scoring consents. Creating it here means a fresh production database has it too."""

from django.db import migrations

from accounts.migrations import PLATFORM_NAME


def create_platform(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    if not Organization.objects.filter(kind="platform").exists():
        Organization.objects.create(kind="platform", name=PLATFORM_NAME)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_platform, migrations.RunPython.noop)]
