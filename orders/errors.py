"""Reading an `errors_log` ({attribute: [messages]}) in a stable, useful order."""

# The state machine's entry (`status: cannot transition from draft to placed`) is a consequence of
# the others, so it reads last.
CONSEQUENCE_ATTRIBUTES = ("status",)


def in_reading_order(errors: dict) -> list[tuple[str, object]]:
    """Causes first (alphabetically), consequences last.

    PostgreSQL's jsonb does not keep the order keys were written in, so the order is decided
    here and is the same on every database.
    """
    return sorted(errors.items(), key=lambda item: (item[0] in CONSEQUENCE_ATTRIBUTES, item[0]))
