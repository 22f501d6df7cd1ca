from django.tasks import task

from . import health, processing


@task
def process_webhook_delivery(delivery_id: int) -> str | None:
    outcome = processing.process_delivery(delivery_id=delivery_id)
    processing.sweep_orphans()
    return outcome


@task
def drain_webhook_deliveries() -> int:
    """Queued by the receiver when no drain is waiting; acts on every stored delivery."""
    return processing.drain_deliveries()


@task
def ensure_webhooks(company_id: int) -> str | None:
    """After an install or a launch: subscribe or switch on the app's own hooks."""
    checked = health.check_hooks(company_id=company_id)
    return checked.status if checked else None
