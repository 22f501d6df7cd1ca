from django.core.management.base import BaseCommand

from fulfillment.outbox.scheduling import resume_due_work


class Command(BaseCommand):
    help = (
        "Schedule sending for every company with pending fulfillment updates, including rows a "
        "stopped worker left half-sent. Run before starting db_worker (and from cron if you like)."
    )

    def handle(self, *args, **options):
        companies = resume_due_work()
        self.stdout.write(f"Scheduled sending for {companies} compan{'y' if companies == 1 else 'ies'}.")
