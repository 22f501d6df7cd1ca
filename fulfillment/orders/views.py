"""The order pages: lists, one order, the scan bench, bulk ship, packing slips and pick lists."""

import logging

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reselect, reswap, retarget

from frapp import pagecache
from frapp.errors import AppError, Unavailable
from fulfillment.outbox import selectors as outbox_selectors
from fulfillment.outbox import services as outbox
from fulfillment.outbox.models import Source
from fulfillment.outbox.scheduling import kick_if_idle
from oauth.decorators import PAGE_WIDE, embedded_view

from . import detail as one_order
from . import rowcache, selectors, services
from .export import _export_csv
from .forms import ListFilterForm, ReopenForm, ShipForm, new_form_key
from .models import ListCache
from .tracking_checks import tracking_warnings

logger = logging.getLogger(__name__)

TITLES = {
    "open": gettext_lazy("Open orders"),
    "shipped": gettext_lazy("Shipped orders"),
    "all": gettext_lazy("All orders"),
}


# --- Lists ------------------------------------------------------------------------------------


def _order_list(request, kind: str):
    if request.GET.get("refresh") == "1" or request.GET.get("export") or request.session.get("fresh_launch"):
        return _render_order_list(request, kind)  # asks FlickRocket, or is a download
    return pagecache.serve(request, render=lambda: _render_order_list(request, kind))


def _render_order_list(request, kind: str):
    form = ListFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    kick_if_idle(company_id=request.company_id, installation=request.installation)
    low, high = filters.get("created_from"), filters.get("created_to")
    listing = services.order_list_for_page(
        company_id=request.company_id,
        kind=kind,
        created_at_min=low if kind == ListCache.Kind.ALL else None,
        created_at_max=high if kind == ListCache.Kind.ALL else None,
        refresh=request.GET.get("refresh") == "1" or request.session.pop("fresh_launch", False),
    )
    if isinstance(listing, Unavailable):
        return render(
            request,
            "orders/list.html",
            {"kind": kind, "title": TITLES[kind], "form": form, "unavailable": listing.problem},
        )
    rows = selectors.search(
        listing.rows,
        q=filters.get("q") or "",
        country=filters.get("country") or "",
        shipping_model=filters.get("shipping_model") or "",
        created_from=low if kind != ListCache.Kind.ALL else None,
        created_to=high if kind != ListCache.Kind.ALL else None,
        sort=filters.get("sort") or "date",
        descending=bool(filters.get("desc")),
    )
    if request.GET.get("export") == "csv":
        return _export_csv(rows, kind)
    page = selectors.paginate(rows, page=filters.get("page"), size=filters.get("size"))
    rowcache.attach_html(request, page.object_list, kind=kind, revision=listing.revision)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("refresh", None)
    context = {
        "kind": kind,
        "title": TITLES[kind],
        "form": form,
        "listing": listing,
        "page": page,
        "query": query.urlencode(),
        "sort": filters.get("sort") or "date",
        "desc": bool(filters.get("desc")),
        "filtered": any(
            filters.get(k) for k in ("q", "country", "shipping_model", "created_from", "created_to")
        ),
        "bulk_key": new_form_key(),
    }
    table_only = bool(request.htmx) and request.htmx.target == "order-table"
    if table_only and form.errors:
        # The errors belong next to the filter inputs, outside the table htmx asked for.
        response = render(request, "orders/list.html", context)
        return reswap(reselect(retarget(response, "#main"), "#main"), "outerHTML")
    response = render(request, "orders/list.html#table" if table_only else "orders/list.html", context)
    listing.rows.release()
    if listing.problem or listing.fetched_at is None:
        return pagecache.keep_older_copy(response, until=listing.asked_again_at)
    return pagecache.keep(response, until=services.list_due_at(listing))


@require_GET
@embedded_view(scope="orders")
def open_fulfillments(request):
    return _order_list(request, ListCache.Kind.OPEN)


@require_GET
@embedded_view(scope="orders")
def shipped_fulfillments(request):
    return _order_list(request, ListCache.Kind.SHIPPED)


@require_GET
@embedded_view(scope="orders")
def all_fulfillments(request):
    return _order_list(request, ListCache.Kind.ALL)


@require_GET
@embedded_view
def list_version(request):
    """Polled by open list pages: tells them when new orders arrived since they loaded."""
    try:
        seen = int(request.GET.get("v", "0"))
    except ValueError:
        seen = 0
    current = selectors.list_version(company_id=request.company_id)
    return render(request, "orders/list.html#new-orders", {"changed": current > seen})


