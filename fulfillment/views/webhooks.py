from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

urlpatterns: list = []


@csrf_exempt
@require_POST
def receive_webhook(request):
    # Placeholder until the webhook issue: refuse everything rather than pretend to accept.
    return HttpResponse(status=503)
