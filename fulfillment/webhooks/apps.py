from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "fulfillment.webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from oauth import signals

        from . import health

        signals.app_installed.connect(health.on_installed, dispatch_uid="webhooks.on_installed")
        signals.app_launched.connect(health.on_launched, dispatch_uid="webhooks.on_launched")
