from .views import fulfillments, prices, webhooks

app_name = "fulfillment"

urlpatterns = [
    *fulfillments.urlpatterns,
    *prices.urlpatterns,
    *webhooks.urlpatterns,
]
