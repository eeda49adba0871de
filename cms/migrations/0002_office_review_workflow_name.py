"""Wagtail's first migration names the default workflow and its task after the group
that may publish: "Moderators approval", which the editor's Chinese admin then shows
as "提交给Moderators approval". The office's review is named in Chinese, the
language its editors work in (a workflow name is data: Wagtail shows it as stored)."""

from django.db import migrations

DEFAULT_NAME = "Moderators approval"
OFFICE_NAME = "信用办审核"


def rename(apps, schema_editor, old: str, new: str) -> None:
    for model in ("Workflow", "Task"):
        apps.get_model("wagtailcore", model).objects.filter(name=old).update(name=new)


def forwards(apps, schema_editor):
    rename(apps, schema_editor, DEFAULT_NAME, OFFICE_NAME)


def backwards(apps, schema_editor):
    rename(apps, schema_editor, OFFICE_NAME, DEFAULT_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("wagtailcore", "0048_add_default_workflows"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
