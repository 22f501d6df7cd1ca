from django.urls import path

from . import verify_views, views

app_name = "packing"

# The paths predate this app (bookmarks, the packing bench's scanner setup): they stay as they were.
urlpatterns = [
    path("fulfillments/scan/", views.scan, name="scan"),
    path("fulfillments/scan/settings", verify_views.packing_settings, name="settings"),
    path("fulfillments/bulk/ship", views.bulk_ship, name="bulk-ship"),
    path("fulfillments/slips/", views.packing_slips, name="slips"),
    path("fulfillments/picklist/", views.pick_list, name="picklist"),
]
