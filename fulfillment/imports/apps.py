from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "fulfillment.imports"
    verbose_name = "CSV imports"
