"""Launch sessions, installs and the token store.

The refresh token is the shop: every exchange consumes it and returns the next one, so the
next one is committed before anything uses the access token that came with it, and only one
exchange per company runs at a time (a row lock on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers the same way).
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

import flickrocket as fr
from frapp.errors import AppError
from frapp.middleware import SESSION_LANGUAGE_KEY

from . import clients, signals
from .crypto import decrypt, encrypt
from .models import Installation, OAuthFlow, OAuthFlowWindow, PendingGrant
from .preferences import chosen_language

logger = logging.getLogger(__name__)


class InstallRefused(AppError):
    """A callback we will not act on. ``kind`` picks the page the owner sees."""

    def __init__(self, message: str, *, kind: str):
        super().__init__(message)
        self.kind = kind


# --- Launch -------------------------------------------------------------------------------


def open_app_session(*, company_id: int, user_id: str) -> str:
    """A fresh, short-lived session bound to one company and user; returns its key."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["company_id"] = int(company_id)
    store["user_id"] = str(user_id)
    store["touched"] = int(timezone.now().timestamp())
    # The first list after a launch is read from FlickRocket, not from our short cache: an
    # owner who just removed and reopened the app must not see a list the app may no longer read.
    store["fresh_launch"] = True
    # The user's language choice rides in the session: applying it costs no query per request.
    language = chosen_language(company_id=int(company_id), user_id=str(user_id))
    if language:
        store[SESSION_LANGUAGE_KEY] = language
    store.set_expiry(settings.APP_SESSION_IDLE_SECONDS)
    store.create()
    signals.app_launched.send(sender=open_app_session, company_id=int(company_id))
    return store.session_key


# --- Install ------------------------------------------------------------------------------


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

# A shop holds at most this many grants waiting for its confirmation; a newer one pushes the
# oldest out, so nobody can pile prompts (or stored codes) onto a shop.
PENDING_GRANTS_PER_COMPANY = 3
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
            "This sign-in link was not started from this browser, or it is too old.", kind="forged"
        )
    if echoed_state and not secrets.compare_digest(echoed_state, bound_state):
        raise InstallRefused("This sign-in answer belongs to another install attempt.", kind="forged")
    try:
        company = int(company_id or "")
    except ValueError:
        company = None

    with transaction.atomic():
        flow = OAuthFlow.objects.select_for_update().filter(state=bound_state).first()
        if flow is None:
            raise InstallRefused("This install attempt is unknown.", kind="forged")
        if flow.completed_at is not None:
            raise InstallRefused("This install attempt was already used.", kind="replayed")
        if flow.created_at < timezone.now() - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE):
            raise InstallRefused("This install attempt has expired.", kind="expired")
        flow.completed_at = timezone.now()
        flow.save(update_fields=["completed_at"])
        if error:
            return_kind = "denied" if error == "access_denied" else "error"
            refusal = InstallRefused("The permission was not granted in FlickRocket.", kind=return_kind)
        elif company is None or not code:
            refusal = InstallRefused("FlickRocket's answer is incomplete.", kind="invalid")
        elif not 0 < company < 2**63:
            refusal = InstallRefused("FlickRocket's answer is incomplete.", kind="invalid")
        elif flow.company_id is not None and flow.company_id != company:
            refusal = InstallRefused(
                "This answer is for a different shop than the one that started the install.",
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


def _hold(*, company: int, code: str, scopes: str, from_launch: bool, user_id: str) -> PendingGrant:
    """Keep a callback's code as a pending grant; only the shop's newest few are kept."""
    with transaction.atomic():
        pending = PendingGrant.objects.create(
            company_id=company,
            scopes=scopes[:500],
            from_launch=from_launch,
            started_by=user_id[:200],
            refresh_token_encrypted=encrypt(code),
            expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_PENDING_GRANT_MAX_AGE),
        )
        newest = PendingGrant.objects.filter(company_id=company).order_by("-created_at", "-pk")
        older = list(newest.values_list("pk", flat=True)[PENDING_GRANTS_PER_COMPANY:])
        if older:
            PendingGrant.objects.filter(pk__in=older).delete()
    if older:
        logger.info("install: %s older pending grant(s) of company %s discarded", len(older), company)
    source = "launch-bound" if from_launch else "App Store"
    logger.info("install: %s code held pending for company %s", source, company)
    return pending


