"""Human-readable sequential numbers (order and subscription numbers).

PostgreSQL hands them out from real sequences, which never block concurrent
writers. SQLite has no sequences; it serialises writers anyway, so a counter
row is enough there.
"""

from django.db import connection, transaction
from django.db.models import F

ORDER_NUMBERS = "order_number"
SUBSCRIPTION_NUMBERS = "order_subscription_number"
SEQUENCE_STARTS = {ORDER_NUMBERS: 10001, SUBSCRIPTION_NUMBERS: 1001}


def next_numbers(name: str, count: int = 1) -> list[int]:
    """Reserve `count` new numbers from the named sequence, in ascending order."""
    if count <= 0:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [f"{name}_seq", count])
            return sorted(row[0] for row in cursor.fetchall())
    from orders.models import NumberSequence

    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name, defaults={"value": SEQUENCE_STARTS[name] - 1})
        NumberSequence.objects.filter(name=name).update(value=F("value") + count)
        last = NumberSequence.objects.values_list("value", flat=True).get(name=name)
    return list(range(last - count + 1, last + 1))


def next_number(name: str) -> int:
    return next_numbers(name, 1)[0]
