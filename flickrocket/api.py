"""The REST endpoints one shop's app uses (docs/flickrocket.md, "Fulfillments", "Prices",
"Webhooks").

``FlickRocketClient`` knows no settings and no database: the API's base URL, where webhooks
live, a token provider and two callbacks come in through its constructor. Tokens come from
``token(stale)``: ``stale`` is ``None``, or a token FlickRocket just called expired, which the
provider must never hand out again. A token FlickRocket refuses for any other reason goes out
through ``on_refused(reason)`` before ``NeedsReinstall`` is raised.

A client built with ``expected_company_id`` checks every fulfillment it decodes: one that names
another company means the token is another shop's, so the whole answer is refused
(``on_refused(reason)``, then ``WrongCompany``) before any caller can show or keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from .errors import NeedsReinstall, NotFound, WrongCompany, error_for
from .resources import (
    CallLimit,
    Fulfillment,
    PriceModel,
    Resource,
    TokenInfo,
    Webhook,
    canonical_topic,
    decode_json,
    decode_list,
    decode_one,
    envelope,
)
from .transport import Pause, Policy, Transport

PAGE_SIZE = 50  # the platform's own paging size ("Fulfillments")

TokenProvider = Callable[[str | None], str]


class FlickRocketClient:
    """Calls FlickRocket for one shop. Resources in, resources out; never a ``Response``."""

    def __init__(
        self,
        *,
        base_url: str,
        token: TokenProvider,
        webhooks_path: str = "/admin/webhooks",
        policy: Policy | None = None,
        on_refused: Callable[[str], None] | None = None,
        on_call_limit: Callable[[CallLimit], None] | None = None,
        expected_company_id: int | None = None,
        pause: Pause | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.expected_company_id = expected_company_id
        self.webhooks_path = webhooks_path.rstrip("/")
        self.transport = Transport(policy, on_call_limit=on_call_limit, pause=pause)
        self._token = token
        self._on_refused = on_refused

    # -- what callers tune and read --

    @property
    def policy(self) -> Policy:
        return self.transport.policy

    @property
    def timeout(self) -> tuple[float, float]:
        return self.transport.timeout

    @property
    def max_attempts(self) -> int:
        return self.policy.max_attempts

    @property
    def max_rate_wait(self) -> float:
        return self.policy.max_rate_wait

    @property
    def deadline(self) -> float | None:
        """A monotonic time after which no call starts; the outbox keeps a send inside its lease."""
        return self.transport.deadline

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self.transport.deadline = value

    @property
    def last_call_limit(self) -> CallLimit | None:
        return self.transport.last_call_limit

    # -- the one place that turns HTTP into bytes or typed errors --

    def _call(self, method: str, path: str, *, retry_safe: bool | None = None, **kwargs: Any) -> bytes:
        self.transport.raise_if_paused()  # before the token: a paused call needs none
        token = self._token(None)
        refreshed = False
        while True:
            response = self.transport.send(
                method,
                self.base_url + path,
                retry_safe=retry_safe,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
            status = response.status_code
            if status == 401:
                body = _body(response)
                if not refreshed and isinstance(body, dict) and body.get("error") == "expired":
                    refreshed = True
                    token = self._token(token)
                    continue
                if self._on_refused is not None:
                    self._on_refused("token refused")
                raise NeedsReinstall(status=status)
            if status >= 400:
                raise error_for(status, _body(response), path, webhooks_path=self.webhooks_path)
            return b"" if status == 204 else response.content

    def _own[F: (Fulfillment, list[Fulfillment])](self, answer: F) -> F:
        """``answer`` if every fulfillment in it is the expected company's (or names none)."""
        expected = self.expected_company_id
        if expected is None:
            return answer
        items = answer if isinstance(answer, list) else [answer]
        for item in items:
            if item.company_id and item.company_id != expected:
                reason = (
                    f"FlickRocket answered with orders of another shop (company {item.company_id}), "
                    "so the app's permission belongs to another FlickRocket account"
                )
                if self._on_refused is not None:
                    self._on_refused(reason)
                raise WrongCompany(company_id=item.company_id, expected_company_id=expected)
        return answer

    def _list[T: Resource](
        self, path: str, key: str, item_type: type[T], params: dict | None = None
    ) -> list[T]:
        """A list, whether or not the platform pages it ("Fulfillments").

        Ask once without ``page``: the documented API returns everything. Only a full page of
        exactly 50 suggests silent paging; then ask for the next pages until a short page or a
        page of ids already seen.
        """
        items = decode_list(self._call("GET", path, params=params), key, item_type)
        if len(items) != PAGE_SIZE:
            return items
        seen = {item.id for item in items}
        page = 2
        while True:
            body = self._call("GET", path, params={**(params or {}), "page": page})
            more = decode_list(body, key, item_type)
            fresh = [item for item in more if item.id not in seen]
            if not fresh:
                return items
            items.extend(fresh)
            seen.update(item.id for item in fresh)
            if len(more) < PAGE_SIZE:
                return items
            page += 1

    def _count(self, path: str) -> int:
        try:
            return int(envelope(decode_json(self._call("GET", path)), "count"))
        except (TypeError, ValueError, OverflowError):
            return 0

    # -- fulfillments --

    def open_fulfillments(self) -> list[Fulfillment]:
        return self._own(self._list("/api/fulfillments/open.json", "fulfillments", Fulfillment))

    def shipped_fulfillments(self) -> list[Fulfillment]:
        return self._own(self._list("/api/fulfillments/complete.json", "fulfillments", Fulfillment))

    def all_fulfillments(
        self, *, created_at_min: datetime | None = None, created_at_max: datetime | None = None
    ) -> list[Fulfillment]:
        params = {}
        if created_at_min:
            params["created_at_min"] = format_platform_time(created_at_min)
        if created_at_max:
            params["created_at_max"] = format_platform_time(created_at_max)
        return self._own(self._list("/api/fulfillments.json", "fulfillments", Fulfillment, params or None))

    def fulfillment_sample(self) -> list[Fulfillment]:
        """Some of the shop's fulfillments, open first, at most one page of each kind: enough
        to tell which shop a grant reads (App Store install binding)."""
        for path in ("/api/fulfillments/open.json", "/api/fulfillments/complete.json"):
            # ``page`` may be ignored by the platform; one answer is all this needs.
            items = decode_list(self._call("GET", path, params={"page": 1}), "fulfillments", Fulfillment)
            if items:
                return self._own(items)
        return []

    def fulfillment_count(self) -> int:
        return self._count("/api/fulfillments/count.json")

    def fulfillment(self, order_id: int) -> Fulfillment:
        return self._own(
            decode_one(
                self._call("GET", f"/api/fulfillments/{int(order_id)}.json"), "fulfillment", Fulfillment
            )
        )

    def update_fulfillment(
        self, order_id: int, *, tracking_number: str | None = None, status: int | None = None
    ) -> Fulfillment:
        changes: dict[str, Any] = {}
        if tracking_number is not None:
            changes["tracking_number"] = tracking_number
        if status is not None:
            changes["status"] = status
        # A PUT of the same body is safe to repeat, so it is retried like a read.
        path = f"/api/fulfillments/{int(order_id)}.json"
        content = self._call("PUT", path, json={"fulfillment": changes})
        body = decode_json(content) if content else None
        if isinstance(body, dict) and "fulfillment" in body:
            return self._own(Fulfillment.from_api(body["fulfillment"]))
        return self.fulfillment(order_id)

    # -- prices --

    def price_models(self) -> list[PriceModel]:
        return self._list("/api/prices.json", "prices", PriceModel)

    def price_model(self, price_id: int) -> PriceModel:
        return decode_one(self._call("GET", f"/api/prices/{int(price_id)}.json"), "price", PriceModel)

    def price_model_count(self) -> int:
        return self._count("/api/prices/count.json")

    # -- webhook subscriptions (the path differs between docs and the live client) --

    def webhooks(self) -> list[Webhook]:
        return decode_list(self._call("GET", f"{self.webhooks_path}.json"), "webhooks", Webhook)

    def webhook(self, webhook_id: int) -> Webhook:
        content = self._call("GET", f"{self.webhooks_path}/{int(webhook_id)}.json")
        return decode_one(content, "webhook", Webhook)

    def create_webhook(self, *, topic: str, address: str, format: str = "json") -> Webhook:
        payload = {"webhook": {"topic": canonical_topic(topic), "address": address, "format": format}}
        # A POST is never repeated blindly: a lost answer could mean a second hook.
        content = self._call("POST", f"{self.webhooks_path}.json", json=payload)
        return decode_one(content, "webhook", Webhook)

    def update_webhook(self, webhook_id: int, **changes: Any) -> Webhook:
        if "topic" in changes:
            changes["topic"] = canonical_topic(changes["topic"])
        path = f"{self.webhooks_path}/{int(webhook_id)}.json"
        return decode_one(self._call("PUT", path, json={"webhook": changes}), "webhook", Webhook)

    def delete_webhook(self, webhook_id: int) -> None:
        try:
            self._call("DELETE", f"{self.webhooks_path}/{int(webhook_id)}.json", retry_safe=True)
        except NotFound:
            return  # already gone: what the owner asked for

    # -- the token itself ("OAuth install") --

    def token_info(self) -> TokenInfo:
        content = self._call("GET", "/api/tokeninfo", params={"access_token": self._token(None)})
        return TokenInfo.from_api(decode_json(content))


def format_platform_time(value: datetime) -> str:
    """``2015-07-01T00:00:00``, the platform's date parameter; the year always has four digits
    (``strftime("%Y")`` writes year 999 as ``999``, which FlickRocket refuses)."""
    return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}"


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
