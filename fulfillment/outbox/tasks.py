"""Background sending of the outbox. Thin: the service does the work and is safe to run twice."""

from django.tasks import task

from ..services import fulfillments as services


@task(queue_name="default")
def send_company_updates(company_id: int) -> int:
    return services.send_pending_updates(company_id=company_id)


@task(queue_name="default")
def apply_tracking_csv(import_id: int) -> int:
    return services.apply_tracking_csv(import_id=import_id)
