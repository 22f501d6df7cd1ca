from django.apps import AppConfig


class PackingConfig(AppConfig):
    name = "fulfillment.packing"
    verbose_name = "Packing bench"
