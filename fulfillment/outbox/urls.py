from django.urls import path

from . import views

app_name = "outbox"

urlpatterns = [
    path("fulfillments/activity/", views.activity, name="activity"),
    path("fulfillments/updates/", views.updates, name="updates"),
    path("fulfillments/updates/<int:update_id>/retry", views.retry_update, name="retry"),
    path("fulfillments/nav-status", views.nav_status, name="nav-status"),
]
