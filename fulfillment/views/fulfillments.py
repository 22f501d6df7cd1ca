from django.shortcuts import render
from django.urls import path

from oauth.decorators import embedded_view


@embedded_view
def open_fulfillments(request):
    return render(request, "fulfillment/open.html")


urlpatterns = [
    path("fulfillments/", open_fulfillments, name="open"),
]
