"""The headers every embedded response carries: framing only by the FlickRocket admin, and no cache.

Both used to be built afresh for every response (Django's ``add_never_cache_headers`` parses and
rejoins ``Cache-Control`` twice; the CSP middleware renders the policy dict), which on a cheap
page was a noticeable part of its own time. The finished header values are kept here instead,
and Django's helpers still handle whatever a view set itself.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP, build_policy
from django.utils.http import http_date

# What add_never_cache_headers gives a response that has no Cache-Control yet (a test holds the
# two equal, so a Django change cannot make them drift apart).
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"

_framed_policy: tuple[dict, str | None] | None = None
_expires: tuple[int, str] = (0, "")


def never_cache(response) -> None:
    """Django's add_never_cache_headers, without re-parsing on the usual response."""
    global _expires
    cache_control = response.get("Cache-Control")
    if cache_control is None and "Expires" not in response:
        second = int(time.time())
        if _expires[0] != second:
            _expires = (second, http_date(second))
        response.headers["Expires"] = _expires[1]
        response.headers["Cache-Control"] = NEVER_CACHE
    elif cache_control != NEVER_CACHE or "Expires" not in response:
        # A view's own Cache-Control (a download, @never_cache with other directives): merged.
        add_never_cache_headers(response)


def allow_framing(response) -> None:
    """Only the FlickRocket admin may frame the app; everything else keeps 'none'."""
    config, policy = _framing_policy()
    response._csp_config = config
    response.xframe_options_exempt = True
    # Set here, the CSP middleware leaves it be; a nonce is per request, so that one renders there.
    if policy is not None and str(CSP.HEADER_ENFORCE) not in response:
        response.headers[str(CSP.HEADER_ENFORCE)] = policy


def _framing_policy() -> tuple[dict, str | None]:
    global _framed_policy
    if _framed_policy is None:
        config = {**settings.SECURE_CSP, "frame-ancestors": [settings.FLICKROCKET_ADMIN_ORIGIN]}
        uses_nonce = any(
            CSP.NONCE == values or (isinstance(values, list | tuple | set) and CSP.NONCE in values)
            for values in config.values()
        )
        _framed_policy = (config, None if uses_nonce else build_policy(config))
    return _framed_policy


@receiver(setting_changed)
def _forget_policy(*, setting, **kwargs) -> None:
    global _framed_policy
    if setting in {"SECURE_CSP", "FLICKROCKET_ADMIN_ORIGIN"}:
        _framed_policy = None
