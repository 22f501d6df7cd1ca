from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("callback", views.callback, name="callback"),
    path("install", views.install, name="install"),
    path("connection", views.connection, name="connection"),
    path("disconnect", views.disconnect, name="disconnect"),
    path("language", views.language, name="language"),
    path("pending/<int:grant_id>/confirm", views.confirm_pending, name="confirm_pending"),
    path("pending/<int:grant_id>/discard", views.discard_pending, name="discard_pending"),
]
