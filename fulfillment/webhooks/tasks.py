from django.tasks import task

from . import processing


@task
def process_webhook_delivery(delivery_id: int) -> str | None:
    outcome = processing.process_delivery(delivery_id=delivery_id)
    processing.sweep_orphans()
    return outcome
