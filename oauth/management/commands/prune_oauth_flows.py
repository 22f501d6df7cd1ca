from django.core.management.base import BaseCommand

from oauth.flows import prune_oauth


class Command(BaseCommand):
    help = (
        "Delete install flows older than OAUTH_STATE_MAX_AGE and pending grants that waited "
        "longer than OAUTH_PENDING_GRANT_MAX_AGE for their shop's confirmation. Run daily."
    )

    def handle(self, *args, **options):
        flows, grants = prune_oauth()
        self.stdout.write(f"Deleted {flows} expired install flow(s) and {grants} expired pending grant(s).")
