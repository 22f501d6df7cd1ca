"""The outbox pages: changes on their way to FlickRocket, retrying a refused one, the audit log."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from frapp.errors import AppError
from oauth.decorators import embedded_view

from . import selectors, services
from .forms import AuditFilterForm
from .models import Source
from .scheduling import kick_if_idle


@require_POST
@embedded_view
def retry_update(request, update_id: int):
    try:
        update = services.retry_update(
            company_id=request.company_id, user_id=request.flickrocket_user_id, update_id=update_id
        )
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect(_safe_next(request) or reverse("outbox:updates"))
    messages.success(
        request, _("Order %(order_id)s: the change is being sent again.") % {"order_id": update.order_id}
    )
    return redirect(_safe_next(request) or reverse("orders:detail", args=[update.order_id]))


def _safe_next(request) -> str:
    nxt = request.POST.get("next", "")
    # Only our own pages: a path under this session's prefix.
    return nxt if nxt.startswith(reverse("orders:open").rsplit("fulfillments/", 1)[0]) else ""


@require_GET
@embedded_view
def activity(request):
    form = AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_log(
        company_id=request.company_id,
        order_id=filters.get("order"),
        user_id=filters.get("user") or "",
        source=filters.get("source") or "",
    )
    page = Paginator(entries, 100).get_page(filters.get("page"))
    return render(request, "outbox/activity.html", {"form": form, "page": page, "sources": Source.choices})


@require_GET
@embedded_view
def updates(request):
    which = "all" if request.GET.get("show") == "all" else "attention"
    page = Paginator(selectors.outbox_rows(company_id=request.company_id, which=which), 100).get_page(
        request.GET.get("page")
    )
    kick_if_idle(company_id=request.company_id)
    return render(
        request,
        "outbox/updates.html",
        {
            "page": page,
            "which": which,
            "stuck_after": selectors.stuck_after(),
        },
    )


@require_GET
@embedded_view
def nav_status(request):
    """The navigation's pending/stuck badges, refreshed by htmx while work is in flight."""
    return render(request, "nav.html#status")
