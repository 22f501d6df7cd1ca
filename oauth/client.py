"""The one FlickRocket client. Nothing else in the code builds a FlickRocket URL.

``FlickRocketClient`` is a ``requests.Session`` that always sends timeouts, maps every failure
to a typed error at its boundary (``retryable`` says whether trying later can help) and returns
dataclasses, never a ``requests.Response``. Connection pools are shared by the whole process.
"""

from __future__ import annotations

import contextvars
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from frapp.errors import AppError

logger = logging.getLogger(__name__)

DOCUMENTED_TOKEN_LIFETIME = 1799  # CONTRACT.md §2: assume it whenever the response is unclear
PAGE_SIZE = 50  # CONTRACT.md §3: the platform's own paging size
WEBHOOK_TOPICS = (
    "customer/create",
    "customer/update",
    "subscriber/create",
    "subscriber/update",
    "groupmember/create",
    "groupmember/update",
    "newsrecipient/create",
    "newsrecipient/update",
    "order/create",
    "product/create",
    "product/update",
    "product/delete",
    "app/uninstalled",
    "app/update",
)


# --- Errors -------------------------------------------------------------------------------


class FlickRocketError(AppError):
    """Base for everything the platform can do to us. ``str()`` is fit to show an owner."""

    retryable = False
    default_message = "FlickRocket refused the request."

    def __init__(self, message: str = "", *, status: int | None = None, field_errors=None):
        super().__init__(message or self.default_message, field_errors=field_errors)
        self.status = status


class RequestFailed(FlickRocketError):
    """A call FlickRocket refused or could not answer; a page explains it in place.

    Install problems (``NotInstalled``, ``NeedsReinstall``) are not among them: they turn the
    whole page into the install page (oauth.decorators.embedded_view), so views catch this
    class and let those pass by.
    """


class NotInstalled(FlickRocketError):
    default_message = "This app is not installed for this shop yet."


class NeedsReinstall(FlickRocketError):
    default_message = "FlickRocket no longer accepts this app's permission. Please reinstall it."


class NotFound(RequestFailed):
    default_message = "FlickRocket does not know this item."


class Forbidden(RequestFailed):
    default_message = "The app lacks the permission for this. Reinstall it to grant it."


class Invalid(RequestFailed):
    default_message = "FlickRocket refused the values."

    def __init__(self, message: str = "", *, status: int | None = 422, field_errors=None):
        if not message and field_errors:
            message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in field_errors.items())
        super().__init__(message, status=status, field_errors=field_errors)


