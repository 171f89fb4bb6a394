"""Real-time webhooks: Commerce Layer's `webhooks` and `event_callbacks` for subscription and copy events."""
