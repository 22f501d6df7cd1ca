from django.urls import path

from . import views

app_name = "webhooks"

# The receiver (/webhooks/flickrocket) is in frapp/urls.py: its path is fixed in the App Store.
urlpatterns = [
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/essentials/", views.subscribe_essentials, name="subscribe-essentials"),
    path("subscriptions/deliveries/", views.deliveries, name="deliveries"),
    path("subscriptions/<int:webhook_id>/edit/", views.edit_subscription, name="edit"),
    path("subscriptions/<int:webhook_id>/delete/", views.delete_subscription, name="delete"),
    path("subscriptions/<int:webhook_id>/reactivate/", views.reactivate_subscription, name="reactivate"),
]
