from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "fulfillment.orders"
    verbose_name = "Orders"
