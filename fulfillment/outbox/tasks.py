"""Background sending of the outbox. Thin: the sender does the work and is safe to run twice."""

from django.tasks import task

from .sender import send_pending_updates


@task(queue_name="default")
def send_company_updates(company_id: int) -> int:
    return send_pending_updates(company_id=company_id)
