from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("callback", views.callback, name="callback"),
    path("install", views.install, name="install"),
    path("disconnect", views.disconnect, name="disconnect"),
]
