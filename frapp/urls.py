"""Public URLs are part of the App Store listing and never change:
Start URL ``/``, Authorization URL ``/oauth/authorize``, redirect URI ``/oauth/callback``,
webhook address ``/webhooks/flickrocket``. Embedded pages live under ``/s/<session>/``
(see frapp/middleware.py), which the middleware strips before these patterns see the path.
"""

from django.contrib import admin
from django.urls import include, path

from frapp.views import healthz
from fulfillment.webhooks.views import receive_webhook
from oauth.views import launch

urlpatterns = [
    path("", launch, name="launch"),
    path("healthz", healthz, name="healthz"),
    path("webhooks/flickrocket", receive_webhook, name="webhook-receiver"),
    path("oauth/", include("oauth.urls")),
    path("staff/", admin.site.urls),
    path("", include("fulfillment.orders.urls")),
    path("", include("fulfillment.packing.urls")),
    path("", include("fulfillment.outbox.urls")),
    path("", include("fulfillment.imports.urls")),
    path("", include("fulfillment.prices.urls")),
    path("", include("fulfillment.webhooks.urls")),
]
