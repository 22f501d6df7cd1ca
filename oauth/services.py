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

import flickrocket as fr
from frapp.errors import AppError

from . import clients
from .crypto import decrypt, encrypt
from .models import Installation, OAuthFlow

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
    store.set_expiry(settings.APP_SESSION_IDLE_SECONDS)
    store.create()
    return store.session_key


# --- Install ------------------------------------------------------------------------------


def start_install(*, company_id: int | None, user_id: str, scopes: list[str]) -> OAuthFlow:
    scopes = [s.strip() for s in scopes if s.strip()] or list(settings.FLICKROCKET_SCOPES)
    return OAuthFlow.objects.create(
        state=secrets.token_urlsafe(32),
        company_id=company_id,
        user_id=user_id,
        scopes=",".join(scopes),
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
) -> Installation:
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
        elif flow.company_id is not None and flow.company_id != company:
            refusal = InstallRefused(
                "This answer is for a different shop than the one that started the install.",
                kind="cross_company",
            )
        elif (
            flow.company_id is None
            and Installation.objects.filter(company_id=company, status=Installation.Status.INSTALLED).exists()
        ):
            # An App Store start is bound to no shop and FlickRocket's companyid is not signed:
            # anyone could start one and name any shop. It must never replace (and so destroy)
            # a working install's refresh token; the shop reconnects from its own launch.
            refusal = InstallRefused(
                "This shop already has the app installed. To reconnect it, open the app from "
                "your FlickRocket admin.",
                kind="cross_company",
            )
        else:
            refusal = None
    if refusal is not None:
        raise refusal

    # The callback's code *is* a refresh token: store it before trying to use it, so a lost
    # answer from the exchange below can be retried with it later.
    with transaction.atomic():
        installation, _ = Installation.objects.select_for_update().get_or_create(
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
    return Installation.objects.get(company_id=company)


# --- Tokens -------------------------------------------------------------------------------


def _usable(installation: Installation | None) -> Installation:
    if installation is None or installation.status == Installation.Status.UNINSTALLED:
        raise fr.NotInstalled()
    if installation.status == Installation.Status.NEEDS_REINSTALL:
        raise fr.NeedsReinstall()
    return installation


def _fresh_token(installation: Installation, stale: str | None) -> str | None:
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
