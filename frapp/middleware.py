"""The embedded session, request ids and request logs.

Inside the FlickRocket iframe our cookies are third-party: Safari, Firefox and (increasingly)
Chrome drop them. So the embedded session does not ride in a cookie. A launch creates an
ordinary Django session and sends the browser to ``/s/<session key>/...``; this middleware
takes the key out of the path, loads the session, and sets the script prefix so that every
``reverse()``, ``redirect()`` and ``{% url %}`` keeps the key in the links it builds. Forms,
htmx requests and navigation all carry it without any cookie, and CSRF works because its
secret lives in that session (``AppCsrfViewMiddleware``). Requests outside ``/s/`` (staff admin)
keep Django's cookie session and CSRF cookie.
"""

import logging
import re
import time
import uuid
from importlib import import_module

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import (
    CSRF_SESSION_KEY,
    CSRF_TOKEN_LENGTH,
    CsrfViewMiddleware,
    _unmask_cipher_token,
)
from django.middleware.locale import LocaleMiddleware
from django.urls import get_script_prefix, set_script_prefix
from django.utils import translation
from django.utils.cache import patch_vary_headers

from flickrocket import CallStats, call_stats

from .headers import allow_framing, never_cache
from .logging import request_id_var

logger = logging.getLogger("frapp.request")

REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
SESSION_PREFIX = re.compile(r"^/s/(?P<key>[a-z0-9]{32})(?P<rest>/.*)?$")
SESSION_TOUCH_INTERVAL = 60
# The language a user chose in the app, copied from oauth.models.UserPreference at launch.
SESSION_LANGUAGE_KEY = "language"
# Called by FlickRocket's servers, never by a browser: no cookie, session, CSRF token, language
# or flash message means anything there, and a burst of deliveries must be answered fast. The
# browser middleware below steps aside for these paths (the receiver's own signature check,
# body limit and method check are what protect it); security headers still apply.
MACHINE_PATHS = frozenset({"/webhooks/flickrocket"})


def is_machine_request(request) -> bool:
    return getattr(request, "machine", False)


class SkipsMachineRequests:
    """Mixed into a browser-only middleware: a machine request goes straight past it."""

    def __call__(self, request):
        if is_machine_request(request):
            return self.get_response(request)
        return super().__call__(request)


def embedded_session_prefix(session_key: str) -> str:
    return f"/s/{session_key}/"


class EmbeddedSessionMiddleware(SessionMiddleware):
    def __init__(self, get_response):
        super().__init__(get_response)
        self.SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request):
        match = SESSION_PREFIX.match(request.path_info)
        request.embedded = False
        request.company_id = None
        request.flickrocket_user_id = None
        # Decided here, on the path as it came in: /s/<key>/webhooks/flickrocket is a browser's.
        request.machine = match is None and request.path_info in MACHINE_PATHS
        if request.machine:
            return self.get_response(request)
        if match is None:
            response = super().__call__(request)
            # The launch URL is the one page FlickRocket frames without a session yet.
            if request.path_info == "/":
                allow_framing(response)
            return response

        key = match["key"]
        request.embedded = True
        request.path_info = match["rest"] or "/"
        # request.path keeps the key while the page is built (links, get_full_path, APPEND_SLASH);
        # META's copy is read by nothing but reports, so it goes now.
        request.META["PATH_INFO"] = request.path_info
        request.session = self.SessionStore(key)
        if request.session.get("company_id") is not None and self._within_lifetime(request.session):
            request.company_id = int(request.session["company_id"])
            request.flickrocket_user_id = request.session.get("user_id")
        outer_prefix = get_script_prefix()
        set_script_prefix(outer_prefix.rstrip("/") + embedded_session_prefix(key))
        try:
            response = self.get_response(request)
        finally:
            set_script_prefix(outer_prefix)
            # Django logs a 4xx/5xx response with request.path once we return ("Not Found: ...",
            # "Unprocessable Content: ..."); by then no page needs the key.
            request.path = outer_prefix.rstrip("/") + request.path_info
        self._save_embedded(request)
        allow_framing(response)
        # Every embedded page (lists, orders, slips, exports) carries customer data: no browser
        # or proxy may keep a copy.
        never_cache(response)
        return response

    def _within_lifetime(self, session) -> bool:
        """A launch URL carries no signed time, so the session itself must end: at most
        APP_SESSION_MAX_AGE_SECONDS after its launch, however recently it was used."""
        now = int(time.time())
        # A session opened before "created" was kept starts its lifetime at its launch, which
        # its first "touched" still records.
        created = session.setdefault("created", session.get("touched", now))
        if now - created < settings.APP_SESSION_MAX_AGE_SECONDS:
            return True
        session.delete()
        return False

    def _save_embedded(self, request) -> None:
        session = request.session
        # An expired or unknown key loads as an empty session with no key: never save that, it
        # would mint a new key the URL does not carry.
        if session.session_key is None or request.company_id is None:
            return
        now = int(time.time())
        if session.modified or now - session.get("touched", 0) > SESSION_TOUCH_INTERVAL:
            session["touched"] = now
            # The row dies with the session, so clearsessions removes it after either limit.
            remaining = session.get("created", now) + settings.APP_SESSION_MAX_AGE_SECONDS - now
            session.set_expiry(max(1, min(settings.APP_SESSION_IDLE_SECONDS, remaining)))
            session.save()


