from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "fulfillment.outbox"
    verbose_name = "Outbox"
