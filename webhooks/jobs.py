"""RQ entry points: thin, id-based, safe to run twice."""


def deliver_webhook(delivery_id: str) -> str:
    """One attempt of one delivery, if it is still due; returns what happened (delivered, retry, ...)."""
    from webhooks.delivery import webhook_delivery_attempt

    return webhook_delivery_attempt(delivery_id).status
