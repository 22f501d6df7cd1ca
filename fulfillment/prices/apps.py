from django.apps import AppConfig


class PricesConfig(AppConfig):
    name = "fulfillment.prices"
    verbose_name = "Price models"
