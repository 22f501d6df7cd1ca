"""Reads for the import pages: one import, its rows by verdict, its progress, the result file."""

from __future__ import annotations

from django.core.paginator import Paginator

from fulfillment.outbox.models import PendingUpdate

from .models import CsvImport, CsvImportRow

State = PendingUpdate.State


def csv_import(*, company_id: int, import_id: int) -> CsvImport | None:
    return CsvImport.objects.filter(company_id=company_id, pk=import_id).first()


def csv_import_rows(*, job: CsvImport, show: str, page: str | None, per_page: int = 200):
    """One page of an import's rows (one verdict only, or only those with carrier warnings), the
    count per verdict and ``counts["warnings"]``, the rows with a warning."""
    rows = job.rows.all()
    if show in CsvImportRow.Verdict.values:
        rows = rows.filter(verdict=show)
    elif show == "warnings":
        rows = rows.exclude(warnings="")
    counts = dict.fromkeys([*CsvImportRow.Verdict.values, "warnings"], 0)
    for verdict in job.rows.values_list("verdict", flat=True):
        counts[verdict] += 1
    counts["warnings"] = job.rows.exclude(warnings="").count()
    return Paginator(rows, per_page).get_page(page), counts


def csv_import_results(*, job: CsvImport):
    """Each row of an import with what became of it, streamed for the result download."""
    for row in job.rows.select_related("update").iterator(chunk_size=500):
        result, detail = row.get_verdict_display(), row.reason
        if row.update is not None:
            result, detail = row.update.get_state_display(), row.update.last_error
        yield row, result, detail


def csv_progress(*, job: CsvImport) -> dict:
    counts = {state: 0 for state in State.values}
    for state in job.updates.values_list("state", flat=True):
        counts[state] += 1
    total = job.ready_rows
    finished = counts[State.ACCEPTED] + counts[State.REFUSED] + counts[State.SUPERSEDED]
    return {
        "total": total,
        "accepted": counts[State.ACCEPTED],
        "refused": counts[State.REFUSED],
        "pending": counts[State.QUEUED] + counts[State.SENDING],
        "superseded": counts[State.SUPERSEDED],
        "finished": finished,
        "percent": int(finished * 100 / total) if total else 100,
        "retrying": job.updates.filter(state=State.QUEUED, attempts__gt=0).count(),
    }


def recent_imports(*, company_id: int):
    return CsvImport.objects.filter(company_id=company_id).order_by("-created_at")[:10]
