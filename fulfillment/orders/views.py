import csv
import logging

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frapp.errors import AppError
from frapp.spreadsheets import csv_safe_row
from oauth import client as fr
from oauth.decorators import embedded_view

from ..forms.fulfillments import (
    AuditFilterForm,
    CsvUploadForm,
    ListFilterForm,
    ScanForm,
    SelectionForm,
    ShipForm,
    new_form_key,
)
from ..models import CsvImport, ListCache
from ..models.fulfillments import Source
from ..selectors import fulfillments as selectors
from ..services import fulfillments as services

logger = logging.getLogger(__name__)

TITLES = {"open": "Open orders", "shipped": "Shipped orders", "all": "All orders"}


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Lists ------------------------------------------------------------------------------------


def _order_list(request, kind: str):
    form = ListFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    services.kick_if_idle(company_id=request.company_id)
    low, high = filters.get("created_from"), filters.get("created_to")
    try:
        listing = selectors.order_list(
            company_id=request.company_id,
            kind=kind,
            created_at_min=low if kind == ListCache.Kind.ALL else None,
            created_at_max=high if kind == ListCache.Kind.ALL else None,
            refresh=request.GET.get("refresh") == "1" or request.session.pop("fresh_launch", False),
        )
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        return render(
            request, "fulfillment/list.html",
            {"kind": kind, "title": TITLES[kind], "form": form, "unavailable": str(exc)},
        )  # fmt: skip
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
    page = selectors.paginate(rows, page=filters.get("page") or 1, size=filters.get("size") or 50)
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
    template = (
        "fulfillment/_table.html"
        if _is_htmx(request) and request.headers.get("HX-Target") == "order-table"
        else "fulfillment/list.html"
    )
    return render(request, template, context)


@require_GET
@embedded_view
def open_fulfillments(request):
    return _order_list(request, ListCache.Kind.OPEN)


@require_GET
@embedded_view
def shipped_fulfillments(request):
    return _order_list(request, ListCache.Kind.SHIPPED)


@require_GET
@embedded_view
def all_fulfillments(request):
    return _order_list(request, ListCache.Kind.ALL)


class _Echo:
    def write(self, value):
        return value


def _export_csv(rows, kind: str):
    writer = csv.writer(_Echo())
    header = [
        "order_id", "created_at", "status", "name", "address1", "address2", "zip", "city",
        "province", "country_code", "country", "phone", "items", "total_grams",
        "shipping_model", "tracking_number", "pending",
    ]  # fmt: skip

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            o, a = row.order, row.order.shipping_address
            items = "; ".join(
                f"{i.quantity} x {i.title}" + (f" ({i.version})" if i.version else "") for i in o.line_items
            )
            yield writer.writerow(csv_safe_row([
                o.id, o.created_at, "shipped" if row.is_shipped else "open", a.name, a.address1,
                a.address2, a.zip, a.city, a.province, a.country_code, a.country_name, a.phone,
                items, o.total_grams, o.shipping_model, row.tracking_number, row.write_state,
            ]))  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{kind}-orders-{stamp}.csv"'
    return response


@require_GET
@embedded_view
def list_version(request):
    """Polled by open list pages: tells them when new orders arrived since they loaded."""
    try:
        seen = int(request.GET.get("v", "0"))
    except ValueError:
        seen = 0
    current = selectors.list_version(company_id=request.company_id)
    return render(request, "fulfillment/_new_orders.html", {"changed": current > seen})


# --- One order --------------------------------------------------------------------------------


def _detail_context(request, order_id: int, *, form=None):
    try:
        detail = selectors.order_detail(company_id=request.company_id, order_id=order_id)
    except fr.NotFound:
        raise Http404("No such order") from None
    return {
        "row": detail.row,
        "order": detail.row.order,
        "problem": detail.problem,
        "form": form or ShipForm(initial={"tracking_number": detail.row.tracking_number}),
        "form_key": new_form_key(),
        "history": selectors.order_history(company_id=request.company_id, order_id=order_id),
    }


