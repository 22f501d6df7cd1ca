from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("callback", views.callback, name="callback"),
    path("install", views.install, name="install"),
    path("connection", views.connection, name="connection"),
    path("disconnect", views.disconnect, name="disconnect"),
]
