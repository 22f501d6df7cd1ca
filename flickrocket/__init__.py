"""FlickRocket, the platform, as code: no Django, no models, nothing from this project's apps.

The platform itself is described in docs/flickrocket.md. The app builds clients through
``oauth.clients.client_for``; everything a caller needs is importable from here::

    import flickrocket as fr

    try:
        orders = client.open_fulfillments()
    except fr.Transient:
        ...  # show what we had
"""

from .api import PAGE_SIZE, FlickRocketClient, TokenProvider, format_platform_time
from .errors import (
    BadResponse,
    Error,
    FlickRocketError,
    Forbidden,
    Invalid,
    NeedsReinstall,
    NotFound,
    NotInstalled,
    RateLimited,
    RequestFailed,
    Transient,
    Unavailable,
    WrongCompany,
    scope_for_path,
)
from .oauth import DOCUMENTED_TOKEN_LIFETIME, authorize_url, exchange_refresh_token, token_expiry
from .resources import (
    WEBHOOK_TOPICS,
    CallLimit,
    CountryPrice,
    CurrencyPrice,
    Fulfillment,
    LineItem,
    PriceModel,
    ShippingAddress,
    TokenGrant,
    TokenInfo,
    Webhook,
    canonical_topic,
    parse_list,
)
from .transport import CallStats, Pause, Policy, Transport, backoff, call_stats, retry_after

__all__ = [
    "DOCUMENTED_TOKEN_LIFETIME",
    "PAGE_SIZE",
    "WEBHOOK_TOPICS",
    "BadResponse",
    "CallLimit",
    "CallStats",
    "CountryPrice",
    "CurrencyPrice",
    "Error",
    "FlickRocketClient",
    "FlickRocketError",
    "Forbidden",
    "Fulfillment",
    "Invalid",
    "LineItem",
    "NeedsReinstall",
    "NotFound",
    "NotInstalled",
    "Pause",
    "Policy",
    "PriceModel",
    "RateLimited",
    "RequestFailed",
    "ShippingAddress",
    "TokenGrant",
    "TokenInfo",
    "TokenProvider",
    "Transient",
    "Transport",
    "Unavailable",
    "Webhook",
    "WrongCompany",
    "authorize_url",
    "backoff",
    "call_stats",
    "canonical_topic",
    "exchange_refresh_token",
    "format_platform_time",
    "parse_list",
    "retry_after",
    "scope_for_path",
    "token_expiry",
]
