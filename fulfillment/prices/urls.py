from django.urls import path

from . import views

app_name = "prices"

urlpatterns = [
    path("prices/", views.price_list, name="list"),
    path("prices/refresh/", views.refresh_prices, name="refresh"),
    path("prices/export.csv", views.export_prices, name="export"),
    path("prices/<int:price_id>/", views.price_detail, name="detail"),
    path("prices/<int:price_id>/export.csv", views.export_price, name="detail-export"),
]