@require_GET
@embedded_view
def order_detail(request, order_id: int):
    try:
        context = _detail_context(request, order_id)
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        return render(
            request, "fulfillment/detail.html",
            {"unavailable": str(exc), "order_id": order_id}, status=503,
        )  # fmt: skip
    return render(request, "fulfillment/detail.html", context)


@require_POST
@embedded_view
def ship_order(request, order_id: int):
    """Ship or save tracking for one order: from its page, or inline from a list row (htmx)."""
    inline = _is_htmx(request) and request.POST.get("from") == "list"
    form = ShipForm(request.POST)
    error = ""
    update = None
    if form.is_valid():
        data = form.cleaned_data
        service = services.mark_shipped if data["action"] == "ship" else services.save_tracking
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
    else:
        error = "; ".join(m for ms in form.errors.values() for m in ms)
    if inline:
        row = selectors.list_row(company_id=request.company_id, order_id=order_id)
        if row is None:
            raise Http404("No such order")
        return render(request, "fulfillment/_row.html", {
            "row": row, "kind": request.POST.get("kind", "open"), "row_error": error,
            "typed": request.POST.get("tracking_number", ""), "just_queued": update is not None,
        })  # fmt: skip
    if update is not None:
        messages.success(request, _queued_message(update))
        return redirect("fulfillment:detail", order_id=order_id)
    try:
        context = _detail_context(request, order_id, form=form)
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        messages.error(request, str(exc))
        return redirect("fulfillment:detail", order_id=order_id)
    return render(request, "fulfillment/detail.html", context, status=400)


def _queued_message(update) -> str:
    what = "marked shipped" if update.ships else "tracking saved"
    return f"Order {update.order_id} {what}. It is being sent to FlickRocket."


@require_POST
@embedded_view
def retry_update(request, update_id: int):
    try:
        update = services.retry_update(
            company_id=request.company_id, user_id=request.flickrocket_user_id, update_id=update_id
        )
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect(_safe_next(request) or reverse("fulfillment:updates"))
    messages.success(request, f"Order {update.order_id}: the change is being sent again.")
    return redirect(_safe_next(request) or reverse("fulfillment:detail", args=[update.order_id]))


def _safe_next(request) -> str:
    nxt = request.POST.get("next", "")
    # Only our own pages: a path under this session's prefix.
    return nxt if nxt.startswith(reverse("fulfillment:open").rsplit("fulfillments/", 1)[0]) else ""


# --- Packing bench ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@embedded_view
def scan(request):
    """Scan an order id, then its tracking number: the order ships; ready for the next."""
    context = {"form_key": new_form_key()}
    if request.method == "GET":
        return render(request, "fulfillment/scan.html", {**context, "form": ScanForm()})
    form = ScanForm(request.POST)
    if not form.is_valid():
        return render(request, "fulfillment/scan.html", {**context, "form": form}, status=400)
    order_id = form.cleaned_data["order_id"]
    try:
        detail = selectors.order_detail(company_id=request.company_id, order_id=order_id)
    except fr.NotFound:
        form.add_error("order_id", f"Order {order_id} is not one of this shop's orders.")
        return render(request, "fulfillment/scan.html", {**context, "form": form}, status=404)
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        form.add_error(None, str(exc))
        return render(request, "fulfillment/scan.html", {**context, "form": form}, status=503)
    row = detail.row
    tracking = (form.cleaned_data.get("tracking_number") or "").strip()
    if "tracking_number" not in request.POST:
        # Step one: the order was scanned; show it and wait for its tracking number.
        return render(
            request, "fulfillment/scan.html", {**context, "form": form, "row": row, "step": "tracking"}
        )
    try:
        update = services.mark_shipped(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            order_id=order_id,
            tracking_number=tracking,
            source=Source.SCAN,
            idempotency_key=form.cleaned_data.get("form_key") or None,
            order=detail.row.order,
        )
    except AppError as exc:
        form.add_error("tracking_number", exc.message)
        return render(
            request, "fulfillment/scan.html",
            {**context, "form": form, "row": row, "step": "tracking"}, status=400,
        )  # fmt: skip
    return render(request, "fulfillment/scan.html", {
        **context, "form": ScanForm(), "done": update, "done_row": row,
    })  # fmt: skip


