"""The packing bench: scan and ship, ship a selection, print its packing slips and pick list."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from frapp.errors import AppError
from fulfillment.orders import selectors
from fulfillment.orders.forms import new_form_key
from fulfillment.orders.tracking_checks import queued_warnings, tracking_warnings
from fulfillment.outbox import services as outbox
from fulfillment.outbox.bulk import mark_many_shipped
from fulfillment.outbox.models import Source
from oauth.decorators import embedded_view

from . import services as packing
from . import verify_views
from .forms import ScanForm, SelectionForm
from .selectors import pick_items, verifies_items


@require_http_methods(["GET", "POST"])
@embedded_view(scope="orders")
def scan(request):
    """Scan an order id, then its tracking number: the order ships; ready for the next."""
    if verifies_items(company_id=request.company_id):
        return verify_views.bench(request)  # the shop checks each item before it ships
    context = {"form_key": new_form_key()}
    if request.method == "GET":
        return render(request, "packing/scan.html", {**context, "form": ScanForm()})
    form = ScanForm(request.POST)
    valid = form.is_valid()
    if "order_id" not in form.cleaned_data:
        return render(request, "packing/scan.html", {**context, "form": form}, status=400)
    order_id = form.cleaned_data["order_id"]
    try:
        row = packing.scanned_order(company_id=request.company_id, order_id=order_id)
    except packing.OrderNotFetched as exc:
        for field, problems in (exc.field_errors or {None: [exc.message]}).items():
            form.add_error(field, problems)
        return render(request, "packing/scan.html", {**context, "form": form}, status=exc.status)
    tracking = (form.cleaned_data.get("tracking_number") or "").strip()
    if "tracking_number" not in request.POST:
        # Step one: the order was scanned; show it and wait for its tracking number.
        return render(request, "packing/scan.html", {**context, "form": form, "row": row, "step": "tracking"})
    if not valid:
        # The scanned order stays on screen: only the tracking box needs another go.
        return render(
            request,
            "packing/scan.html",
            {**context, "form": form, "row": row, "step": "tracking"},
            status=400,
        )
    try:
        update = outbox.mark_shipped(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            order_id=order_id,
            tracking_number=tracking,
            source=Source.SCAN,
            idempotency_key=form.cleaned_data.get("form_key") or None,
            order=row.order,
        )
    except AppError as exc:
        form.add_error("tracking_number", exc.message)
        return render(
            request,
            "packing/scan.html",
            {**context, "form": form, "row": row, "step": "tracking"},
            status=400,
        )
    return render(
        request,
        "packing/scan.html",
        {
            **context,
            "form": ScanForm(),
            "done": update,
            "done_row": row,
            # Warn, never block: the order is queued; the packer can correct it on this screen.
            "done_warnings": tracking_warnings(row.order, update.tracking_number or ""),
        },
    )


# --- Selections: bulk ship, slips, pick list --------------------------------------------------


@require_POST
@embedded_view(scope="orders")
def bulk_ship(request):
    form = SelectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("orders:open")
    rows = selectors.selected_rows(company_id=request.company_id, order_ids=form.selected)
    form_key = form.cleaned_data.get("form_key") or new_form_key()
    if "confirm" not in request.POST:
        lines = [(row, "", "") for row in rows]
        return render(request, "packing/bulk.html", {"lines": lines, "form_key": form_key})
    # Only orders of this shop: a forged id in the form is dropped, never queued.
    wanted = {row.id: form.tracking.get(row.id, "") for row in rows}
    try:
        result = mark_many_shipped(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            orders=wanted,
            idempotency_key=form_key,
        )
    except AppError as exc:
        lines = [
            (row, wanted[row.id], " ".join(exc.field_errors.get(f"tracking_{row.id}", []))) for row in rows
        ]
        return render(
            request,
            "packing/bulk.html",
            {
                "lines": lines,
                "form_key": form_key,
                "error": exc.message,
            },
            status=400,
        )
    queued, already = len(result.queued), len(result.already)
    if queued:
        messages.success(
            request,
            ngettext(
                "%(count)s order marked shipped. It is being sent to FlickRocket.",
                "%(count)s orders marked shipped. They are being sent to FlickRocket.",
                queued,
            )
            % {"count": queued},
        )
    if already:
        messages.info(
            request,
            ngettext(
                "%(count)s order of this selection was already marked shipped from this form.",
                "%(count)s orders of this selection were already marked shipped from this form.",
                already,
            )
            % {"count": already},
        )
    for note in queued_warnings(result.queued, {row.id: row.order for row in rows}):
        messages.warning(request, note)
    return redirect("orders:open")


def _printable_selection(request, template: str, extra=lambda rows: {}):
    """Packing slips and pick lists print the same selection, each in its own layout."""
    form = SelectionForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("orders:open")
    rows = selectors.selected_rows(company_id=request.company_id, order_ids=form.selected)
    return render(request, template, {"rows": rows, **extra(rows)})


@require_http_methods(["GET", "POST"])
@embedded_view(scope="orders")
def packing_slips(request):
    return _printable_selection(request, "packing/slips.html")


@require_http_methods(["GET", "POST"])
@embedded_view(scope="orders")
def pick_list(request):
    return _printable_selection(request, "packing/picklist.html", lambda rows: {"items": pick_items(rows)})
