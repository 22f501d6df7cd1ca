"""Launch sessions, installs and the token store.

The refresh token is the shop: every exchange consumes it and returns the next one, so the
next one is committed before anything uses the access token that came with it, and only one
exchange per company runs at a time (a row lock on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers the same way).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import flickrocket as fr
from frapp.errors import AppError
from frapp.middleware import SESSION_LANGUAGE_KEY

from . import clients, current, signals
from .crypto import decrypt, encrypt
from .models import Installation, OAuthFlow, PendingGrant
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


def known_scopes() -> set[str]:
    return set(settings.FLICKROCKET_SCOPES) | set(KNOWN_SCOPES)


def start_install(
    *, company_id: int | None, user_id: str, scopes: list[str], company_hint: int | None = None
) -> OAuthFlow:
    scopes = [s.strip() for s in scopes if s.strip()] or list(settings.FLICKROCKET_SCOPES)
    return OAuthFlow.objects.create(
        state=secrets.token_urlsafe(32),
        company_id=company_id,
        company_hint=company_hint,
        user_id=user_id,
        scopes=",".join(scopes),
    )


def start_launch_install(*, company_id: int, user_id: str, extra_scopes: list[str]) -> OAuthFlow:
    """(Re)install from a verified launch, bound to its shop and user.

    It asks for the defaults, what the shop granted so far and ``extra_scopes`` (a page that
    lacks a permission asks for it), so reconnecting never takes a permission away.
    """
    known = known_scopes()
    installation = Installation.objects.filter(company_id=company_id).first()
    current = installation.scope_list if installation else []
    wanted = [*settings.FLICKROCKET_SCOPES, *current, *extra_scopes]
    scopes = list(dict.fromkeys(s.strip() for s in wanted if s.strip() in known))
    return start_install(company_id=company_id, user_id=user_id, scopes=scopes)


def start_app_store_install(*, scopes: list[str], company_hint: int | None) -> OAuthFlow:
    """An App Store start: nothing on it is signed, so it belongs to no shop (docs/flickrocket.md,
    OAuth install)."""
    return start_install(company_id=None, user_id="", scopes=scopes, company_hint=company_hint)


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
    need not echo ``state``, but when it does the two must agree.
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
        elif flow.company_id is not None and flow.company_id != company:
            refusal = InstallRefused(
                _("This answer is for a different shop than the one that started the install."),
                kind="cross_company",
            )
        else:
            refusal = None
    if refusal is not None:
        raise refusal

    if flow.company_id is None:
        return _complete_app_store_install(company=company, code=code, flow=flow)
    return _complete_launch_install(company=company, code=code, flow=flow)


def _complete_launch_install(*, company: int, code: str, flow: OAuthFlow) -> Installation:
    """A flow started from a verified launch of ``company``: the launch is the proof."""
    # The callback's code *is* a refresh token: store it before trying to use it, so a lost
    # answer from the exchange below can be retried with it later.
    with transaction.atomic():
        installation, _created = Installation.objects.select_for_update().get_or_create(
            company_id=company,
            defaults={"refresh_token_encrypted": encrypt(code)},
        )
        installation.refresh_token_encrypted = encrypt(code)
        installation.access_token_encrypted = ""
        installation.access_token_expires_at = None
        installation.status = Installation.Status.INSTALLED
        installation.status_reason = ""
        installation.scopes = flow.scopes
        installation.installed_by = flow.user_id
        installation.installed_at = timezone.now()
        installation.save()
        PendingGrant.objects.filter(company_id=company).delete()  # the shop is connected now
    logger.info("install: code stored for company %s", company)

    try:
        grant = _exchange(company_id=company, stale=None, force=True)
    except fr.NeedsReinstall as exc:
        raise InstallRefused(
            "FlickRocket did not accept this install code. Please start again.", kind="invalid"
        ) from exc
    except fr.FlickRocketError as exc:
        raise InstallRefused(
            "FlickRocket did not answer. Your permission is saved; open the app again in a "
            "moment to finish connecting.",
            kind="unavailable",
        ) from exc
    if grant is not None and grant.scope:
        Installation.objects.filter(company_id=company).update(scopes=grant.scope)
    signals.app_installed.send(sender=complete_install, company_id=company)
    return Installation.objects.get(company_id=company)


def _complete_app_store_install(*, company: int, code: str, flow: OAuthFlow) -> Installation | PendingGrant:
    """A flow from the App Store's Authorization URL: ``company`` is only a claim.

    The grant is held as pending (never as the claimed shop's installation) until data read
    with it names that shop; a grant whose data names another shop is discarded; one whose
    data cannot be read waits for a verified launch of the shop to confirm it.
    """
    pending = PendingGrant.objects.create(
        company_id=company,
        scopes=flow.scopes,
        refresh_token_encrypted=encrypt(code),
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_PENDING_GRANT_MAX_AGE),
    )
    logger.info("install: App Store code held pending for company %s", company)
    try:
        token = _pending_access_token(pending_id=pending.pk)
        companies = _companies_read_with(token)
    except fr.NeedsReinstall as exc:
        _discard(pending_id=pending.pk)
        raise InstallRefused(
            "FlickRocket did not accept this install code. Please start again.", kind="invalid"
        ) from exc
    except fr.FlickRocketError as exc:
        raise InstallRefused(
            _(
                "FlickRocket did not answer. Your permission is saved; open the app from your "
                "FlickRocket admin to finish connecting."
            ),
            kind="unavailable",
        ) from exc
    if companies and companies != {company}:
        _discard(pending_id=pending.pk)
        logger.warning("install: App Store grant for company %s reads another shop's data", company)
        raise InstallRefused(
            _("This permission was given for a different shop than the one named in FlickRocket's answer."),
            kind="cross_company",
        )
    if companies:
        return _promote(pending_id=pending.pk, user_id=flow.user_id, replace_working=True)
    if Installation.objects.filter(company_id=company, status=Installation.Status.INSTALLED).exists():
        # Unproven, and a pending grant never replaces a working install: nothing to hold.
        _discard(pending_id=pending.pk)
        raise InstallRefused(
            _(
                "This shop already has the app installed. To reconnect it, open the app from "
                "your FlickRocket admin."
            ),
            kind="cross_company",
        )
    logger.info("install: App Store grant for company %s awaits the owner's confirmation", company)
    pending.refresh_from_db()
    return pending


def _pending_access_token(*, pending_id: int) -> str:
    """A usable access token of a pending grant; each exchange's new refresh token is kept first."""
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
            if grant.scope:
                pending.scopes = grant.scope[:500]
            pending.save()
    if refused:
        _discard(pending_id=pending_id)
        raise fr.NeedsReinstall()
    return grant.access_token


def _companies_read_with(token: str) -> set[int]:
    """The companies named by the fulfillments this token reads; empty when it reads none.

    A grant without the ``orders`` scope (403) or a shop without orders proves nothing either
    way. A 401 raises NeedsReinstall: FlickRocket does not accept the grant at all.
    """
    try:
        rows = clients.grant_reader(token).fulfillment_sample()
    except fr.Forbidden:
        return set()
    return {row.company_id for row in rows}


def _promote(*, pending_id: int, user_id: str, replace_working: bool) -> Installation:
    """Make a proven pending grant the shop's installation, in one transaction."""
    with transaction.atomic():
        pending = PendingGrant.objects.select_for_update().filter(pk=pending_id).first()
        if pending is None:
            raise AppError(_("This connection request is no longer available."))
        installation = Installation.objects.select_for_update().filter(company_id=pending.company_id).first()
        if installation is not None and installation.is_usable and not replace_working:
            pending.delete()
            raise AppError(_("The app is already connected to this shop; the other request was discarded."))
        if installation is None:
            installation = Installation(company_id=pending.company_id)
        installation.refresh_token_encrypted = pending.refresh_token_encrypted
        installation.access_token_encrypted = pending.access_token_encrypted
        installation.access_token_expires_at = pending.access_token_expires_at
        installation.status = Installation.Status.INSTALLED
        installation.status_reason = ""
        installation.scopes = pending.scopes
        installation.installed_by = user_id
        installation.installed_at = timezone.now()
        if pending.access_token_encrypted:
            installation.last_exchange_at = timezone.now()
            installation.token_exchanges += 1
        installation.save()
        PendingGrant.objects.filter(company_id=pending.company_id).delete()
    logger.info("install: grant promoted to the installation of company %s", installation.company_id)
    signals.app_installed.send(sender=_promote, company_id=installation.company_id)
    return installation


def _discard(*, pending_id: int) -> None:
    PendingGrant.objects.filter(pk=pending_id).delete()


def confirm_pending_grant(*, company_id: int, grant_id: int, user_id: str) -> Installation:
    """The owner, in a verified launch of ``company_id``, confirms a held App Store grant.

    The launch is the proof; if the grant can read data by now, that data must name the
    same shop too.
    """
    if not 0 < grant_id < 2**63:  # a hand-typed URL must not overflow the database integer
        raise AppError(_("This connection request is no longer available."))
    pending = (
        PendingGrant.objects.filter(pk=grant_id, company_id=company_id, expires_at__gt=timezone.now())
        .only("pk")
        .first()
    )
    if pending is None:
        raise AppError(_("This connection request is no longer available."))
    if Installation.objects.filter(company_id=company_id, status=Installation.Status.INSTALLED).exists():
        _discard(pending_id=pending.pk)
        raise AppError(_("The app is already connected to this shop; the other request was discarded."))
    refused = _(
        "FlickRocket no longer accepts this permission, so it was discarded. Please install the app again."
    )
    try:
        token = _pending_access_token(pending_id=pending.pk)
    except fr.NeedsReinstall as exc:
        raise AppError(refused) from exc
    except fr.FlickRocketError:
        token = None  # FlickRocket is down: the launch alone proves the shop; tokens follow later
    if token:
        try:
            companies = _companies_read_with(token)
        except fr.NeedsReinstall as exc:
            _discard(pending_id=pending.pk)
            raise AppError(refused) from exc
        except fr.FlickRocketError:
            companies = set()
        if companies and companies != {company_id}:
            _discard(pending_id=pending.pk)
            logger.warning("install: pending grant for company %s reads another shop's data", company_id)
            raise AppError(_("This permission belongs to another FlickRocket shop, so it was discarded."))
    return _promote(pending_id=pending.pk, user_id=user_id, replace_working=False)


def discard_pending_grant(*, company_id: int, grant_id: int) -> None:
    if not 0 < grant_id < 2**63:
        return
    PendingGrant.objects.filter(pk=grant_id, company_id=company_id).delete()
    logger.info("install: pending grant discarded by company %s", company_id)


def prune_oauth(*, now=None) -> tuple[int, int]:
    """Forget install flows past OAUTH_STATE_MAX_AGE and pending grants past their expiry."""
    now = now or timezone.now()
    flows, _detail = OAuthFlow.objects.filter(
        created_at__lt=now - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE)
    ).delete()
    grants, _detail = PendingGrant.objects.filter(expires_at__lte=now).delete()
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
    seen = current.installation_of(company_id) if stale is None else None
    if seen is not None:
        token = _fresh_token(_usable(seen), None)
        if token:
            return token
        current.forget()
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
