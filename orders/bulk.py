"""Set-based inserts and updates for hot paths (the scheduler tick, the copy engine).

Django's `bulk_update` writes one CASE WHEN per row and field, and `bulk_create` needs a
model instance per row; at tens of thousands of rows per tick both cost more than the SQL.
On PostgreSQL these helpers send each column as one typed array and let the server
`unnest` them: one statement, parameters passed as arrays, no per-row SQL. Other databases
(SQLite, the embedded default) fall back to the ORM.
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _array_param(field: models.Field, values: list[Any]) -> tuple[str, list[Any]]:
    """The `%b::type[]` placeholder (a binary array parameter) and its value for one column."""
    db_type = field.db_type(connection)
    if isinstance(field, models.JSONField):
        return "%b::text[]::jsonb[]", [None if value is None else json.dumps(value) for value in values]
    if isinstance(field, models.ForeignKey):
        db_type = field.target_field.db_type(connection)
    base_type = db_type.split("(")[0]  # varchar(10) -> varchar
    return f"%b::{base_type}[]", values


def _execute(sql: str, params: list[Any]) -> int:
    """Run on the raw psycopg connection: server-side binding sends the arrays in binary instead of
    Django's client-side literal quoting (the slow part at these sizes). Same transaction as the ORM."""
    import psycopg

    connection.ensure_connection()
    # Django makes ClientCursor the connection's default; ask for a server-binding cursor explicitly.
    # wrap_database_errors turns psycopg's exceptions into Django's and marks a broken connection.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_rows(model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
    """INSERT rows given as dicts of field names (or attnames); missing fields take the model's defaults."""
    rows = list(rows)
    if not rows:
        return 0
    fields = [field for field in model._meta.concrete_fields]
    if not _postgres():
        model.objects.bulk_create([model(**row) for row in rows])
        return len(rows)
    columns: list[list[Any]] = []
    for field in fields:
        name, attname = field.name, field.attname
        if callable(field.default):
            default = field.get_default  # e.g. a fresh id or dict per row
        else:
            constant = field.get_default()

            def default(constant=constant):
                return constant

        columns.append([row[name] if name in row else row[attname] if attname in row else default() for row in rows])
    placeholders, params = [], []
    for field, values in zip(fields, columns, strict=True):
        if isinstance(field, models.ForeignKey):
            values = [value.pk if isinstance(value, models.Model) else value for value in values]
        placeholder, param = _array_param(field, values)
        placeholders.append(placeholder)
        params.append(param)
    table = connection.ops.quote_name(model._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    _execute(f"INSERT INTO {table} ({column_sql}) SELECT * FROM unnest({', '.join(placeholders)})", params)
    return len(rows)


def insert_objects(model: type[models.Model], objects: Sequence[models.Model]) -> int:
    """INSERT unsaved model instances whose primary keys are already set (ours are generated in Python)."""
    if not _postgres():
        model.objects.bulk_create(objects)
        return len(objects)
    attnames = [field.attname for field in model._meta.concrete_fields]
    return insert_rows(model, [{name: getattr(obj, name) for name in attnames} for obj in objects])


def update_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    increment: Iterable[str] = (),
) -> int:
    """UPDATE rows by primary key; each row is `(pk, value, ...)` in `columns` order.

    Columns named in `increment` are added to the current value instead of replacing it.
    """
    rows = list(rows)
    if not rows:
        return 0
    increment = set(increment)
    fields = [model._meta.get_field(name) for name in columns]
    if not _postgres():
        objects = []
        for pk, *values in rows:
            obj = model(pk=pk)
            for field, value in zip(fields, values, strict=True):
                setattr(obj, field.attname, models.F(field.attname) + value if field.name in increment else value)
            objects.append(obj)
        model.objects.bulk_update(objects, [field.name for field in fields])
        return len(rows)
    pk_field = model._meta.pk
    placeholders, params = [], []
    for index, field in enumerate([pk_field, *fields]):
        placeholder, param = _array_param(field, [row[index] for row in rows])
        placeholders.append(placeholder)
        params.append(param)
    quote = connection.ops.quote_name
    names = ["pk", *(f"c{index}" for index in range(len(fields)))]
    assignments = ", ".join(
        f"{quote(field.column)} = t.{quote(field.column)} + v.{name}"
        if field.name in increment
        else f"{quote(field.column)} = v.{name}"
        for field, name in zip(fields, names[1:], strict=True)
    )
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({', '.join(placeholders)}) AS v({', '.join(names)}) "
        f"WHERE t.{quote(pk_field.column)} = v.pk"
    )
    return _execute(sql, params)
