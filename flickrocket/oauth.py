"""The OAuth install (docs/flickrocket.md, "OAuth install"): the consent URL and the exchange of
a refresh token, on the same transport, pool and error types as every other call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from .errors import BadResponse, NeedsReinstall
from .resources import TokenGrant
from .transport import Transport

DOCUMENTED_TOKEN_LIFETIME = 1799  # seconds; assumed whenever the answer is unclear
# What the token endpoint says when this refresh token (or this app) is no longer accepted.
REFUSED_GRANT_ERRORS = ("invalid_grant", "invalid_client", "unauthorized_client")


def authorize_url(
    *, auth_base: str, client_id: str, redirect_uri: str, scopes: Iterable[str], state: str
) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "scope": ",".join(scopes),
            "access_type": "offline",
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{auth_base.rstrip('/')}/oauth2/auth?{query}"


def exchange_refresh_token(
    refresh_token: str, *, auth_base: str, client_id: str, transport: Transport | None = None
) -> TokenGrant:
    """Trade a refresh token (the install callback's ``code`` is one) for an access token and
    the next refresh token.

    Never retried, not even after a 429: a refresh token is good for one exchange, and a second
    try could only fail. Raises ``NeedsReinstall`` when FlickRocket refuses the grant.
    """
    transport = transport or Transport()
    response = transport.send(
        "POST",
        f"{auth_base.rstrip('/')}/token",
        retry_safe=False,
        max_rate_wait=0,
        exchange=True,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if status == 400 and isinstance(body, dict) and body.get("error") in REFUSED_GRANT_ERRORS:
        raise NeedsReinstall(status=status)
    if status >= 400 or not isinstance(body, dict):
        raise BadResponse(status=status)
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not access or not refresh:
        raise BadResponse("FlickRocket's token answer lacks a token.")
    return TokenGrant(
        access_token=str(access),
        refresh_token=str(refresh),
        expires_at=token_expiry(body),
        scope=_text(body.get("scope")),
        user_name=_text(body.get("userName")),
    )


def token_expiry(payload: dict, *, now: datetime | None = None) -> datetime:
    """When an access token runs out, from whichever key the platform sent.

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


def _text(value: Any) -> str:
    return "" if value is None else str(value)
