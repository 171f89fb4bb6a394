"""PostgreSQL sequences for order and subscription numbers (SQLite uses NumberSequence rows)."""

from django.db import migrations

from orders.sequences import SEQUENCE_STARTS


def create_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, start in SEQUENCE_STARTS.items():
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}_seq START WITH {start}")


def drop_sequences(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in SEQUENCE_STARTS:
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {name}_seq")


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_initial")]

    operations = [migrations.RunPython(create_sequences, drop_sequences)]
