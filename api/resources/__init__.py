"""Every API resource declaration; importing this package registers them all (in reference-page order)."""

from api.resources import subscriptions  # noqa: I001, F401 - the subscription resources come first
from api.resources import copies  # noqa: F401
from api.resources import commerce  # noqa: F401
from api.resources import webhooks  # noqa: F401
