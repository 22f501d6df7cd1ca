"""Binding an App Store or launch-bound grant to its shop (docs/flickrocket.md, "OAuth install").

Every callback code is held as a pending grant, exchanged, and settled by the data it reads:
fulfillments that name the shop make it the installation, another shop's data discards it,
and a grant that proves nothing waits for the owner's confirmation in a verified launch (or,
from a launch of a shop without a working install, is installed at once). Here too: the
retry of codes kept while FlickRocket did not answer, and the owner's confirm and discard.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import flickrocket as fr
from frapp.errors import AppError

from . import clients, signals
from .crypto import decrypt, encrypt
from .models import Installation, PendingGrant
from .tokens import _fresh_token

logger = logging.getLogger(__name__)

# A shop holds at most this many grants waiting for its confirmation; a newer one pushes the
# oldest out, so nobody can pile prompts (or stored codes) onto a shop.
PENDING_GRANTS_PER_COMPANY = 3


class InstallRefused(AppError):
    """A callback we will not act on. ``kind`` picks the page the owner sees."""

    def __init__(self, message: str, *, kind: str):
        super().__init__(message)
        self.kind = kind


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
            _(
                "This shop already has the app installed. To reconnect it, open the app from "
                "your FlickRocket admin."
            ),
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