class AppCsrfViewMiddleware(SkipsMachineRequests, CsrfViewMiddleware):
    """Inside the iframe, where no cookie of ours survives, the CSRF secret lives in the embedded
    session; everywhere else (the staff admin) in Django's usual first-party cookie
    (``CSRF_USE_SESSIONS = False``).

    With the secret in the session everywhere, every anonymous GET of the staff login page stored
    a 14-day session row. The cookie is the global default because Django's admin protects its
    views with its own ``csrf_protect``, which reads only the setting.
    """

    def _get_secret(self, request):
        if not getattr(request, "embedded", False):
            return super()._get_secret(request)
        secret = request.session.get(CSRF_SESSION_KEY)
        if secret is not None and len(secret) == CSRF_TOKEN_LENGTH:
            secret = _unmask_cipher_token(secret)  # stored masked before Django 4.0
        return secret

    def _set_csrf_cookie(self, request, response):
        if not getattr(request, "embedded", False):
            return super()._set_csrf_cookie(request, response)
        if request.session.get(CSRF_SESSION_KEY) != request.META["CSRF_COOKIE"]:
            request.session[CSRF_SESSION_KEY] = request.META["CSRF_COOKIE"]


class RequestLogMiddleware:
    """One log line per request, with a request id that every other log line shares."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # META, not request.headers: that builds a dict of every header, for this one.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        stats = CallStats()
        stats_token = call_stats.set(stats)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            total = time.perf_counter() - started
            response["X-Request-ID"] = request_id
            # Server-Timing shows, in any browser's devtools and in the benchmarks, how much of
            # a page was FlickRocket and how much was us.
            # Hundredths of a millisecond: the cheapest requests take 0.2 ms.
            response["Server-Timing"] = (
                f'flickrocket;dur={stats.wait_seconds * 1000:.2f};desc="{stats.calls} calls, '
                f'{stats.exchanges} token exchanges", '
                f"app;dur={(total - stats.wait_seconds) * 1000:.2f}"
            )
            if logger.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: skip building the record
                self._log(request, response, total, stats)
            return response
        finally:
            call_stats.reset(stats_token)
            request_id_var.reset(token)

    @staticmethod
    def _log(request, response, total: float, stats: CallStats) -> None:
        logger.info(
            "%s %s %s",
            request.method,
            request.path_info,  # never request.path: it carries the session key
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path_info,
                "status": response.status_code,
                "company_id": getattr(request, "company_id", None),
                "duration_ms": round(total * 1000, 1),
                "flickrocket_calls": stats.calls,
            },
        )


class AppAuthenticationMiddleware(SkipsMachineRequests, AuthenticationMiddleware):
    """Django's, except for machine requests (no session, so no user)."""


class AppMessageMiddleware(SkipsMachineRequests, MessageMiddleware):
    """Django's, except for machine requests (messages live in the session)."""


class AppLocaleMiddleware(SkipsMachineRequests, LocaleMiddleware):
    """The browser's Accept-Language, unless the user chose a language in the app.

    The choice is stored per FlickRocket user (``oauth.models.UserPreference``) and copied into
    the embedded session at launch, so applying it costs no query per request.
    """

    def process_request(self, request):
        chosen = request.session.get(SESSION_LANGUAGE_KEY) if hasattr(request, "session") else None
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
            return
        if _language_prefix_patterns_used(request):
            return super().process_request(request)
        # Without i18n_patterns Django looks for a language in the path (twice per request) only
        # to ignore what it finds: the same choice, cookie then Accept-Language, without that.
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        if _language_prefix_patterns_used(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


def _language_prefix_patterns_used(request) -> bool:
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]
