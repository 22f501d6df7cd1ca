from django.core.management.base import BaseCommand
from django.db import transaction

from oauth.crypto import rotate
from oauth.models import Installation, PendingGrant


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored token with the newest key in TOKEN_ENCRYPTION_KEYS. "
        "Run after putting a new key first; remove the old key once this has finished."
    )

    def handle(self, *args, **options):
        count = 0
        for pk in Installation.objects.values_list("pk", flat=True):
            with transaction.atomic():
                installation = Installation.objects.select_for_update().get(pk=pk)
                installation.refresh_token_encrypted = rotate(installation.refresh_token_encrypted)
                installation.access_token_encrypted = rotate(installation.access_token_encrypted)
                installation.save(update_fields=["refresh_token_encrypted", "access_token_encrypted"])
            count += 1
        pending = 0
        for pk in PendingGrant.objects.values_list("pk", flat=True):
            with transaction.atomic():
                grant = PendingGrant.objects.select_for_update().filter(pk=pk).first()
                if grant is None:  # confirmed or pruned meanwhile
                    continue
                grant.refresh_token_encrypted = rotate(grant.refresh_token_encrypted)
                grant.access_token_encrypted = rotate(grant.access_token_encrypted)
                grant.save(update_fields=["refresh_token_encrypted", "access_token_encrypted"])
            pending += 1
        self.stdout.write(
            f"Re-encrypted the tokens of {count} installation(s) and {pending} pending grant(s)."
        )
