"""The app's URLs plus ``floor/``: a view that only answers a constant 60 KB page, through
everything a real page passes (the ``/s/<key>/`` session, the installation and permission check,
the whole middleware chain). Its own time is what a page costs once its own work is free."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from oauth.decorators import embedded_view

FLOOR_PATH = "/floor/"
_PAGE = b"x" * 60_000


@require_GET
@embedded_view(scope="orders")
def floor(request):
    return HttpResponse(_PAGE)


urlpatterns = [path(FLOOR_PATH.strip("/") + "/", floor), path("", include("frapp.urls"))]
