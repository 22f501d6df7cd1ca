from django.utils import timezone

from .models import Installation, PendingGrant


def installation_for(*, company_id: int) -> Installation | None:
    return Installation.objects.filter(company_id=company_id).first()


def pending_grants_for(*, company_id: int) -> list[PendingGrant]:
    """Grants waiting for this shop's confirmation, newest first (expired ones never count)."""
    live = PendingGrant.objects.filter(company_id=company_id, expires_at__gt=timezone.now())
    return list(live.order_by("-created_at"))
