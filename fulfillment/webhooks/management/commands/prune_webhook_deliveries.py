from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.webhooks.processing import prune_deliveries


class Command(BaseCommand):
    help = "Delete webhook deliveries older than WEBHOOK_RETENTION_DAYS (unprocessed ones stay)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days instead (default {settings.WEBHOOK_RETENTION_DAYS}).",
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be zero or more.")
        deleted = prune_deliveries(older_than_days=days)
        self.stdout.write(f"Deleted {deleted} old webhook deliveries.")
