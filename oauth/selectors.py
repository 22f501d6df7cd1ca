from django.utils import timezone

from frapp.precompiled import PrecompiledSelect

from .models import Installation, PendingGrant

# Read before every embedded page (oauth.decorators.embedded_view): compiled once, not per view.
_INSTALLATION = PrecompiledSelect(Installation, where=("company_id",))


def installation_for(*, company_id: int) -> Installation | None:
    # company_id is unique: at most one row.
    return _INSTALLATION.instance(company_id)


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
