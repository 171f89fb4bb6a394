from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The one sanctioned hook: events are handed to us after their transaction commits.
        from copies.events import register_event_listener
        from webhooks.delivery import webhook_events_dispatch

        register_event_listener(webhook_events_dispatch)
