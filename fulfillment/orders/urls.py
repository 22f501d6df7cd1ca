from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("fulfillments/", views.open_fulfillments, name="open"),
    path("fulfillments/shipped/", views.shipped_fulfillments, name="shipped"),
    path("fulfillments/all/", views.all_fulfillments, name="all"),
    path("fulfillments/version", views.list_version, name="list-version"),
    path("fulfillments/<int:order_id>/", views.order_detail, name="detail"),
    path("fulfillments/<int:order_id>/ship", views.ship_order, name="ship"),
    path("fulfillments/<int:order_id>/reopen", views.reopen_order, name="reopen"),
]
