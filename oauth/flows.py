"""Install flows: starting one (from a verified launch or the App Store), the per-minute cap
on starting them (OAUTH_FLOWS_PER_MINUTE in total, OAUTH_FLOWS_PER_MINUTE_PER_IP per address,
counted in the database so every web process shares it), completing one at the callback, and
pruning old flows (docs/flickrocket.md, "OAuth install").

A completed flow's code is handed to ``oauth.grants``, which binds it to its shop.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

import flickrocket as fr
from frapp.errors import AppError

from . import clients
from .grants import InstallRefused, _hold, _settle
from .models import Installation, OAuthFlow, OAuthFlowWindow, PendingGrant

logger = logging.getLogger(__name__)


# docs/flickrocket.md, OAuth install: the documented scopes plus those the platform's own client
# asks for.
KNOWN_SCOPES = (
    "products",
    "customers",
    "orders",
    "themes",
    "files",
    "companies",
    "statistics",
    "webhooks",
    "player",
    "users",
)

# Flow windows older than this many minutes are deleted as new flows start.
FLOW_WINDOWS_KEPT = 5


class TooManyFlows(AppError):
    """More install flows started this minute than OAUTH_FLOWS_PER_MINUTE allows."""


class _MinuteFull(Exception):
    pass


def known_scopes() -> set[str]:
    return set(settings.FLICKROCKET_SCOPES) | set(KNOWN_SCOPES)


def _take_flow_slot(key: str, limit: int, minute: int) -> bool:
    """One of this minute's ``limit`` flows for ``key``, shared by every web process.

    The conditional UPDATE is atomic on SQLite and PostgreSQL alike: two processes can never
    both take the last slot.
    """
    if limit < 1:
        return False
    taken = OAuthFlowWindow.objects.filter(minute=minute, key=key, started__lt=limit)
    if taken.update(started=F("started") + 1):
        return True
    if OAuthFlowWindow.objects.filter(minute=minute, key=key).exists():
        return False  # this minute is full for this key
    try:
        with transaction.atomic():
            OAuthFlowWindow.objects.create(minute=minute, key=key, started=1)
    except IntegrityError:  # another process opened the minute first: take a slot in it
        return bool(taken.update(started=F("started") + 1))
    return True


def _current_minute() -> int:
    return int(time.time() // 60)


def _take_flow_slots(client_ip: str) -> None:
    """Count one flow against the minute's total and the client address's share, or refuse."""
    minute = _current_minute()
    per_ip = settings.OAUTH_FLOWS_PER_MINUTE_PER_IP
    total = settings.OAUTH_FLOWS_PER_MINUTE
    # A full minute refuses before anything is written, so many addresses cannot pile up rows.
    allowed = not OAuthFlowWindow.objects.filter(minute=minute, key="*", started__gte=total).exists()
    if allowed:
        try:
            with transaction.atomic():  # both slots, or neither
                if not _take_flow_slot(f"ip:{client_ip or '-'}"[:80], per_ip, minute):
                    raise _MinuteFull()
                if not _take_flow_slot("*", total, minute):
                    raise _MinuteFull()
        except _MinuteFull:
            allowed = False
    if not allowed:
        logger.warning("install: flow refused, more than the flows allowed a minute were started")
        raise TooManyFlows(
            _("Too many install attempts were started in the last minute. Please try again in a minute.")
        )
    OAuthFlowWindow.objects.filter(minute__lt=minute - FLOW_WINDOWS_KEPT).delete()


def start_install(
    *,
    company_id: int | None,
    user_id: str,
    scopes: list[str],
    company_hint: int | None = None,
    client_ip: str = "",
) -> OAuthFlow:
    """A new flow, if this minute still allows one (``TooManyFlows`` otherwise)."""
    _take_flow_slots(client_ip)
    scopes = [s.strip() for s in scopes if s.strip()] or list(settings.FLICKROCKET_SCOPES)
    return OAuthFlow.objects.create(
        state=secrets.token_urlsafe(32),
        company_id=company_id,
        company_hint=company_hint,
        user_id=user_id,
        scopes=",".join(scopes),
    )


def start_launch_install(
    *, company_id: int, user_id: str, extra_scopes: list[str], client_ip: str = ""
) -> OAuthFlow:
    """(Re)install from a verified launch, bound to its shop and user.

    It asks for the defaults, what the shop granted so far and ``extra_scopes`` (a page that
    lacks a permission asks for it), so reconnecting never takes a permission away.
    """
    known = known_scopes()
    installation = Installation.objects.filter(company_id=company_id).first()
    current = installation.scope_list if installation else []
    wanted = [*settings.FLICKROCKET_SCOPES, *current, *extra_scopes]
    scopes = list(dict.fromkeys(s.strip() for s in wanted if s.strip() in known))
    return start_install(company_id=company_id, user_id=user_id, scopes=scopes, client_ip=client_ip)


def start_app_store_install(*, scopes: list[str], company_hint: int | None, client_ip: str = "") -> OAuthFlow:
    """An App Store start: nothing on it is signed, so it belongs to no shop (docs/flickrocket.md,
    OAuth install)."""
    return start_install(
        company_id=None, user_id="", scopes=scopes, company_hint=company_hint, client_ip=client_ip
    )


def install_redirect_url(*, flow: OAuthFlow) -> str:
    return clients.authorize_url(scopes=flow.scopes.split(","), state=flow.state)


def complete_install(
    *,
    bound_state: str | None,
    echoed_state: str | None,
    company_id: str | None,
    code: str | None,
    error: str | None,
) -> Installation | PendingGrant:
    """Accept a callback only for a flow this browser started, for the same company, once.

    ``bound_state`` comes from the first-party cookie set when the flow started; FlickRocket
    need not echo ``state``, but when it does the two must agree. Whatever the flow, the code
    is held as a pending grant first and then checked (``_settle``): neither an App Store
    start nor a launch-bound one makes an installation of a code nothing has checked.
    """
    if not bound_state:
        raise InstallRefused(
            _("This sign-in link was not started from this browser, or it is too old."), kind="forged"
        )
    if echoed_state and not secrets.compare_digest(echoed_state, bound_state):
        raise InstallRefused(_("This sign-in answer belongs to another install attempt."), kind="forged")
    try:
        company = int(company_id or "")
    except ValueError:
        company = None

    with transaction.atomic():
        flow = OAuthFlow.objects.select_for_update().filter(state=bound_state).first()
        if flow is None:
            raise InstallRefused(_("This install attempt is unknown."), kind="forged")
        if flow.completed_at is not None:
            raise InstallRefused(_("This install attempt was already used."), kind="replayed")
        if flow.created_at < timezone.now() - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE):
            raise InstallRefused(_("This install attempt has expired."), kind="expired")
        flow.completed_at = timezone.now()
        flow.save(update_fields=["completed_at"])
        if error:
            return_kind = "denied" if error == "access_denied" else "error"
            refusal = InstallRefused(_("The permission was not granted in FlickRocket."), kind=return_kind)
        elif company is None or not code:
            refusal = InstallRefused(_("FlickRocket's answer is incomplete."), kind="invalid")
        elif not 0 < company < 2**63:
            refusal = InstallRefused(_("FlickRocket's answer is incomplete."), kind="invalid")
        elif flow.company_id is not None and flow.company_id != company:
            refusal = InstallRefused(
                _("This answer is for a different shop than the one that started the install."),
                kind="cross_company",
            )
        else:
            refusal = None
    if refusal is not None:
        raise refusal

    from_launch = flow.company_id is not None
    # The callback's code *is* a refresh token: store it before trying to use it, so a lost
    # answer from the exchange can be retried with it later.
    pending = _hold(
        company=company, code=code, scopes=flow.scopes, from_launch=from_launch, user_id=flow.user_id
    )
    try:
        return _settle(pending_id=pending.pk)
    except InstallRefused:
        raise
    except fr.NeedsReinstall as exc:
        raise InstallRefused(
            "FlickRocket did not accept this install code. Please start again.", kind="invalid"
        ) from exc
    except fr.FlickRocketError as exc:
        raise InstallRefused(
            _(
                "FlickRocket did not answer. Your permission is saved; open the app from your "
                "FlickRocket admin in a moment to finish connecting."
            ),
            kind="unavailable",
        ) from exc
    except AppError as exc:  # confirmed, discarded or installed meanwhile
        raise InstallRefused(exc.message, kind="replayed") from exc


def prune_oauth(*, now=None) -> tuple[int, int]:
    """Forget install flows past OAUTH_STATE_MAX_AGE and pending grants past their expiry."""
    now = now or timezone.now()
    flows, _detail = OAuthFlow.objects.filter(
        created_at__lt=now - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE)
    ).delete()
    grants, _detail = PendingGrant.objects.filter(expires_at__lte=now).delete()
    OAuthFlowWindow.objects.filter(minute__lt=int(now.timestamp() // 60) - FLOW_WINDOWS_KEPT).delete()
    return flows, grants
