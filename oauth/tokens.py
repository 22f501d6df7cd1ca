"""The token store: a shop's access token, the refresh-token exchange, and the install's status
(needs reinstall, disconnected, granted scopes).

The refresh token is the shop: every exchange consumes it and returns the next one, so the
next one is committed before anything uses the access token that came with it, and only one
exchange per company runs at a time (a row lock on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers the same way). docs/flickrocket.md, "OAuth install".
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import flickrocket as fr

from . import clients, current
from .crypto import decrypt, encrypt
from .models import Installation, PendingGrant

logger = logging.getLogger(__name__)


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
