from django.utils import timezone

from .models import Installation, PendingGrant


def installation_for(*, company_id: int) -> Installation | None:
    return Installation.objects.filter(company_id=company_id).first()


def pending_grants_for(*, company_id: int, from_launch_only: bool = False) -> list[PendingGrant]:
    """Grants waiting for this shop's confirmation, newest first.

    Only grants FlickRocket accepted and whose account is known count: a code kept while
    FlickRocket did not answer is neither shown nor confirmable, and expired ones never count.
    """
    live = (
        PendingGrant.objects.filter(company_id=company_id, expires_at__gt=timezone.now())
        .exclude(exchanged_at=None)
        .exclude(user_name="")
    )
    if from_launch_only:
        live = live.filter(from_launch=True)
    return list(live.order_by("-created_at", "-pk"))
