"""The owner's webhook subscriptions at FlickRocket: read, subscribe, change, switch on, delete."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from django.conf import settings
from django.utils.translation import gettext

import flickrocket as fr
from frapp.dates import platform_time
from frapp.errors import refusals_as_app_errors, retry_ends_at
from oauth.clients import Purpose, client_for

RECEIVER_PATH = "/webhooks/flickrocket"  # fixed in the App Store listing (frapp/urls.py)


# order/create shows new orders; app/uninstalled forgets tokens; app/update re-reads permissions.
ESSENTIAL_TOPICS = ("order/create", "app/uninstalled", "app/update")


@dataclass(frozen=True)
class HookRow:
    hook: fr.Webhook
    is_ours: bool
    updated: datetime | None


@dataclass
class SubscriptionsOverview:
    rows: list[HookRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # essential topics with no live hook here
    switched_off: list[HookRow] = field(default_factory=list)
    error: str = ""  # FlickRocket could not be asked; the page says so instead of failing
    needs_permission: bool = False  # installed without the webhooks scope
    receiver: str = ""
    asked_again_at: float | None = None  # with an error: when FlickRocket's Retry-After ends

    @property
    def healthy(self) -> bool:
        return not (self.error or self.missing or self.switched_off)

    def fingerprint(self) -> bytes:
        """Equal for equal answers from FlickRocket: what a kept page depends on besides our rows."""
        answer = msgspec.json.encode([row.hook for row in self.rows]) + self.error.encode()
        return hashlib.blake2b(answer + self.receiver.encode(), digest_size=16).digest()


def subscriptions_overview(*, company_id: int) -> SubscriptionsOverview:
    overview = SubscriptionsOverview(receiver=receiver_address())
    try:
        hooks = client_for(company_id).webhooks()
    except fr.Forbidden:
        overview.needs_permission = True
        overview.error = gettext("This app was installed without the permission to manage webhooks.")
        return overview
    except fr.RequestFailed as exc:
        overview.error = str(exc)
        overview.asked_again_at = retry_ends_at(exc)
        return overview
    hooks.sort(key=lambda h: (h.topic, h.id))
    overview.rows = [
        HookRow(hook=h, is_ours=h.address == overview.receiver, updated=platform_time(h.updated_at))
        for h in hooks
    ]
    overview.switched_off = [row for row in overview.rows if not row.hook.is_active]
    overview.missing = [
        topic
        for topic in ESSENTIAL_TOPICS
        if not any(r.is_ours and r.hook.is_active and r.hook.topic == topic for r in overview.rows)
    ]
    return overview


def subscription(*, company_id: int, webhook_id: int) -> fr.Webhook:
    """One hook of this company; another company's id is NotFound at the platform."""
    return client_for(company_id).webhook(webhook_id)


def receiver_address() -> str:
    return settings.APP_BASE_URL + RECEIVER_PATH


def _client(company_id: int, purpose: Purpose = "page") -> fr.FlickRocketClient:
    return client_for(company_id, purpose=purpose)


# The owner's changes below: FlickRocket's refusal (an address it refuses, with its field errors)
# is an AppError the page shows next to the form or as a message; a hook it does not know, where
# the page is about that one hook, a 404.
NO_SUCH_SUBSCRIPTION = "No such subscription."


def subscribe(*, company_id: int, topic: str, address: str) -> fr.Webhook:
    with refusals_as_app_errors():
        return _client(company_id).create_webhook(topic=topic, address=address.strip())


def change_subscription(*, company_id: int, webhook_id: int, topic: str, address: str) -> fr.Webhook:
    with refusals_as_app_errors(not_found=NO_SUCH_SUBSCRIPTION):
        return _client(company_id).update_webhook(webhook_id, topic=topic, address=address.strip())


def unsubscribe(*, company_id: int, webhook_id: int) -> None:
    with refusals_as_app_errors():
        _client(company_id).delete_webhook(webhook_id)


def reactivate_subscription(*, company_id: int, webhook_id: int) -> fr.Webhook:
    with refusals_as_app_errors(not_found=NO_SUCH_SUBSCRIPTION):
        return _client(company_id).update_webhook(webhook_id, is_active=True)


@dataclass
class EssentialsResult:
    created: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.reactivated)


def subscribe_essentials_from_page(*, company_id: int) -> EssentialsResult:
    """The owner's "subscribe what this app needs" button: a refusal is an ``AppError``."""
    with refusals_as_app_errors():
        return subscribe_essentials(company_id=company_id)


def subscribe_essentials(*, company_id: int, purpose: Purpose = "page") -> EssentialsResult:
    """Make sure the hooks this app needs point at this app and are on; never add a second.

    Safe to run again at any time: it lists the hooks first and changes only what is missing.
    """
    client = _client(company_id, purpose)
    address = receiver_address()
    hooks = client.webhooks()
    result = EssentialsResult()
    for topic in ESSENTIAL_TOPICS:
        ours = [h for h in hooks if h.topic == topic and h.address == address]
        if any(h.is_active for h in ours):
            result.already.append(topic)
        elif ours:
            client.update_webhook(ours[0].id, is_active=True)
            result.reactivated.append(topic)
        else:
            client.create_webhook(topic=topic, address=address)
            result.created.append(topic)
    return result