class RateLimited(RequestFailed):
    retryable = True
    default_message = "FlickRocket asks us to slow down; the change will be sent shortly."

    def __init__(self, message: str = "", *, retry_after: float = 1.0, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(RequestFailed):
    retryable = True
    default_message = "FlickRocket is not answering right now."


class BadResponse(RequestFailed):
    default_message = "FlickRocket sent an answer this app does not understand."


# --- Resources ----------------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _str(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ShippingAddress:
    name: str = ""
    address1: str = ""
    address2: str = ""
    zip: str = ""
    city: str = ""
    province: str = ""
    country_name: str = ""
    country_code: str = ""
    phone: str = ""

    @classmethod
    def from_api(cls, data: dict | None) -> ShippingAddress:
        data = data or {}
        return cls(**{name: _str(data.get(name)) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LineItem:
    id: int
    product_id: str
    title: str
    version: str
    quantity: int
    gtin: str
    grams: int

    @classmethod
    def from_api(cls, data: dict) -> LineItem:
        return cls(
            id=_int(data.get("id")),
            product_id=_str(data.get("product_id")),
            title=_str(data.get("title")),
            version=_str(data.get("version")),
            quantity=_int(data.get("quantity"), 1),
            gtin=_str(data.get("gtin")),
            grams=_int(data.get("grams")),
        )


@dataclass(frozen=True)
class Fulfillment:
    id: int
    created_at: str
    company_id: int
    status: int
    shipping_address: ShippingAddress
    line_items: tuple[LineItem, ...]
    shipping_model: str
    tracking_number: str
    tracking_url: str

    SHIPPED = 100
    OPEN = 0

    @property
    def is_shipped(self) -> bool:
        return self.status == self.SHIPPED

    @property
    def total_grams(self) -> int:
        return sum(item.grams * item.quantity for item in self.line_items)

    @property
    def tracking_numbers(self) -> list[str]:
        return [t.strip() for t in self.tracking_number.split(",") if t.strip()]

    @classmethod
    def from_api(cls, data: dict) -> Fulfillment:
        return cls(
            id=_int(data.get("id")),
            created_at=_str(data.get("created_at")),
            company_id=_int(data.get("company_id")),
            status=_int(data.get("status")),
            shipping_address=ShippingAddress.from_api(data.get("shipping_address")),
            line_items=tuple(LineItem.from_api(i) for i in data.get("line_items") or []),
            shipping_model=_str(data.get("shipping_model")),
            tracking_number=_str(data.get("tracking_number")),
            tracking_url=_str(data.get("tracking_url")),
        )


@dataclass(frozen=True)
class CountryPrice:
    country_name: str
    country_code: str
    price: int


@dataclass(frozen=True)
class CurrencyPrice:
    currency: str
    price: int


@dataclass(frozen=True)
class PriceModel:
    id: int
    name: str
    valid: bool
    countries: tuple[CountryPrice, ...]
    currencies: tuple[CurrencyPrice, ...]
    created_at: str
    updated_at: str

    @classmethod
    def from_api(cls, data: dict) -> PriceModel:
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            valid=_int(data.get("valid")) == 1 or data.get("valid") is True,
            countries=tuple(
                CountryPrice(
                    country_name=_str(c.get("country_name")),
                    country_code=_str(c.get("country_code")).upper(),
                    price=_int(c.get("price")),
                )
                for c in data.get("countries") or []
            ),
            currencies=tuple(
                CurrencyPrice(currency=_str(c.get("currency")).lower(), price=_int(c.get("price")))
                for c in data.get("currencies") or []
            ),
            created_at=_str(data.get("created_at")),
            updated_at=_str(data.get("updated_at")),
        )


@dataclass(frozen=True)
class Webhook:
    id: int
    topic: str
    address: str
    format: str
    is_active: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_api(cls, data: dict) -> Webhook:
        # CONTRACT.md §6: the docs say topic/address/is_active, the plugin scope/destination/is_valid.
        active = data.get("is_active", data.get("is_valid", True))
        return cls(
            id=_int(data.get("id")),
            topic=canonical_topic(_str(data.get("topic", data.get("scope")))),
            address=_str(data.get("address", data.get("destination"))),
            format=_str(data.get("format")) or "json",
            is_active=active is True or _str(active).lower() in ("1", "true"),
            created_at=_str(data.get("created_at")),
            updated_at=_str(data.get("updated_at")),
        )


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str
    user_name: str


@dataclass(frozen=True)
class TokenInfo:
    issued_to: str
    user_id: str
    scope: str
    expires_in: int


@dataclass(frozen=True)
class CallLimit:
    used: int
    size: int


def canonical_topic(topic: str) -> str:
    """CONTRACT.md §3: the singular form is canonical; accept the plural on input."""
    topic = topic.strip().lower()
    head, _, tail = topic.partition("/")
    if head.endswith("s") and f"{head[:-1]}/{tail}" in WEBHOOK_TOPICS:
        return f"{head[:-1]}/{tail}"
    return topic


def token_expiry(payload: dict, *, now: datetime | None = None) -> datetime:
    """When an access token runs out, from whichever key the platform sent (CONTRACT.md §2, §6).

    Anything missing or odd falls back to the documented 1,799 s; the caller refreshes early.
    """
    now = now or datetime.now(UTC)
    seconds = payload.get("expires_in")
    try:
        seconds = float(seconds)
        if 0 < seconds <= 86400 * 30 and math.isfinite(seconds):
            return now + timedelta(seconds=seconds)
    except (TypeError, ValueError):
        pass
    for key in (".expires", "expires"):
        try:
            when = parsedate_to_datetime(str(payload[key]))
        except (KeyError, TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if now < when <= now + timedelta(days=30):
            return when
    return now + timedelta(seconds=DOCUMENTED_TOKEN_LIFETIME)


# --- Transport ----------------------------------------------------------------------------


@dataclass
class CallStats:
    """What one request (or task) spent on FlickRocket; reported as ``Server-Timing``."""

    calls: int = 0
    exchanges: int = 0
    wait_seconds: float = 0.0


call_stats: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("call_stats", default=None)


def _record(seconds: float, *, exchange: bool = False) -> None:
    stats = call_stats.get()
    if stats is not None:
        stats.calls += 1
        stats.exchanges += int(exchange)
        stats.wait_seconds += seconds


_adapter_lock = threading.Lock()
_shared_adapter: HTTPAdapter | None = None


def _adapter() -> HTTPAdapter:
    """One pool for the whole process, so every client reuses warm connections."""
    global _shared_adapter
    with _adapter_lock:
        if _shared_adapter is None:
            _shared_adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
        return _shared_adapter


def _retry_after(response: requests.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError, IndexError):
            return 1.0


def _backoff(attempt: int) -> float:
    return min(4.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)


class FlickRocketClient(requests.Session):
    """Calls FlickRocket for one company.

    ``read_timeout`` is short for page views and longer for the worker. ``max_rate_wait`` is
    how long a call may sleep for ``Retry-After`` before it gives up with ``RateLimited`` so
    the caller (the outbox) can reschedule instead of holding a worker.
    """

    def __init__(
        self,
        company_id: int,
        *,
        read_timeout: float | None = None,
        max_attempts: int = 3,
        max_rate_wait: float = 5.0,
        on_call_limit: Callable[[int, CallLimit], None] | None = None,
    ):
        super().__init__()
        self.company_id = company_id
        self.timeout = (
            settings.FLICKROCKET_CONNECT_TIMEOUT,
            read_timeout or settings.FLICKROCKET_READ_TIMEOUT,
        )
        self.max_attempts = max_attempts
        self.max_rate_wait = max_rate_wait
        self.on_call_limit = on_call_limit
        # A monotonic time after which no new try starts and no read waits longer; the outbox
        # sets it so one send always ends inside the lease that lets it run.
        self.deadline: float | None = None
        self.last_call_limit: CallLimit | None = None
        self.calls = 0
        self.wait_seconds = 0.0  # time spent waiting on FlickRocket, for page-cost benchmarks
        self.headers["Accept"] = "application/json"
        self.headers["User-Agent"] = "FlickRocketFulfillment/1.0"
        self.mount("https://", _adapter())
        self.mount("http://", _adapter())

    @classmethod
    def for_page_view(cls, company_id: int) -> FlickRocketClient:
        return cls(
            company_id,
            read_timeout=settings.FLICKROCKET_PAGE_READ_TIMEOUT,
            max_attempts=2,
            max_rate_wait=2.0,
        )

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests' signature
        kwargs.setdefault("timeout", self._timeout_now())  # never a call without a timeout
        return super().request(method, url, *args, **kwargs)

    def _timeout_now(self) -> tuple[float, float]:
        connect, read = self.timeout
        if self.deadline is None:
            return (connect, read)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Unavailable("FlickRocket did not answer in the time this change may take.")
        return (min(connect, left), min(read, left))

    def _sleep(self, seconds: float) -> None:
        if self.deadline is not None and time.monotonic() + seconds >= self.deadline:
            raise Unavailable("FlickRocket did not answer in the time this change may take.")
        time.sleep(seconds)

    # -- the one place that turns HTTP into data or typed errors --

    def _call(self, method: str, path: str, *, params=None, json=None, retry_safe=None) -> Any:
        retry_safe = method in ("GET", "PUT") if retry_safe is None else retry_safe
        url = settings.FLICKROCKET_API_BASE + path
        refreshed = False
        token = self._access_token()
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                self.calls += 1
                response = self.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                self.wait_seconds += time.perf_counter() - started
                _record(time.perf_counter() - started)
                logger.warning("FlickRocket %s %s: %s", method, path, type(exc).__name__)
                if retry_safe and attempt < self.max_attempts:
                    self._sleep(_backoff(attempt))
                    continue
                raise Unavailable(
                    "FlickRocket did not answer in time."
                    if isinstance(exc, requests.Timeout)
                    else "FlickRocket cannot be reached."
                ) from exc
            self.wait_seconds += time.perf_counter() - started
            _record(time.perf_counter() - started)
            self._observe_call_limit(response)
            status = response.status_code
            logger.info("FlickRocket %s %s -> %s", method, path, status)
            if status == 401 and not refreshed:
                body = self._json(response, strict=False)
                if isinstance(body, dict) and body.get("error") == "expired":
                    refreshed = True
                    token = self._access_token(stale=token)
                    continue
            if status == 429:
                wait = _retry_after(response)
                if wait <= self.max_rate_wait and attempt < self.max_attempts + 2:
                    self._sleep(wait + random.uniform(0, 0.1))
                    continue
                raise RateLimited(retry_after=wait)
            if status >= 500 and retry_safe and attempt < self.max_attempts:
                self._sleep(_backoff(attempt))
                continue
            if status >= 400:
                raise self._error(response)
            if status == 204 or not response.content:
                return {}
            return self._json(response)

    def _observe_call_limit(self, response: requests.Response) -> None:
        used, _, size = response.headers.get("X-FlickRocket-Api-Call-Limit", "").partition("/")
        if used.strip().isdigit() and size.strip().isdigit():
            self.last_call_limit = CallLimit(int(used), int(size))
            if self.on_call_limit:
                self.on_call_limit(self.company_id, self.last_call_limit)

    @staticmethod
    def _json(response: requests.Response, *, strict: bool = True) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            if strict:
                raise BadResponse(status=response.status_code) from exc
            return None

    def _error(self, response: requests.Response) -> FlickRocketError:
        status = response.status_code
        body = self._json(response, strict=False)
        errors = body.get("errors") if isinstance(body, dict) else None
        text = errors if isinstance(errors, str) else ""
        if status == 401:
            from . import services  # the token store decides what a refused token means

            services.mark_needs_reinstall(company_id=self.company_id, reason="token refused")
            return NeedsReinstall(status=status)
        if status == 403:
            return Forbidden(text, status=status)
        if status == 404:
            return NotFound(text, status=status)
        if status in (400, 409, 422):
            if isinstance(errors, dict):
                fields = {
                    str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()
                }
                return Invalid(status=status, field_errors=fields)
            return Invalid(text, status=status)
        if status >= 500:
            return Unavailable(f"FlickRocket answered with an error ({status}).", status=status)
        return RequestFailed(text or f"FlickRocket answered {status}.", status=status)

    def _access_token(self, stale: str | None = None) -> str:
        from . import services

        return services.access_token(company_id=self.company_id, stale=stale)

    def _list(self, path: str, plural: str, params: dict | None = None) -> list[dict]:
        """A list, whether or not the platform pages it (CONTRACT.md §3).

        Ask once without ``page``: the documented API returns everything. Only a full page of
        exactly 50 suggests silent paging; then ask for the next pages until a short page or a
        page of ids already seen.
        """
        first = self._call("GET", path, params=params)
        items = self._envelope(first, plural)
        if len(items) != PAGE_SIZE:
            return items
        seen = {item.get("id") for item in items}
        page = 2
        while True:
            more = self._envelope(self._call("GET", path, params={**(params or {}), "page": page}), plural)
            fresh = [item for item in more if item.get("id") not in seen]
            if not fresh:
                return items
            items.extend(fresh)
            seen.update(item.get("id") for item in fresh)
            if len(more) < PAGE_SIZE:
                return items
            page += 1

    @staticmethod
    def _envelope(body: Any, key: str) -> Any:
        if not isinstance(body, dict) or key not in body:
            raise BadResponse(f"FlickRocket's answer has no '{key}'.")
        return body[key]

    # -- the shop's language --

    def open_fulfillments(self) -> list[Fulfillment]:
        # Reference: CONTRACT.md §3 (GET /api/fulfillments/open.json)
        return self._fulfillments("/api/fulfillments/open.json")

    def shipped_fulfillments(self) -> list[Fulfillment]:
        # Reference: CONTRACT.md §3 (GET /api/fulfillments/complete.json)
        return self._fulfillments("/api/fulfillments/complete.json")

    def all_fulfillments(
        self, *, created_at_min: datetime | None = None, created_at_max: datetime | None = None
    ) -> list[Fulfillment]:
        params = {}
        if created_at_min:
            params["created_at_min"] = created_at_min.strftime("%Y-%m-%dT%H:%M:%S")
        if created_at_max:
            params["created_at_max"] = created_at_max.strftime("%Y-%m-%dT%H:%M:%S")
        # Reference: CONTRACT.md §3 (GET /api/fulfillments.json)
        return self._fulfillments("/api/fulfillments.json", params or None)

    def _fulfillments(self, path: str, params: dict | None = None) -> list[Fulfillment]:
        return [Fulfillment.from_api(item) for item in self._list(path, "fulfillments", params)]

    def fulfillment_count(self) -> int:
        # Reference: CONTRACT.md §3 (GET /api/fulfillments/count.json)
        return _int(self._envelope(self._call("GET", "/api/fulfillments/count.json"), "count"))

    def fulfillment(self, order_id: int) -> Fulfillment:
        # Reference: CONTRACT.md §3 (GET /api/fulfillments/{id}.json)
        body = self._call("GET", f"/api/fulfillments/{int(order_id)}.json")
        return Fulfillment.from_api(self._envelope(body, "fulfillment"))

    def update_fulfillment(
        self, order_id: int, *, tracking_number: str | None = None, status: int | None = None
    ) -> Fulfillment:
        changes: dict[str, Any] = {}
        if tracking_number is not None:
            changes["tracking_number"] = tracking_number
        if status is not None:
            changes["status"] = status
        # A PUT of the same body is safe to repeat, so it is retried like a read.
        # Reference: CONTRACT.md §3 (PUT /api/fulfillments/{id}.json)
        body = self._call("PUT", f"/api/fulfillments/{int(order_id)}.json", json={"fulfillment": changes})
        if isinstance(body, dict) and "fulfillment" in body:
            return Fulfillment.from_api(body["fulfillment"])
        return self.fulfillment(order_id)

    def price_models(self) -> list[PriceModel]:
        # Reference: CONTRACT.md §3 (GET /api/prices.json)
        return [PriceModel.from_api(item) for item in self._list("/api/prices.json", "prices")]

    def price_model(self, price_id: int) -> PriceModel:
        # Reference: CONTRACT.md §3 (GET /api/prices/{id}.json)
        body = self._call("GET", f"/api/prices/{int(price_id)}.json")
        return PriceModel.from_api(self._envelope(body, "price"))

    def price_model_count(self) -> int:
        # Reference: CONTRACT.md §3 (GET /api/prices/count.json)
        return _int(self._envelope(self._call("GET", "/api/prices/count.json"), "count"))

    def webhooks(self) -> list[Webhook]:
        # Reference: CONTRACT.md §3 (GET /admin/webhooks.json), path per §6 in one setting
        body = self._call("GET", f"{settings.FLICKROCKET_WEBHOOKS_PATH}.json")
        return [Webhook.from_api(item) for item in self._envelope(body, "webhooks")]

    def webhook(self, webhook_id: int) -> Webhook:
        # Reference: CONTRACT.md §3 (GET /admin/webhooks/{id}.json)
        body = self._call("GET", f"{settings.FLICKROCKET_WEBHOOKS_PATH}/{int(webhook_id)}.json")
        return Webhook.from_api(self._envelope(body, "webhook"))

    def create_webhook(self, *, topic: str, address: str, format: str = "json") -> Webhook:
        payload = {"webhook": {"topic": canonical_topic(topic), "address": address, "format": format}}
        # A POST is never repeated blindly: a lost answer could mean a second hook.
        # Reference: CONTRACT.md §3 (POST /admin/webhooks.json)
        body = self._call("POST", f"{settings.FLICKROCKET_WEBHOOKS_PATH}.json", json=payload)
        return Webhook.from_api(self._envelope(body, "webhook"))

    def update_webhook(self, webhook_id: int, **changes: Any) -> Webhook:
        if "topic" in changes:
            changes["topic"] = canonical_topic(changes["topic"])
        # Reference: CONTRACT.md §3 (PUT /admin/webhooks/{id}.json)
        body = self._call(
            "PUT",
            f"{settings.FLICKROCKET_WEBHOOKS_PATH}/{int(webhook_id)}.json",
            json={"webhook": changes},
        )
        return Webhook.from_api(self._envelope(body, "webhook"))

    def delete_webhook(self, webhook_id: int) -> None:
        # Reference: CONTRACT.md §3 (DELETE /admin/webhooks/{id}.json)
        try:
            self._call(
                "DELETE",
                f"{settings.FLICKROCKET_WEBHOOKS_PATH}/{int(webhook_id)}.json",
                retry_safe=True,
            )
        except NotFound:
            return  # already gone: what the owner asked for

    def token_info(self) -> TokenInfo:
        token = self._access_token()
        # Reference: CONTRACT.md §2.5 (GET /api/tokeninfo)
        body = self._call("GET", "/api/tokeninfo", params={"access_token": token})
        return TokenInfo(
            issued_to=_str(body.get("issued_to")),
            user_id=_str(body.get("user_id")),
            scope=_str(body.get("scope")),
            expires_in=_int(body.get("expires_in")),
        )


def authorize_url(*, scopes: Iterable[str], state: str) -> str:
    from urllib.parse import urlencode

    query = urlencode(
        {
            "client_id": settings.FLICKROCKET_CLIENT_ID,
            "scope": ",".join(scopes),
            "access_type": "offline",
            "redirect_uri": settings.APP_BASE_URL + "/oauth/callback",
            "state": state,
        }
    )
    # Reference: CONTRACT.md §2.1
    return f"{settings.FLICKROCKET_AUTH_BASE}/oauth2/auth?{query}"


_token_session = threading.local()


def exchange_refresh_token(refresh_token: str) -> TokenGrant:
    """Trade a refresh token (the callback's ``code`` is one) for an access token and a new one.

    Never retried: a refresh token is good for one exchange, a second try could only fail.
    """
    session = getattr(_token_session, "session", None)
    if session is None:
        session = _token_session.session = requests.Session()
        session.mount("https://", _adapter())
        session.mount("http://", _adapter())
    started = time.perf_counter()
    try:
        # Reference: CONTRACT.md §2.3
        response = session.post(
            settings.FLICKROCKET_AUTH_BASE + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": settings.FLICKROCKET_CLIENT_ID,
            },
            timeout=(settings.FLICKROCKET_CONNECT_TIMEOUT, settings.FLICKROCKET_READ_TIMEOUT),
        )
    except requests.Timeout as exc:
        raise Unavailable("FlickRocket did not answer in time.") from exc
    except requests.ConnectionError as exc:
        raise Unavailable("FlickRocket cannot be reached.") from exc
    finally:
        _record(time.perf_counter() - started, exchange=True)
    try:
        body = response.json()
    except ValueError:
        body = None
    if (
        response.status_code == 400
        and isinstance(body, dict)
        and body.get("error")
        in (
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
        )
    ):
        raise NeedsReinstall(status=400)
    if response.status_code == 429:
        raise RateLimited(retry_after=_retry_after(response))
    if response.status_code >= 500:
        raise Unavailable(f"FlickRocket answered with an error ({response.status_code}).")
    if response.status_code >= 400 or not isinstance(body, dict):
        raise BadResponse(status=response.status_code)
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not access or not refresh:
        raise BadResponse("FlickRocket's token answer lacks a token.")
    return TokenGrant(
        access_token=str(access),
        refresh_token=str(refresh),
        expires_at=token_expiry(body),
        scope=_str(body.get("scope")),
        user_name=_str(body.get("userName")),
    )
