"""Applying a confirmed import in the worker: its ready rows become outbox changes."""

from __future__ import annotations

from django.db import transaction

from frapp.errors import AppError
from fulfillment.orders.selectors import cached_order_index
from fulfillment.outbox.models import Source
from fulfillment.outbox.scheduling import schedule_sending
from fulfillment.outbox.services import change_order

from .models import CsvImport, CsvImportRow
from .settling import _import_row_settled

CSV_APPLY_CHUNK = 200


def apply_tracking_csv(*, import_id: int) -> int:
    """Queue a confirmed import's ready rows, a chunk per transaction; returns how many.

    Safe to run twice or after a crash halfway: a row already linked to its change is skipped,
    and each row's idempotency key yields the same change again.
    """
    job = CsvImport.objects.filter(pk=import_id, state=CsvImport.State.APPLYING).first()
    if job is None:
        return 0
    index = cached_order_index(job.company_id)
    queued = 0
    while True:
        with transaction.atomic():
            chunk = list(
                job.rows.select_for_update()
                .filter(verdict=CsvImportRow.Verdict.READY, update__isnull=True)
                .order_by("line")[:CSV_APPLY_CHUNK]
            )
            if not chunk:
                break
            for row in chunk:
                try:
                    row.update = change_order(
                        company_id=job.company_id,
                        user_id=job.user_id,
                        order_id=row.order_id,
                        tracking_number=row.tracking_number,
                        ship=True if job.ship else None,
                        source=Source.CSV,
                        idempotency_key=f"csv:{job.pk}:{row.line}",
                        csv_import=job,
                        verify_order=False,
                        schedule=False,
                        index=index,
                    )
                except AppError as exc:
                    # Refused since the preview (pack verification switched on): this row only.
                    row.verdict, row.reason = CsvImportRow.Verdict.INVALID, exc.message[:300]
                    row.save(update_fields=["verdict", "reason"])
                    continue
                row.save(update_fields=["update"])
            schedule_sending(company_id=job.company_id)
        queued += len(chunk)
    _import_row_settled(job.pk)
    return queued
