"""Pieces every resource declaration shares: the standard fields, money attributes, adapter helpers."""

from typing import Any

from api.conventions.formats import cents_to_float, format_money
from api.registry import DATETIME, FLOAT, INTEGER, OBJECT, STRING, Attr

ID = Attr("id", STRING, "FS", hidden=True)


def standard_fields() -> tuple[Attr, ...]:
    """`created_at`, `updated_at`, `reference`, `reference_origin`, `metadata` (facts sheet §1)."""
    return (
        Attr("created_at", DATETIME, "FS", nullable=False),
        Attr("updated_at", DATETIME, "FS", nullable=False),
        Attr("reference", STRING, "CUFS", max_length=255),
        Attr("reference_origin", STRING, "CUFS", max_length=255),
        Attr("metadata", OBJECT, "CUF", nullable=False),
    )


def money(prefix: str, *, column: str, currency: str, flags: str = "FS") -> tuple[Attr, ...]:
    """`{prefix}_cents`, `{prefix}_float`, `formatted_{prefix}` from a cents column and a currency column."""
    return (
        Attr(f"{prefix}_cents", INTEGER, flags, column=column, nullable=False),
        Attr(
            f"{prefix}_float",
            FLOAT,
            compute=lambda row: cents_to_float(row[column], row[currency]),
            needs=(column, currency),
        ),
        Attr(
            f"formatted_{prefix}",
            STRING,
            compute=lambda row: format_money(row[column], row[currency]),
            needs=(column, currency),
        ),
    )


def strings_or_empty(values: dict[str, Any], *names: str) -> dict[str, Any]:
    """Model text fields that are never NULL take "" for an API null."""
    return {key: ("" if key in names and value is None else value) for key, value in values.items()}


def fired(triggers: dict[str, Any], name: str) -> bool:
    """A boolean trigger acts when sent as true; false is a no-op, as in Commerce Layer."""
    return triggers.get(name) is True
