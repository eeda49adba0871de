"""The first authorization-notice version, and the database-level guarantee that the
data access log is append-only (PostgreSQL: a trigger refuses UPDATE and DELETE of any
row; TRUNCATE, a table owner's maintenance statement, stays possible)."""

from django.db import migrations

from borrowers.notice_texts import FIRST_VERSION, TEMPLATE_EN, TEMPLATE_ZH

CREATE_TRIGGER = """
CREATE OR REPLACE FUNCTION borrowers_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'borrowers_dataaccesslog is append-only (%% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER borrowers_access_log_no_update_delete
    BEFORE UPDATE OR DELETE ON borrowers_dataaccesslog
    FOR EACH ROW EXECUTE FUNCTION borrowers_access_log_append_only();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS borrowers_access_log_no_update_delete ON borrowers_dataaccesslog;
DROP FUNCTION IF EXISTS borrowers_access_log_append_only();
"""


def first_notice(apps, schema_editor):
    ConsentNotice = apps.get_model("borrowers", "ConsentNotice")
    ConsentNotice.objects.get_or_create(
        version=FIRST_VERSION,
        defaults={"template_zh": TEMPLATE_ZH, "template_en": TEMPLATE_EN},
    )


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGER)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("borrowers", "0001_initial")]

    operations = [
        migrations.RunPython(first_notice, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