def _settle(*, pending_id: int) -> Installation | PendingGrant:
    """Exchange a held code and decide what it is, by the data it reads.

    - Its fulfillments name another shop: discarded, refused.
    - They name the shop: it becomes the shop's installation (no click needed).
    - It proves nothing (no ``orders`` permission, or no orders): a launch-bound grant for a
      shop without a working install is installed (the launch proves the shop, and its owner
      clicked Install moments ago); otherwise it is held for the owner's confirmation in the
      app, and an App Store grant for a shop with a working install is discarded.

    Raises ``NeedsReinstall`` (the grant was discarded) or another ``FlickRocketError`` (kept,
    to be tried again when the owner opens the app).
    """
    token = _pending_access_token(pending_id=pending_id)
    pending = PendingGrant.objects.filter(pk=pending_id).first()
    if pending is None:
        raise AppError(_("This connection request is no longer available."))
    company = pending.company_id
    try:
        companies = _companies_read_with(token)
    except fr.NeedsReinstall:
        _discard(pending_id=pending_id, reason="FlickRocket refused it")
        raise
    if companies and companies != {company}:
        _discard(pending_id=pending_id, reason="its data names another shop")
        logger.warning("install: grant for company %s reads another shop's data", company)
        raise InstallRefused(
            _("This permission was given for a different shop than the one named in FlickRocket's answer."),
            kind="cross_company",
        )
    if companies:
        return _promote(pending_id=pending_id, user_id=pending.started_by, replace_working=True, how="proven")
    working = Installation.objects.filter(company_id=company, status=Installation.Status.INSTALLED).exists()
    if pending.from_launch and not working:
        return _promote(
            pending_id=pending_id, user_id=pending.started_by, replace_working=False, how="launch"
        )
    if working and not pending.from_launch:
        # Unproven, and a pending grant never replaces a working install: nothing to hold.
        _discard(pending_id=pending_id, reason="the shop already has a working install")
        raise InstallRefused(
            "This shop already has the app installed. To reconnect it, open the app from "
            "your FlickRocket admin.",
            kind="cross_company",
        )
    logger.info("install: grant for company %s awaits the owner's confirmation in the app", company)
    pending.refresh_from_db()
    return pending