# --- Selections: bulk ship, slips, pick list --------------------------------------------------


@require_POST
@embedded_view
def bulk_ship(request):
    form = SelectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("fulfillment:open")
    rows = selectors.selected_rows(company_id=request.company_id, order_ids=form.selected)
    form_key = form.cleaned_data.get("form_key") or new_form_key()
    if "confirm" not in request.POST:
        lines = [(row, "", "") for row in rows]
        return render(request, "fulfillment/bulk.html", {"lines": lines, "form_key": form_key})
    # Only orders of this shop: a forged id in the form is dropped, never queued.
    wanted = {row.id: form.tracking.get(row.id, "") for row in rows}
    try:
        result = services.mark_many_shipped(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            orders=wanted,
            idempotency_key=form_key,
        )
    except AppError as exc:
        lines = [
            (row, wanted[row.id], " ".join(exc.field_errors.get(f"tracking_{row.id}", []))) for row in rows
        ]
        return render(request, "fulfillment/bulk.html", {
            "lines": lines, "form_key": form_key, "error": exc.message,
        }, status=400)  # fmt: skip
    queued, already = len(result.queued), len(result.already)
    if queued:
        messages.success(
            request, f"{queued} order{'s' if queued != 1 else ''} marked shipped. "
            "They are being sent to FlickRocket."
        )  # fmt: skip
    if already:
        messages.info(
            request, f"{already} order{'s' if already != 1 else ''} of this selection "
            f"{'were' if already != 1 else 'was'} already marked shipped from this form."
        )  # fmt: skip
    return redirect("fulfillment:open")


def _printable_selection(request, template: str, extra=lambda rows: {}):
    """Packing slips and pick lists print the same selection, each in its own layout."""
    form = SelectionForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("fulfillment:open")
    rows = selectors.selected_rows(company_id=request.company_id, order_ids=form.selected)
    return render(request, template, {"rows": rows, **extra(rows)})


@require_http_methods(["GET", "POST"])
@embedded_view
def packing_slips(request):
    return _printable_selection(request, "fulfillment/slips.html")


@require_http_methods(["GET", "POST"])
@embedded_view
def pick_list(request):
    return _printable_selection(
        request, "fulfillment/picklist.html", lambda rows: {"items": selectors.pick_items(rows)}
    )


# --- CSV import -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@embedded_view
def csv_upload(request):
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "imports": selectors.recent_imports(company_id=request.company_id)}
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "fulfillment/import.html", context, status=200 if request.method == "GET" else 400
        )
    upload = form.cleaned_data["file"]
    try:
        orders = selectors.order_index(company_id=request.company_id)
        job = services.preview_tracking_csv(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            filename=upload.name,
            data=upload.read(services.CSV_MAX_BYTES + 1),
            ship=form.cleaned_data["ship"],
            orders=orders,
        )
    except AppError as exc:
        form.add_error("file" if "file" in exc.field_errors else None, exc.message)
        return render(request, "fulfillment/import.html", context, status=400)
    return redirect("fulfillment:import", import_id=job.pk)


def _import_or_404(request, import_id):
    job = selectors.csv_import(company_id=request.company_id, import_id=import_id)
    if job is None:
        raise Http404("No such import")
    return job


@require_GET
@embedded_view
def csv_import(request, import_id: int):
    job = _import_or_404(request, import_id)
    show = request.GET.get("show", "")
    page, counts = selectors.csv_import_rows(job=job, show=show, page=request.GET.get("page"))
    return render(request, "fulfillment/import_detail.html", {
        "job": job, "page": page, "counts": counts, "show": show,
        "progress": selectors.csv_progress(job=job),
    })  # fmt: skip


