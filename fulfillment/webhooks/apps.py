from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "fulfillment.webhooks"
    verbose_name = "Webhooks"
