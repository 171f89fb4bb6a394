"""Every API resource declaration; importing this package registers them all."""

from api.resources import commerce, copies, subscriptions  # noqa: F401
