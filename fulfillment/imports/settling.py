"""Closing an import once its last row has left the outbox.

Its own module because the outbox calls it whenever it ends a row, and the import services
call the outbox: neither imports the other through it.
"""

from fulfillment.outbox.models import PendingUpdate

from .models import CsvImport, CsvImportRow


def _import_row_settled(import_id: int | None) -> None:
    """One of an import's rows left the outbox: the import is done when all are queued and
    none is still on its way. Called by whoever ends a row, so reading a page never writes."""
    if import_id is None:
        return
    unqueued = CsvImportRow.objects.filter(
        csv_import_id=import_id, verdict=CsvImportRow.Verdict.READY, update__isnull=True
    )
    active = PendingUpdate.objects.filter(csv_import_id=import_id, state__in=PendingUpdate.ACTIVE)
    if not unqueued.exists() and not active.exists():
        CsvImport.objects.filter(pk=import_id, state=CsvImport.State.APPLYING).update(
            state=CsvImport.State.DONE
        )