def settle_waiting_grants(*, company_id: int) -> None:
    """Retry the exchange of codes kept while FlickRocket did not answer (the owner opened the
    app). A code FlickRocket refuses is discarded; if FlickRocket is still down, they wait."""
    waiting = PendingGrant.objects.filter(
        company_id=company_id, exchanged_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("created_at")
    for pk in list(waiting.values_list("pk", flat=True)[:PENDING_GRANTS_PER_COMPANY]):
        try:
            _settle(pending_id=pk)
        except fr.NeedsReinstall:
            continue  # discarded
        except InstallRefused as exc:
            logger.info("install: kept code of company %s refused on retry: %s", company_id, exc.kind)
        except fr.FlickRocketError:
            logger.info("install: FlickRocket still does not answer for company %s's kept code", company_id)
            return  # the others would wait for the same outage
        except AppError:
            continue  # confirmed or discarded meanwhile


def _pending_access_token(*, pending_id: int) -> str:
    """A usable access token of a pending grant; each exchange's new refresh token is kept first.

    A grant FlickRocket refuses is discarded (``NeedsReinstall``).
    """
    refused = False
    with transaction.atomic():
        pending = PendingGrant.objects.select_for_update().filter(pk=pending_id).first()
        if pending is None:
            raise AppError(_("This connection request is no longer available."))
        fresh = _fresh_token(pending, stale=None)
        if fresh:
            return fresh
        try:
            grant = clients.exchange_refresh_token(decrypt(pending.refresh_token_encrypted))
        except fr.NeedsReinstall:
            refused = True
        else:
            pending.refresh_token_encrypted = encrypt(grant.refresh_token)
            pending.access_token_encrypted = encrypt(grant.access_token)
            pending.access_token_expires_at = grant.expires_at
            pending.user_name = grant.user_name[:200]
            pending.exchanged_at = timezone.now()
            if grant.scope:
                pending.scopes = grant.scope[:500]
            pending.save()
    if refused:
        _discard(pending_id=pending_id, reason="FlickRocket refused its code")
        raise fr.NeedsReinstall()
    return grant.access_token


def _companies_read_with(token: str) -> set[int]:
    """The companies named by the fulfillments this token reads; empty when it reads none.

    A grant without the ``orders`` scope (403) or a shop without orders proves nothing either
    way. A 401 raises NeedsReinstall: FlickRocket does not accept the grant at all. Any other
    failure is raised: nothing is decided on a read that did not succeed.
    """
    try:
        rows = clients.grant_reader(token).fulfillment_sample()
    except fr.Forbidden:
        return set()
    return {row.company_id for row in rows}


def _promote(*, pending_id: int, user_id: str, replace_working: bool, how: str) -> Installation:
    """Make a checked pending grant the shop's installation, in one transaction.

    ``how`` says what vouches for it, for the log: "proven" (its data names the shop),
    "launch" (a launch-bound flow of a shop without a working install) or "confirmed" (the
    owner's click in a verified launch).
    """
    with transaction.atomic():
        pending = PendingGrant.objects.select_for_update().filter(pk=pending_id).first()
        if pending is None:
            raise AppError(_("This connection request is no longer available."))
        installation = Installation.objects.select_for_update().filter(company_id=pending.company_id).first()
        if installation is not None and installation.is_usable and not replace_working:
            pending.delete()
            logger.info(
                "install: pending grant of company %s discarded: the shop is connected", pending.company_id
            )
            raise AppError(_("The app is already connected to this shop; the other request was discarded."))
        if installation is None:
            installation = Installation(company_id=pending.company_id)
        installation.refresh_token_encrypted = pending.refresh_token_encrypted
        installation.access_token_encrypted = pending.access_token_encrypted
        installation.access_token_expires_at = pending.access_token_expires_at
        installation.status = Installation.Status.INSTALLED
        installation.status_reason = ""
        installation.scopes = pending.scopes
        installation.installed_by = user_id[:200]
        installation.account_name = pending.user_name
        installation.installed_at = timezone.now()
        if pending.access_token_encrypted:
            installation.last_exchange_at = timezone.now()
            installation.token_exchanges += 1
        installation.save()
        PendingGrant.objects.filter(company_id=pending.company_id).delete()
    logger.info(
        "install: grant (%s) is now the installation of company %s; user %r, FlickRocket account %r",
        how,
        installation.company_id,
        installation.installed_by,
        installation.account_name,
    )
    signals.app_installed.send(sender=_promote, company_id=installation.company_id)
    return installation


def _discard(*, pending_id: int, reason: str) -> None:
    deleted, _detail = PendingGrant.objects.filter(pk=pending_id).delete()
    if deleted:
        logger.info("install: pending grant %s discarded: %s", pending_id, reason)


def confirm_pending_grant(*, company_id: int, grant_id: int, user_id: str) -> Installation:
    """The owner, in a verified launch of ``company_id``, confirms a held grant.

    Only a grant FlickRocket accepted and whose account is known (and was shown) can be
    confirmed. It is exchanged or read again first, and promoted only if that succeeds: data
    that names another shop discards it, and a FlickRocket that does not answer keeps it
    waiting. An App Store grant never replaces a working install; a launch-bound one does,
    on this click.
    """
    unavailable = _("This connection request is no longer available.")
    if not 0 < grant_id < 2**63:  # a hand-typed URL must not overflow the database integer
        raise AppError(unavailable)
    pending = (
        PendingGrant.objects.filter(pk=grant_id, company_id=company_id, expires_at__gt=timezone.now())
        .exclude(exchanged_at=None)
        .exclude(user_name="")
        .first()
    )
    if pending is None:
        raise AppError(unavailable)
    working = Installation.objects.filter(
        company_id=company_id, status=Installation.Status.INSTALLED
    ).exists()
    if working and not pending.from_launch:
        _discard(pending_id=pending.pk, reason="the shop already has a working install")
        raise AppError(_("The app is already connected to this shop; the other request was discarded."))
    refused = _(
        "FlickRocket no longer accepts this permission, so it was discarded. Please install the app again."
    )
    down = _("FlickRocket is not answering right now, so nothing was changed. Please try again in a moment.")
    try:
        token = _pending_access_token(pending_id=pending.pk)
        companies = _companies_read_with(token)
    except fr.NeedsReinstall as exc:
        _discard(pending_id=pending.pk, reason="FlickRocket refused it")
        raise AppError(refused) from exc
    except fr.FlickRocketError as exc:
        logger.info("install: confirm of a pending grant of company %s waits: %s", company_id, exc)
        raise AppError(down) from exc
    if companies and companies != {company_id}:
        _discard(pending_id=pending.pk, reason="its data names another shop")
        logger.warning("install: pending grant for company %s reads another shop's data", company_id)
        raise AppError(_("This permission belongs to another FlickRocket shop, so it was discarded."))
    logger.info(
        "install: user %r of company %s confirms the pending grant of FlickRocket account %r",
        user_id,
        company_id,
        pending.user_name,
    )
    return _promote(
        pending_id=pending.pk, user_id=user_id, replace_working=pending.from_launch, how="confirmed"
    )


def discard_pending_grant(*, company_id: int, grant_id: int, user_id: str = "") -> None:
    if not 0 < grant_id < 2**63:
        return
    pending = PendingGrant.objects.filter(pk=grant_id, company_id=company_id).first()
    if pending is None:
        return
    pending.delete()
    logger.info(
        "install: user %r of company %s discarded the pending grant of FlickRocket account %r",
        user_id,
        company_id,
        pending.user_name,
    )


def prune_oauth(*, now=None) -> tuple[int, int]:
    """Forget install flows past OAUTH_STATE_MAX_AGE and pending grants past their expiry."""
    now = now or timezone.now()
    flows, _detail = OAuthFlow.objects.filter(
        created_at__lt=now - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE)
    ).delete()
    grants, _detail = PendingGrant.objects.filter(expires_at__lte=now).delete()
    OAuthFlowWindow.objects.filter(minute__lt=int(now.timestamp() // 60) - FLOW_WINDOWS_KEPT).delete()
    return flows, grants


# --- Tokens -------------------------------------------------------------------------------


def _usable(installation: Installation | None) -> Installation:
    if installation is None or installation.status == Installation.Status.UNINSTALLED:
        raise fr.NotInstalled()
    if installation.status == Installation.Status.NEEDS_REINSTALL:
        raise fr.NeedsReinstall()
    return installation


def _fresh_token(installation: Installation | PendingGrant, stale: str | None) -> str | None:
    expires = installation.access_token_expires_at
    if not installation.access_token_encrypted or expires is None:
        return None
    margin = timedelta(seconds=settings.FLICKROCKET_TOKEN_REFRESH_MARGIN)
    if expires - margin <= timezone.now():
        return None
    token = decrypt(installation.access_token_encrypted)
    return None if token == stale else token


def access_token(*, company_id: int, stale: str | None = None) -> str:
    """A valid access token, exchanging the refresh token only when the stored one is too old.

    ``stale`` is a token FlickRocket just called expired: never hand that one out again.
    """
    installation = _usable(Installation.objects.filter(company_id=company_id).first())
    token = _fresh_token(installation, stale)
    if token:
        return token
    grant = _exchange(company_id=company_id, stale=stale)
    if grant is None:  # someone else refreshed while we waited for the lock
        return access_token(company_id=company_id, stale=stale)
    return grant.access_token


def _exchange(*, company_id: int, stale: str | None, force: bool = False) -> fr.TokenGrant | None:
    refused = False
    with transaction.atomic():
        installation = _usable(Installation.objects.select_for_update().filter(company_id=company_id).first())
        if not force and _fresh_token(installation, stale):
            return None
        try:
            grant = clients.exchange_refresh_token(decrypt(installation.refresh_token_encrypted))
        except fr.NeedsReinstall:
            refused = True
        else:
            installation.refresh_token_encrypted = encrypt(grant.refresh_token)
            installation.access_token_encrypted = encrypt(grant.access_token)
            installation.access_token_expires_at = grant.expires_at
            installation.last_exchange_at = timezone.now()
            installation.token_exchanges += 1
            installation.save()
    if refused:
        mark_needs_reinstall(company_id=company_id, reason="FlickRocket refused the refresh token")
        raise fr.NeedsReinstall()
    logger.info("token exchange for company %s", company_id)
    return grant


def mark_needs_reinstall(*, company_id: int, reason: str) -> None:
    Installation.objects.filter(company_id=company_id).exclude(status=Installation.Status.UNINSTALLED).update(
        status=Installation.Status.NEEDS_REINSTALL,
        status_reason=reason[:300],
        refresh_token_encrypted="",
        access_token_encrypted="",
        access_token_expires_at=None,
        updated_at=timezone.now(),
    )
    logger.warning("company %s needs reinstall: %s", company_id, reason)


def disconnect(*, company_id: int, reason: str = "disconnected by the owner") -> None:
    """Forget every token (owner's "disconnect", or FlickRocket's app/uninstalled)."""
    Installation.objects.filter(company_id=company_id).update(
        status=Installation.Status.UNINSTALLED,
        status_reason=reason[:300],
        refresh_token_encrypted="",
        access_token_encrypted="",
        access_token_expires_at=None,
        updated_at=timezone.now(),
    )
    logger.info("company %s disconnected: %s", company_id, reason)


def refresh_granted_scopes(*, company_id: int) -> list[str]:
    """Re-read what FlickRocket says the app may do (app/update)."""
    info = clients.client_for(company_id, purpose="worker").token_info()
    scopes = [s.strip() for s in info.scope.split(",") if s.strip()]
    if scopes:
        Installation.objects.filter(company_id=company_id).update(scopes=",".join(scopes))
    return scopes