@require_GET
@embedded_view
def csv_import_progress(request, import_id: int):
    job = _import_or_404(request, import_id)
    response = render(request, "fulfillment/_import_progress.html", {
        "job": job, "progress": selectors.csv_progress(job=job),
    })  # fmt: skip
    if _is_htmx(request) and job.state != CsvImport.State.APPLYING:
        # The polling ends here; reload once so each row's "Sent" column matches the bar.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@embedded_view
def csv_import_confirm(request, import_id: int):
    _import_or_404(request, import_id)
    try:
        services.confirm_tracking_csv(
            company_id=request.company_id, user_id=request.flickrocket_user_id, import_id=import_id
        )
    except AppError as exc:
        messages.error(request, exc.message)
    return redirect("fulfillment:import", import_id=import_id)


@require_POST
@embedded_view
def csv_import_cancel(request, import_id: int):
    services.cancel_tracking_csv(company_id=request.company_id, import_id=import_id)
    messages.info(request, "Import cancelled; nothing was sent.")
    return redirect("fulfillment:import-upload")


@require_GET
@embedded_view
def csv_import_result(request, import_id: int):
    job = _import_or_404(request, import_id)
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(["line", "order_id", "tracking_number", "result", "detail"])
        for row, result, detail in selectors.csv_import_results(job=job):
            yield writer.writerow(
                csv_safe_row([row.line, row.raw_order_id, row.tracking_number, result, detail])
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-result.csv"'
    return response


# --- Activity and the outbox ------------------------------------------------------------------


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
    return render(
        request, "fulfillment/activity.html", {"form": form, "page": page, "sources": Source.choices}
    )


@require_GET
@embedded_view
def updates(request):
    which = "all" if request.GET.get("show") == "all" else "attention"
    page = Paginator(selectors.outbox_rows(company_id=request.company_id, which=which), 100).get_page(
        request.GET.get("page")
    )
    services.kick_if_idle(company_id=request.company_id)
    return render(request, "fulfillment/updates.html", {
        "page": page, "which": which, "stuck_after": selectors.stuck_after(),
    })  # fmt: skip


@require_GET
@embedded_view
def nav_status(request):
    """The navigation's pending/stuck badges, refreshed by htmx while work is in flight."""
    return render(request, "fulfillment/_nav_status.html")


urlpatterns = [
    path("fulfillments/", open_fulfillments, name="open"),
    path("fulfillments/shipped/", shipped_fulfillments, name="shipped"),
    path("fulfillments/all/", all_fulfillments, name="all"),
    path("fulfillments/version", list_version, name="list-version"),
    path("fulfillments/<int:order_id>/", order_detail, name="detail"),
    path("fulfillments/<int:order_id>/ship", ship_order, name="ship"),
    path("fulfillments/scan/", scan, name="scan"),
    path("fulfillments/bulk/ship", bulk_ship, name="bulk-ship"),
    path("fulfillments/slips/", packing_slips, name="slips"),
    path("fulfillments/picklist/", pick_list, name="picklist"),
    path("fulfillments/import/", csv_upload, name="import-upload"),
    path("fulfillments/import/<int:import_id>/", csv_import, name="import"),
    path("fulfillments/import/<int:import_id>/progress", csv_import_progress, name="import-progress"),
    path("fulfillments/import/<int:import_id>/confirm", csv_import_confirm, name="import-confirm"),
    path("fulfillments/import/<int:import_id>/cancel", csv_import_cancel, name="import-cancel"),
    path("fulfillments/import/<int:import_id>/result.csv", csv_import_result, name="import-result"),
    path("fulfillments/activity/", activity, name="activity"),
    path("fulfillments/updates/", updates, name="updates"),
    path("fulfillments/updates/<int:update_id>/retry", retry_update, name="retry"),
    path("fulfillments/nav-status", nav_status, name="nav-status"),
]
