"""Applying a confirmed import runs here, never in the request that confirmed it."""

from django.tasks import task

from . import apply


@task(queue_name="default")
def apply_tracking_csv(import_id: int) -> int:
    return apply.apply_tracking_csv(import_id=import_id)
