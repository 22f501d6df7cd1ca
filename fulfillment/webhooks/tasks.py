from django.tasks import task

from fulfillment.services import webhooks


@task
def process_webhook_delivery(delivery_id: int) -> str | None:
    outcome = webhooks.process_delivery(delivery_id=delivery_id)
    webhooks.sweep_orphans()
    return outcome
