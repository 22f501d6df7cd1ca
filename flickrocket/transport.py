"""HTTP to FlickRocket: one connection pool per process, a timeout on every call, one retry
policy (docs/flickrocket.md, "Rate limit").

``Transport.send`` returns the ``requests.Response`` of any answer below 500 but 429, and turns
everything else into a typed error: no answer in time or at all and a final 5xx become
``Unavailable``, a 429 the caller may not wait for becomes ``RateLimited``. It never reads a
body; what an answer means is the caller's business.
"""

from __future__ import annotations

import contextvars
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import RateLimited, Unavailable
from .resources import CallLimit

logger = logging.getLogger(__name__)

CALL_LIMIT_HEADER = "X-FlickRocket-Api-Call-Limit"


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential from ``base``, capped at ``cap``,
    jittered to between half and all of it so retries of many callers spread out."""
    return min(cap, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


def retry_after(headers: Any) -> float:
    """``Retry-After`` in seconds, given as seconds or as an HTTP date; 1 s when unreadable."""
    raw = headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError, IndexError):
            return 1.0


def call_limit(headers: Any) -> CallLimit | None:
    """``X-FlickRocket-Api-Call-Limit: used/size``, if the answer carries a readable one."""
    used, _, size = headers.get(CALL_LIMIT_HEADER, "").partition("/")
    if used.strip().isdigit() and size.strip().isdigit():
        return CallLimit(int(used), int(size))
    return None


@dataclass(frozen=True)
class Policy:
    """How long a caller may wait. ``max_rate_wait`` is how long one call may sleep on a 429's
    ``Retry-After`` before it gives up with ``RateLimited``; 0 gives up at once."""

    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    max_attempts: int = 3
    max_rate_wait: float = 5.0
    backoff_base: float = 0.5
    backoff_cap: float = 4.0


@dataclass
class CallStats:
    """What one request (or task) spent on FlickRocket; reported as ``Server-Timing``."""

    calls: int = 0
    exchanges: int = 0
    wait_seconds: float = 0.0


call_stats: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("call_stats", default=None)


def _record(seconds: float, *, exchange: bool) -> None:
    stats = call_stats.get()
    if stats is not None:
        stats.calls += 1
        stats.exchanges += int(exchange)
        stats.wait_seconds += seconds


_pool = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
_sessions = threading.local()


def _session() -> requests.Session:
    """This thread's session on the process's one pool. Cookies are refused: one session
    serves every shop, and nothing of one shop's answer may travel with another's call."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.headers["Accept"] = "application/json"
        session.headers["User-Agent"] = "FlickRocketFulfillment/1.0"
        session.mount("https://", _pool)
        session.mount("http://", _pool)
        _sessions.session = session
    return session


MAX_PAUSE_SECONDS = 60.0


class Pause:
    """Until when the platform asked a shop's callers to wait (its ``Retry-After``).

    Shared by the clients that must not sleep (page views): asking again before then only earns
    another 429, so they are refused here, without a call, and show what they already have.
    """

    def __init__(self) -> None:
        self._until = 0.0

    def remaining(self) -> float:
        return self._until - time.monotonic()

    def hold(self, seconds: float) -> None:
        # At most a minute, whatever the header said (a day, a far date, "inf"): one odd answer
        # must not keep a shop's pages from asking until the process restarts.
        seconds = min(seconds, MAX_PAUSE_SECONDS) if math.isfinite(seconds) else MAX_PAUSE_SECONDS
        self._until = max(self._until, time.monotonic() + seconds)


class Transport:
    """Sends calls for one client under one ``Policy``.

    ``deadline`` is a monotonic time after which no new try starts and no read waits longer.
    ``on_call_limit`` hears every call-limit header the platform sends. With ``pause``, a
    ``Retry-After`` this client does not sleep out is remembered there, and calls until it ends
    are ``RateLimited`` at once.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        on_call_limit: Callable[[CallLimit], None] | None = None,
        pause: Pause | None = None,
    ):
        self.policy = policy or Policy()
        self.on_call_limit = on_call_limit
        self.pause = pause
        self.deadline: float | None = None
        self.last_call_limit: CallLimit | None = None
        self.calls = 0
        self.wait_seconds = 0.0  # time spent waiting on FlickRocket, for page-cost benchmarks

    def raise_if_paused(self) -> None:
        """``RateLimited`` while the platform's last ``Retry-After`` for this shop lasts."""
        if self.pause is not None and (left := self.pause.remaining()) > 0:
            raise RateLimited(retry_after=left)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.policy.connect_timeout, self.policy.read_timeout)

    def send(
        self,
        method: str,
        url: str,
        *,
        retry_safe: bool | None = None,
        max_rate_wait: float | None = None,
        exchange: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """``retry_safe`` defaults to GET and PUT (repeating them is harmless); a POST is never
        sent twice after a lost answer. ``kwargs`` go to ``requests`` (params, json, data, headers).
        """
        retry_safe = method in ("GET", "PUT") if retry_safe is None else retry_safe
        rate_wait = self.policy.max_rate_wait if max_rate_wait is None else max_rate_wait
        if not exchange:
            self.raise_if_paused()
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                self.calls += 1
                response = _session().request(method, url, timeout=self._timeout_now(), **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                self._waited(started, exchange)
                logger.warning("FlickRocket %s %s: %s", method, _path(url), type(exc).__name__)
                if retry_safe and attempt < self.policy.max_attempts:
                    self._sleep(self._backoff(attempt))
                    continue
                raise Unavailable(
                    "FlickRocket did not answer in time."
                    if isinstance(exc, requests.Timeout)
                    else "FlickRocket cannot be reached."
                ) from exc
            self._waited(started, exchange)
            self._observe(response)
            status = response.status_code
            logger.info("FlickRocket %s %s -> %s", method, _path(url), status)
            if status == 429:
                wait = retry_after(response.headers)
                if 0 < rate_wait and wait <= rate_wait and attempt < self.policy.max_attempts + 2:
                    self._sleep(wait + random.uniform(0, 0.1))
                    continue
                if self.pause is not None and not exchange:
                    self.pause.hold(wait)
                raise RateLimited(retry_after=wait)
            if status >= 500:
                if retry_safe and attempt < self.policy.max_attempts:
                    self._sleep(self._backoff(attempt))
                    continue
                raise Unavailable(f"FlickRocket answered with an error ({status}).", status=status)
            return response

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, base=self.policy.backoff_base, cap=self.policy.backoff_cap)

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

    def _waited(self, started: float, exchange: bool) -> None:
        seconds = time.perf_counter() - started
        self.wait_seconds += seconds
        _record(seconds, exchange=exchange)

    def _observe(self, response: requests.Response) -> None:
        limit = call_limit(response.headers)
        if limit is not None:
            self.last_call_limit = limit
            if self.on_call_limit:
                self.on_call_limit(limit)


def _path(url: str) -> str:
    # Logs name the endpoint only: a query may carry a token (tokeninfo's access_token).
    return "/" + url.split("?", 1)[0].split("//", 1)[-1].partition("/")[2]
