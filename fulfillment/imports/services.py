"""The CSV import: preview a file against the shop's orders, confirm it, cancel it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

import flickrocket as fr
from frapp.errors import AppError
from fulfillment.orders.tracking import normalize_tracking, visible_text
from fulfillment.orders.tracking_checks import tracking_warnings
from fulfillment.outbox.checks import ship_at_the_bench_message
from fulfillment.outbox.models import PendingUpdate
from fulfillment.packing.selectors import verifies_items

from .models import CsvImport, CsvImportRow
from .parsing import CSV_MAX_BYTES, CSV_MAX_ROWS, _csv_rows, _is_order_id, _swallowed_lines

SHIPPED = fr.Fulfillment.SHIPPED
State = PendingUpdate.State


def preview_tracking_csv(
    *,
    company_id: int,
    user_id: str,
    filename: str,
    data: bytes,
    ship: bool,
    orders: dict[int, fr.Fulfillment],
) -> CsvImport:
    """Check every row against the shop's orders and keep the verdicts; nothing is sent yet.

    ``orders`` is every order of the shop, by id, as the owner sees them now.
    """
    if len(data) > CSV_MAX_BYTES:
        raise AppError(
            gettext("The file is larger than 2 MB."), field_errors={"file": [gettext("Too large.")]}
        )
    rows = _csv_rows(data)
    if rows and rows[0].cells and not _is_order_id(rows[0].cells[0].strip().lstrip("#")):
        if not _swallowed_lines(rows[0]):
            rows = rows[1:]  # a header line
    if not rows:
        raise AppError(gettext("The file has no rows."), field_errors={"file": [gettext("No rows.")]})
    if len(rows) > CSV_MAX_ROWS:
        raise AppError(
            gettext("The file has %(rows)s rows; at most %(limit)s at a time.")
            % {"rows": len(rows), "limit": CSV_MAX_ROWS},
            field_errors={"file": [gettext("Too many rows.")]},
        )
    pending = _pending_ships(company_id)
    verifying = ship and verifies_items(company_id=company_id)
    seen: dict[int, int] = {}
    built = []
    for record in rows:
        line, cells = record.line, record.cells
        raw_id = cells[0].strip() if cells else ""
        raw_tracking = ",".join(cells[1:]).strip() if len(cells) > 1 else ""
        # Kept for the preview, so what cannot be stored or seen (NUL, zero-width) is spelled out.
        row = CsvImportRow(
            line=line,
            raw_order_id=visible_text(raw_id)[:100],
            tracking_number=visible_text(raw_tracking)[:200],
        )
        order_id = int(raw_id.lstrip("#")) if _is_order_id(raw_id.lstrip("#")) else None
        row.order_id = order_id if order_id is not None and order_id < 2**62 else None
        swallowed = _swallowed_lines(record)
        if swallowed:
            row.verdict, row.reason = CsvImportRow.Verdict.INVALID, swallowed[:300]
        elif row.order_id is None:
            row.verdict, row.reason = CsvImportRow.Verdict.INVALID, gettext("The order id is not a number.")
        elif row.order_id in seen:
            row.verdict = CsvImportRow.Verdict.DUPLICATE
            row.reason = gettext("Order %(order)s is already on line %(line)s.") % {
                "order": row.order_id,
                "line": seen[row.order_id],
            }
        elif row.order_id not in orders:
            row.verdict, row.reason = CsvImportRow.Verdict.UNKNOWN, gettext("No such order in this shop.")
        elif ship and (orders[row.order_id].is_shipped or row.order_id in pending):
            row.verdict, row.reason = CsvImportRow.Verdict.SHIPPED, gettext("Already shipped.")
        elif verifying:
            # With pack verification on, an open order ships only from the packing bench.
            row.verdict = CsvImportRow.Verdict.INVALID
            row.reason = ship_at_the_bench_message(row.order_id)[:300]
        else:
            try:
                row.tracking_number = normalize_tracking(raw_tracking)
            except AppError as exc:
                row.verdict, row.reason = CsvImportRow.Verdict.INVALID, exc.message
            else:
                if not row.tracking_number:
                    row.verdict = CsvImportRow.Verdict.INVALID
                    row.reason = gettext("The tracking number is missing.")
                else:
                    row.verdict = CsvImportRow.Verdict.READY
                    # Warn, never block: the row stays ready; the owner sees why it looks odd.
                    row.warnings = "\n".join(tracking_warnings(orders[row.order_id], row.tracking_number))
        if row.order_id is not None and row.order_id not in seen:
            seen[row.order_id] = line
        built.append(row)
    with transaction.atomic():
        job = CsvImport.objects.create(
            company_id=company_id,
            user_id=user_id or "",
            filename=visible_text(filename)[:255],
            ship=ship,
            total_rows=len(built),
            ready_rows=sum(1 for r in built if r.verdict == CsvImportRow.Verdict.READY),
        )
        for row in built:
            row.csv_import = job
        CsvImportRow.objects.bulk_create(built, batch_size=500)
    return job


def _pending_ships(company_id: int) -> set[int]:
    return set(
        PendingUpdate.objects.filter(
            company_id=company_id, status=SHIPPED, state__in=[*PendingUpdate.ACTIVE, State.ACCEPTED]
        ).values_list("order_id", flat=True)
    )


def confirm_tracking_csv(*, company_id: int, user_id: str, import_id: int) -> CsvImport:
    """Start applying a previewed import (once, however often it is confirmed).

    The rows are queued by a task, not in this request: thousands of changes in one web
    transaction would hold the database's write lock and be rolled back whole by a timeout.
    The changes are attributed to whoever confirmed.
    """
    from .tasks import apply_tracking_csv as apply_task

    with transaction.atomic():
        job = CsvImport.objects.select_for_update().filter(company_id=company_id, pk=import_id).first()
        if job is None:
            raise AppError(gettext("This import does not exist."))
        if job.state != CsvImport.State.PREVIEW:
            return job
        job.state = CsvImport.State.APPLYING
        job.confirmed_at = timezone.now()
        job.user_id = user_id or ""
        job.save(update_fields=["state", "confirmed_at", "user_id"])
        transaction.on_commit(lambda: apply_task.enqueue(job.pk))
    return job


def cancel_tracking_csv(*, company_id: int, import_id: int) -> CsvImport:
    """Cancel a previewed import of this company; one already confirmed goes on."""
    job = CsvImport.objects.filter(company_id=company_id, pk=import_id).first()
    if job is None:
        raise AppError(gettext("This import does not exist."))
    if CsvImport.objects.filter(pk=job.pk, state=CsvImport.State.PREVIEW).update(
        state=CsvImport.State.CANCELLED
    ):
        job.state = CsvImport.State.CANCELLED
    else:
        job.refresh_from_db(fields=["state"])
    return job
