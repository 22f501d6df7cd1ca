import logging

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

import flickrocket as fr
from frapp import pagecache
from frapp.errors import AppError
from oauth.decorators import PAGE_WIDE, embedded_view

from . import receiver, selectors, services
from .forms import DeliveryFilterForm, SubscriptionForm

logger = logging.getLogger(__name__)


# --- The receiver: FlickRocket's deliveries (no session, no CSRF: the hash authenticates) ---


@csrf_exempt
@require_POST
def receive_webhook(request):
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "bad Content-Length"}, status=400)
    if declared > limit:
        logger.warning("webhook refused: body of %s bytes is over the limit", declared)
        return JsonResponse({"error": "body too large"}, status=413)
    # Read at most one byte past the limit: a body that lied about its length stops there.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        logger.warning("webhook refused: body is over the %s byte limit", limit)
        return JsonResponse({"error": "body too large"}, status=413)
    receipt = receiver.receive_delivery(raw=raw)
    if receipt.status != 200:
        logger.warning("webhook refused: %s", receipt.reason)
        return JsonResponse({"error": receipt.reason}, status=receipt.status)
    return JsonResponse({"ok": True, "result": receipt.reason})


# --- Subscriptions page -------------------------------------------------------------------


def _subscriptions_page(request, form, status=200, overview=None):
    overview = overview or services.subscriptions_overview(company_id=request.company_id)
    if overview.needs_permission:
        # FlickRocket's 403, which the overview kept: the edge (embedded_view) shows it as a page.
        raise fr.Forbidden(scope="webhooks")
    return render(
        request,
        "webhooks/subscriptions.html",
        {
            "overview": overview,
            "form": form,
            "essential_topics": services.ESSENTIAL_TOPICS,
            "health": selectors.webhook_health(company_id=request.company_id),
        },
        status=status,
    )


def _blank_subscriptions_page(request):
    """The page as a GET shows it: kept (``frapp.pagecache``) while FlickRocket's list of
    subscriptions and our own rows stay as they were."""
    overview = services.subscriptions_overview(company_id=request.company_id)
    form = SubscriptionForm(
        initial={"topic": "order/create", "address": services.receiver_address()},
        receiver=services.receiver_address(),
    )
    if overview.needs_permission or (overview.error and overview.asked_again_at is None):
        return _subscriptions_page(request, form, overview=overview)

    def render_page():
        response = _subscriptions_page(request, form, overview=overview)
        # While FlickRocket asks us to wait, asking again is pointless: keep what it said.
        return pagecache.keep(response, until=overview.asked_again_at)

    return pagecache.serve(request, vary=(overview.fingerprint(),), render=render_page)


@never_cache
@require_http_methods(["GET", "POST"])
@embedded_view(scope="webhooks")
def subscriptions(request):
    if request.method == "GET":
        return _blank_subscriptions_page(request)
    form = SubscriptionForm(request.POST, receiver=services.receiver_address())
    if form.is_valid():
        try:
            hook = services.subscribe(company_id=request.company_id, **form.cleaned_data)
        except PAGE_WIDE:
            raise
        except AppError as exc:
            form.add_platform_errors(exc.field_errors, exc.message)
        else:
            messages.success(request, _("Subscribed to %(topic)s.") % {"topic": hook.topic})
            return redirect("webhooks:subscriptions")
    return _subscriptions_page(request, form, status=422)


@require_POST
@embedded_view(scope="webhooks")
def subscribe_essentials(request):
    try:
        result = services.subscribe_essentials_from_page(company_id=request.company_id)
    except PAGE_WIDE:
        raise
    except AppError as exc:
        messages.error(request, _("Nothing was changed: %(error)s") % {"error": exc})
        return redirect("webhooks:subscriptions")
    parts = []
    if result.created:
        parts.append(_("subscribed to %(topics)s") % {"topics": ", ".join(result.created)})
    if result.reactivated:
        parts.append(_("switched %(topics)s back on") % {"topics": ", ".join(result.reactivated)})
    if result.changed:
        messages.success(request, _("Done: %(changes)s.") % {"changes": "; ".join(parts)})
    else:
        messages.info(request, _("Everything this app needs was already subscribed. Nothing changed."))
    return redirect("webhooks:subscriptions")


def _hook(request, webhook_id):
    # Not this company's hook, or gone: FlickRocket's NotFound, the edge's 404 (not_found=…).
    return services.subscription(company_id=request.company_id, webhook_id=webhook_id)


def _edit_page(request, hook, form, status=200):
    context = {"hook": hook, "form": form}
    return render(request, "webhooks/edit.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@embedded_view(scope="webhooks", not_found=services.NO_SUCH_SUBSCRIPTION)
def edit_subscription(request, webhook_id):
    hook = _hook(request, webhook_id)
    if request.method == "GET":
        form = SubscriptionForm(
            initial={"topic": hook.topic, "address": hook.address}, receiver=services.receiver_address()
        )
        return _edit_page(request, hook, form)
    form = SubscriptionForm(request.POST, receiver=services.receiver_address())
    if form.is_valid():
        try:
            services.change_subscription(
                company_id=request.company_id, webhook_id=hook.id, **form.cleaned_data
            )
        except PAGE_WIDE:
            raise
        except AppError as exc:
            form.add_platform_errors(exc.field_errors, exc.message)
        else:
            messages.success(request, _("Subscription saved."))
            return redirect("webhooks:subscriptions")
    return _edit_page(request, hook, form, status=422)


@never_cache
@require_http_methods(["GET", "POST"])
@embedded_view(scope="webhooks", not_found=services.NO_SUCH_SUBSCRIPTION)
def delete_subscription(request, webhook_id):
    hook = _hook(request, webhook_id)
    if request.method == "GET":
        return render(request, "webhooks/delete.html", {"hook": hook})
    try:
        services.unsubscribe(company_id=request.company_id, webhook_id=hook.id)
    except PAGE_WIDE:
        raise
    except AppError as exc:
        messages.error(request, _("The subscription was not deleted: %(error)s") % {"error": exc})
        return redirect("webhooks:subscriptions")
    messages.success(request, _("Deleted the %(topic)s subscription.") % {"topic": hook.topic})
    return redirect("webhooks:subscriptions")


@require_POST
@embedded_view(scope="webhooks", not_found=services.NO_SUCH_SUBSCRIPTION)
def reactivate_subscription(request, webhook_id):
    try:
        hook = services.reactivate_subscription(company_id=request.company_id, webhook_id=webhook_id)
    except PAGE_WIDE:
        raise
    except AppError as exc:
        messages.error(request, _("The subscription is still switched off: %(error)s") % {"error": exc})
    else:
        messages.success(
            request,
            _("%(topic)s is switched on again; FlickRocket resumes sending events.") % {"topic": hook.topic},
        )
    return redirect("webhooks:subscriptions")


@never_cache
@embedded_view
def deliveries(request):
    form = DeliveryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    page, counts = selectors.deliveries_page(
        company_id=request.company_id,
        show=filters.get("show") or "",
        topic=filters.get("topic") or "",
        page=filters.get("page") or 1,
    )
    return render(
        request,
        "webhooks/deliveries.html",
        {
            "page": page,
            "counts": counts,
            "form": form,
            "filters": filters,
            "refusals_per_minute": receiver.REFUSALS_RECORDED_PER_MINUTE,
        },
    )
