"""Rendered pages kept per process, served again while nothing they show has changed.

A warm page used to cost ten to sixty times a bare request, almost all of it rendering the same
HTML again. A view that opts in (``serve``) is rendered once per company data version
(``frapp.dataversion``: the database bumps it on any write to the company's rows), session,
user, language, full path and htmx target, plus whatever else the view names (``vary``: an
answer from FlickRocket it just read); the view says until when its page stays right
(``keep``), for what depends on the clock, such as a list that is due to be fetched again.

What must differ on every view is rendered through ``fresh_token`` (a form's idempotency key)
and replaced by new values each time the page is served again. The CSRF token stays: the key
includes the session, and a session's CSRF secret does not change.

Never kept or served from here: anything but a GET of an embedded session, a page with flash
messages waiting (showing them consumes them), a page inside a transaction (on PostgreSQL its
own writes bump the version only at commit), or a response the view did not ``keep``.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import get_script_prefix
from django.utils.translation import get_language

from .dataversion import current_version, is_complete

logger = logging.getLogger(__name__)

KEPT_SECONDS = 30
_HTMX_HEADERS = ("HX-Request", "HX-Target", "HX-Boosted", "HX-History-Restore-Request")
_recording: ContextVar[list[str] | None] = ContextVar("pagecache_recording", default=None)
_deadline: ContextVar[list[float] | None] = ContextVar("pagecache_deadline", default=None)
# Memory a kept page holds besides its content: its key (the full path), headers, bookkeeping.
_ENTRY_OVERHEAD = 1024
_LONGEST_PATH = 2048  # a longer URL (a pasted search) is served, never kept
_ENTRIES = 1000


def fresh_token() -> str:
    """A random value that must be new on every page view, such as a form's idempotency key
    (the same submission twice queues one change, so two views must never share one)."""
    value = secrets.token_urlsafe(16)
    recorded = _recording.get()
    if recorded is not None:
        recorded.append(value)
    return value


def changes_at(when: float) -> None:
    """Called while a page renders: what it shows changes by itself at ``when`` (a
    ``time.time()``), as a change waiting too long starts to need attention. Kept until then
    at the latest."""
    recorded = _deadline.get()
    if recorded is not None and when < recorded[0]:
        recorded[0] = when


def keep(response: HttpResponse, *, until: float | None = None) -> HttpResponse:
    """Let ``serve`` keep this response until ``until`` (a ``time.time()``), at most
    ``KEPT_SECONDS`` from now: what a page derives from the clock (a change that has waited too
    long, "5 minutes ago") is at most that late."""
    limit = time.time() + KEPT_SECONDS
    response.keep_until = limit if until is None else min(until, limit)
    return response


def keep_older_copy(response: HttpResponse, *, until: float | None) -> HttpResponse:
    """A page showing an older copy because FlickRocket did not answer: kept only while it asked
    us to wait (``until``, its Retry-After), since asking sooner is pointless; otherwise not at
    all, so the next view asks again."""
    return response if until is None else keep(response, until=until)


@dataclass(frozen=True)
class _Page:
    version: int
    until: float
    status: int
    headers: tuple[tuple[str, str], ...]
    # The content split around its fresh tokens: odd items are tokens, replaced on every view.
    parts: tuple[bytes, ...]
    size: int

    def response(self) -> HttpResponse:
        fresh: dict[bytes, bytes] = {}
        chunks = list(self.parts)
        for i in range(1, len(chunks), 2):
            old = chunks[i]
            if old not in fresh:
                fresh[old] = secrets.token_urlsafe(16).encode()
            chunks[i] = fresh[old]
        response = HttpResponse(b"".join(chunks), status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


_pages: OrderedDict[tuple, _Page] = OrderedDict()
_bytes = 0
_lock = threading.Lock()


def serve(request, *, render: Callable[[], HttpResponse], vary: tuple = ()) -> HttpResponse:
    """The kept page for this request if it is still right, else ``render()`` (kept if it may be)."""
    key = _key(request, vary)
    if key is None:
        return render()
    # Read before anything the page shows: a change committed after this read makes the page
    # rendered now newer than its version, never older.
    version = current_version(request.company_id)
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
    if page is not None and page.version == version and time.time() < page.until:
        return page.response()
    token, deadline = _recording.set([]), _deadline.set([float("inf")])
    try:
        response = render()
        tokens, changes = _recording.get(), _deadline.get()[0]
    finally:
        _recording.reset(token)
        _deadline.reset(deadline)
    until = getattr(response, "keep_until", None)
    if until is not None and _keepable(response):
        _store(key, _page_of(response, version=version, until=min(until, changes), tokens=tokens))
    return response


_checked_at: float | None = None
_complete = False
_RECHECK_SECONDS = 30  # a migrate that failed between dropping and reinstalling the triggers


def _versions_work() -> bool:
    """Are the data version triggers all there (checked every 30 s per process)? Without them
    a write would not move the version and a kept page would show what was true before it."""
    global _checked_at, _complete
    now = time.monotonic()
    if _checked_at is None or now - _checked_at > _RECHECK_SECONDS:
        _complete = is_complete()
        _checked_at = now
        if not _complete:
            clear_pages()
            logger.error("Kept pages are off: the data version triggers are missing (run migrate).")
    return _complete


def clear() -> None:
    """Forget every kept page (and whether the triggers were checked: tests migrate anew)."""
    global _checked_at
    clear_pages()
    _checked_at = None


def clear_pages() -> None:
    global _bytes
    with _lock:
        _pages.clear()
        _bytes = 0


def _key(request, vary: tuple) -> tuple | None:
    if request.method != "GET" or not getattr(request, "embedded", False) or request.company_id is None:
        return None
    if connection.in_atomic_block or not settings.PAGE_CACHE_BYTES or not _versions_work():
        return None
    path = request.get_full_path()
    if len(path) > _LONGEST_PATH:
        return None
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", None)
    if queued or "_messages" in request.session:
        return None
    return (
        request.company_id,
        request.flickrocket_user_id,
        get_script_prefix(),  # the session
        path,
        get_language(),
        tuple(request.headers.get(h) for h in _HTMX_HEADERS),
        *vary,
    )


def _keepable(response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and response.get("Content-Type", "").startswith("text/html")
    )


def _page_of(response: HttpResponse, *, version: int, until: float, tokens: list[str]) -> _Page:
    content = response.content
    if tokens:
        pattern = re.compile(b"(" + b"|".join(re.escape(t.encode()) for t in set(tokens)) + b")")
        parts = tuple(pattern.split(content))
    else:
        parts = (content,)
    headers = tuple(response.items())
    return _Page(
        version=version,
        until=until,
        status=response.status_code,
        headers=headers,
        parts=parts,
        size=len(content) + sum(len(k) + len(v) for k, v in headers) + _ENTRY_OVERHEAD,
    )


def _key_size(key: tuple) -> int:
    """The key's parts of any length: the path and the htmx headers the client sent."""
    return len(key[3]) + sum(len(value or "") for value in key[5])


def _store(key: tuple, page: _Page) -> None:
    global _bytes
    limit = settings.PAGE_CACHE_BYTES
    if page.size > limit // 4:
        return
    size = page.size + _key_size(key)
    with _lock:
        old = _pages.pop(key, None)
        if old is not None:
            _bytes -= old.size + _key_size(key)
        _pages[key] = page
        _bytes += size
        while _bytes > limit or len(_pages) > _ENTRIES:
            dropped_key, dropped = _pages.popitem(last=False)
            _bytes -= dropped.size + _key_size(dropped_key)
