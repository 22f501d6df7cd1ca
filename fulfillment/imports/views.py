"""The CSV import pages: upload and preview, confirm or cancel, progress, the result file."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frapp.errors import AppError
from frapp.spreadsheets import csv_response
from fulfillment.orders.services import order_index
from oauth.decorators import embedded_view

from . import selectors, services
from .forms import CsvUploadForm
from .models import CsvImport
from .parsing import CSV_MAX_BYTES


@require_http_methods(["GET", "POST"])
@embedded_view(scope="orders")
def csv_upload(request):
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "imports": selectors.recent_imports(company_id=request.company_id)}
    if request.method == "GET" or not form.is_valid():
        return render(request, "imports/upload.html", context, status=200 if request.method == "GET" else 400)
    upload = form.cleaned_data["file"]
    try:
        orders = order_index(company_id=request.company_id)
        job = services.preview_tracking_csv(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id,
            filename=upload.name,
            data=upload.read(CSV_MAX_BYTES + 1),
            ship=form.cleaned_data["ship"],
            orders=orders,
        )
    except AppError as exc:
        form.add_error("file" if "file" in exc.field_errors else None, exc.message)
        return render(request, "imports/upload.html", context, status=400)
    return redirect("imports:detail", import_id=job.pk)


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
    return render(
        request,
        "imports/detail.html",
        {
            "job": job,
            "page": page,
            "counts": counts,
            "show": show,
            "progress": selectors.csv_progress(job=job),
        },
    )


@require_GET
@embedded_view
def csv_import_progress(request, import_id: int):
    job = _import_or_404(request, import_id)
    response = render(
        request,
        "imports/detail.html#progress",
        {
            "job": job,
            "progress": selectors.csv_progress(job=job),
        },
    )
    if bool(request.htmx) and job.state != CsvImport.State.APPLYING:
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
    return redirect("imports:detail", import_id=import_id)


@require_POST
@embedded_view
def csv_import_cancel(request, import_id: int):
    _import_or_404(request, import_id)  # another shop's import is not found, like any foreign id
    try:
        job = services.cancel_tracking_csv(company_id=request.company_id, import_id=import_id)
    except AppError:
        raise Http404("No such import") from None
    if job.state != CsvImport.State.CANCELLED:
        messages.error(request, _("This import was already confirmed; it cannot be cancelled any more."))
        return redirect("imports:detail", import_id=import_id)
    messages.info(request, _("Import cancelled; nothing was sent."))
    return redirect("imports:upload")


@require_GET
@embedded_view
def csv_import_result(request, import_id: int):
    job = _import_or_404(request, import_id)
    rows = (
        [row.line, row.raw_order_id, row.tracking_number, result, detail]
        for row, result, detail in selectors.csv_import_results(job=job)
    )
    header = [
        pgettext("csv column", "line"),
        pgettext("csv column", "order_id"),
        pgettext("csv column", "tracking_number"),
        pgettext("csv column", "result"),
        pgettext("csv column", "detail"),
    ]
    return csv_response(f"import-{job.pk}-result.csv", header, rows)
