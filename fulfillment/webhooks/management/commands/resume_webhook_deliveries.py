from django.core.management.base import BaseCommand

from fulfillment.webhooks.processing import resume_deliveries


class Command(BaseCommand):
    help = (
        "Queue every stored webhook delivery that has not been acted on yet "
        "(run before starting the worker, so nothing stored before a crash is lost)."
    )

    def handle(self, *args, **options):
        count = resume_deliveries()
        self.stdout.write(f"Queued {count} webhook deliveries not yet acted on.")