# --- One order --------------------------------------------------------------------------------


def _detail_context(request, order_id: int, detail, *, form=None):
    return {
        "row": detail.row,
        "order": detail.row.order,
        "problem": detail.problem,
        "form": form or ShipForm(initial={"tracking_number": detail.row.tracking_number}),
        "form_key": new_form_key(),
        "history": outbox_selectors.order_history(company_id=request.company_id, order_id=order_id),
    }


@require_GET
@embedded_view(scope="orders", not_found="No such order")
def order_detail(request, order_id: int):
    fetched = one_order.order_for_page(company_id=request.company_id, order_id=order_id)
    if isinstance(fetched, Unavailable):
        return render(
            request,
            "orders/detail.html",
            {"unavailable": fetched.problem, "order_id": order_id},
            status=503,
        )

    def render_page():
        detail = one_order.detail_of(company_id=request.company_id, fetched=fetched)
        response = render(request, "orders/detail.html", _detail_context(request, order_id, detail))
        if fetched.problem:
            return pagecache.keep_older_copy(response, until=fetched.asked_again_at)
        return pagecache.keep(response)

    return pagecache.serve(request, vary=(fetched.fingerprint(),), render=render_page)


@require_POST
@embedded_view(scope="orders", not_found="No such order")
def ship_order(request, order_id: int):
    """Ship or save tracking for one order: from its page, or inline from a list row (htmx)."""
    inline = bool(request.htmx) and request.POST.get("from") == "list"
    form = ShipForm(request.POST)
    error = ""
    update = None
    if form.is_valid():
        data = form.cleaned_data
        service = outbox.mark_shipped if data["action"] == "ship" else outbox.save_tracking
        try:
            update = service(
                company_id=request.company_id,
                user_id=request.flickrocket_user_id,
                order_id=order_id,
                tracking_number=data["tracking_number"],
                source=Source.INLINE if inline else Source.SINGLE,
                idempotency_key=data.get("form_key") or None,
            )
        except AppError as exc:
            error = exc.message
            for field, problems in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, problems)
            if not exc.field_errors and not inline:
                form.add_error(None, error)  # the order page shows it above the form
    else:
        error = "; ".join(m for ms in form.errors.values() for m in ms)
    if inline:
        row = selectors.list_row(company_id=request.company_id, order_id=order_id)
        if row is None:
            raise Http404("No such order")
        return render(
            request,
            "orders/list.html#row",
            {
                "row": row,
                "kind": request.POST.get("kind", "open"),
                "row_error": error,
                "typed": request.POST.get("tracking_number", ""),
                "just_queued": update is not None,
                # Warn, never block: the change is queued; the owner may correct it right here.
                "row_warnings": tracking_warnings(row.order, update.tracking_number or "") if update else [],
            },
        )
    if update is not None:
        messages.success(request, _queued_message(update))
        return redirect("orders:detail", order_id=order_id)
    detail = one_order.order_detail_for_page(company_id=request.company_id, order_id=order_id)
    if isinstance(detail, Unavailable):
        messages.error(request, detail.problem)
        return redirect("orders:detail", order_id=order_id)
    return render(
        request, "orders/detail.html", _detail_context(request, order_id, detail, form=form), status=400
    )


def _queued_message(update) -> str:
    if update.ships:
        message = _("Order %(order_id)s marked shipped. It is being sent to FlickRocket.")
    else:
        message = _("Order %(order_id)s tracking saved. It is being sent to FlickRocket.")
    return message % {"order_id": update.order_id}


# --- Undo a shipment ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@embedded_view(scope="orders", not_found="No such order")
def reopen_order(request, order_id: int):
    """Set an order shipped by mistake back to open: GET asks (a page of its own, so it works
    without JavaScript), only the POST from that page queues the change."""
    if request.method == "GET":
        row = one_order.order_detail(company_id=request.company_id, order_id=order_id).row
        form = ReopenForm(initial={"form_key": new_form_key()})
        return render(request, "orders/reopen.html", {"row": row, "order": row.order, "form": form})
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return redirect("orders:reopen", order_id=order_id)
    try:
        services.reopen_order(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            order_id=order_id,
            clear_tracking=form.cleaned_data["clear_tracking"],
            idempotency_key=form.cleaned_data["form_key"] or None,
        )
    except PAGE_WIDE:
        raise  # the edge shows the permission or install page
    except AppError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Order %(order)s is open again. It is being sent to FlickRocket.") % {"order": order_id},
        )
    return redirect("orders:detail", order_id=order_id)
