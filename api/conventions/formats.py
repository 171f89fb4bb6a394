"""How values look on the wire: timestamps, money."""

from datetime import UTC, datetime

from django.utils.dateparse import parse_date, parse_datetime


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and `Z`: `2018-01-01T12:00:00.000Z`."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 datetime (a date alone means its midnight), in UTC; None when it is not one."""
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# symbol, decimal mark, thousands separator, symbol after the amount
CURRENCY_FORMATS = {
    "EUR": ("€", ",", ".", False),
    "USD": ("$", ".", ",", False),
    "GBP": ("£", ".", ",", False),
    "CHF": ("CHF ", ".", "'", False),
    "JPY": ("¥", ".", ",", False),
}
ZERO_DECIMAL_CURRENCIES = {"JPY"}


def cents_to_float(cents: int | None, currency: str | None) -> float | None:
    if cents is None:
        return None
    return float(cents) if (currency or "") in ZERO_DECIMAL_CURRENCIES else cents / 100


def format_money(cents: int | None, currency: str | None) -> str | None:
    """Commerce Layer's `formatted_*` amounts, e.g. `€1.234,50`."""
    if cents is None:
        return None
    currency = (currency or "").upper()
    symbol, decimal_mark, thousands, _ = CURRENCY_FORMATS.get(currency, ("", ".", ",", True))
    negative = cents < 0
    cents = abs(cents)
    if currency in ZERO_DECIMAL_CURRENCIES:
        units, fraction = cents, ""
    else:
        units, fraction = divmod(cents, 100)
        fraction = f"{decimal_mark}{fraction:02d}"
    grouped = f"{units:,}".replace(",", thousands)
    amount = f"{grouped}{fraction}"
    text = f"{amount} {currency}".strip() if not symbol else f"{symbol}{amount}"
    return f"-{text}" if negative else text
