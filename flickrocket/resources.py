"""What FlickRocket sends, as typed, frozen ``msgspec`` structs (docs/flickrocket.md, "Fulfillments",
"Prices", "Webhooks").

Each struct declares its fields once; decoding is generic. The fast path decodes a response's
bytes straight into structs (``decode_list``), reading ``"267227"`` as 267227. An answer the
fast path refuses (a null, a number where text belongs, a spelling of the platform's own client)
is read again item by item and field by field, with the rules the platform's answers have always
been read with: a field that cannot be read takes its default (text: ``""``, numbers: ``0``
unless the field says otherwise), so nulls and missing keys never raise and one odd order never
costs the list. An item that is not an object at all is a ``BadResponse``, never skipped
silently.

Resources round-trip: ``msgspec.to_builtins(resource)`` is what the app stores, and
``from_api``/``parse_list`` read it back.
"""

from __future__ import annotations

import functools
import typing
from datetime import datetime
from typing import Any, ClassVar, Self

import msgspec

from .errors import BadResponse

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


def canonical_topic(topic: str) -> str:
    """The singular form is canonical; the plural is accepted on input ("Webhooks")."""
    topic = topic.strip().lower()
    head, _, tail = topic.partition("/")
    if head.endswith("s") and f"{head[:-1]}/{tail}" in WEBHOOK_TOPICS:
        return f"{head[:-1]}/{tail}"
    return topic


# gc=False: resources hold only text, numbers and other resources, never a cycle, so the
# collector need not track them; a kept list of 10,000 orders is then no work for every
# collection and takes less memory.
class Resource(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    # Another spelling of a field, read when the canonical key is absent: {field: other key}.
    aliases: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_api(cls, data: Any) -> Self:
        """One item as FlickRocket (or our own store) holds it, read leniently."""
        return _lenient(cls, data)


class ShippingAddress(Resource, frozen=True, kw_only=True):
    name: str = ""
    address1: str = ""
    address2: str = ""
    zip: str = ""
    city: str = ""
    province: str = ""
    country_name: str = ""
    country_code: str = ""
    phone: str = ""


class LineItem(Resource, frozen=True, kw_only=True):
    id: int = 0
    product_id: str = ""
    title: str = ""
    version: str = ""
    quantity: int = 1
    gtin: str = ""
    grams: int = 0


class Fulfillment(Resource, frozen=True, kw_only=True):
    SHIPPED: ClassVar[int] = 100
    OPEN: ClassVar[int] = 0

    id: int = 0
    created_at: str = ""
    company_id: int = 0
    status: int = 0
    shipping_address: ShippingAddress = ShippingAddress()
    line_items: tuple[LineItem, ...] = ()
    shipping_model: str = ""
    tracking_number: str = ""
    tracking_url: str = ""

    @property
    def is_shipped(self) -> bool:
        return self.status == self.SHIPPED

    @property
    def total_grams(self) -> int:
        return sum(item.grams * item.quantity for item in self.line_items)

    @property
    def tracking_numbers(self) -> list[str]:
        return [t.strip() for t in self.tracking_number.split(",") if t.strip()]


class CountryPrice(Resource, frozen=True, kw_only=True):
    country_name: str = ""
    country_code: str = ""
    price: int = 0

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "country_code", self.country_code.upper())


class CurrencyPrice(Resource, frozen=True, kw_only=True):
    currency: str = ""
    price: int = 0

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "currency", self.currency.lower())


class PriceModel(Resource, frozen=True, kw_only=True):
    id: int = 0
    name: str = ""
    valid: bool = False
    countries: tuple[CountryPrice, ...] = ()
    currencies: tuple[CurrencyPrice, ...] = ()
    created_at: str = ""
    updated_at: str = ""


class Webhook(Resource, frozen=True, kw_only=True):
    # The docs say topic/address/is_active, the platform's own client scope/destination/is_valid.
    aliases: ClassVar[dict[str, str]] = {"topic": "scope", "address": "destination", "is_active": "is_valid"}

    id: int = 0
    topic: str = ""
    address: str = ""
    format: str = "json"
    is_active: bool = True
    created_at: str = ""
    updated_at: str = ""

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "topic", canonical_topic(self.topic))
        msgspec.structs.force_setattr(self, "format", self.format or "json")


class TokenInfo(Resource, frozen=True, kw_only=True):
    issued_to: str = ""
    user_id: str = ""
    scope: str = ""
    expires_in: int = 0


class TokenGrant(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""
    user_name: str = ""


class CallLimit(msgspec.Struct, frozen=True):
    used: int
    size: int


# --- Decoding -----------------------------------------------------------------------------


def decode_list[T: Resource](content: bytes, key: str, item_type: type[T]) -> list[T]:
    """``{key: [...]}`` from a response's bytes, straight into ``item_type``."""
    if not item_type.aliases:
        try:
            return getattr(msgspec.json.decode(content, type=_envelope(key, item_type), strict=False), key)
        except msgspec.ValidationError:
            pass  # one odd value somewhere: read it again the lenient way
        except msgspec.DecodeError as exc:
            raise BadResponse() from exc
    items = envelope(decode_json(content), key)
    if not isinstance(items, list):
        raise BadResponse(f"FlickRocket's '{key}' is not a list.")
    return parse_list(item_type, items)


def decode_one[T: Resource](content: bytes, key: str, item_type: type[T]) -> T:
    """``{key: {...}}`` from a response's bytes."""
    return _lenient(item_type, envelope(decode_json(content), key))


def parse_list[T: Resource](item_type: type[T], items: list[Any]) -> list[T]:
    """Already-decoded items (a stored copy, or the lenient path): typed where possible."""
    if not item_type.aliases:
        try:
            return msgspec.convert(items, list[item_type], strict=False)
        except msgspec.ValidationError:
            pass
    return [_lenient(item_type, item) for item in items]


def decode_json(content: bytes) -> Any:
    try:
        return msgspec.json.decode(content)
    except msgspec.DecodeError as exc:
        raise BadResponse() from exc


def envelope(body: Any, key: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise BadResponse(f"FlickRocket's answer has no '{key}'.")
    return body[key]


@functools.cache
def _envelope(key: str, item_type: type) -> type:
    return msgspec.defstruct(f"{item_type.__name__}List", [(key, list[item_type])])


@functools.cache
def _fields(cls: type) -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(cls)


def _lenient[T: Resource](cls: type[T], data: Any) -> T:
    if not isinstance(data, dict):
        raise BadResponse(f"FlickRocket sent a {cls.__name__} that is not an object.")
    values = {}
    for field in _fields(cls):
        key = field.encode_name
        if key not in data:
            key = cls.aliases.get(field.name, key)
            if key not in data:
                continue  # the field's default
        values[field.name] = _value(field, data[key])
    return cls(**values)


def _value(field: msgspec.structs.FieldInfo, value: Any) -> Any:
    kind = field.type
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError:
        pass
    if kind is str:
        return "" if value is None else str(value)
    if kind is int:
        return _int(value, field.default)
    if kind is bool:
        return value is True or _int(value, 0) == 1 or str(value).strip().lower() == "true"
    if isinstance(kind, type) and issubclass(kind, Resource):
        return _lenient(kind, value) if value else kind()
    (item_type, _) = typing.get_args(kind)  # tuple[Resource, ...]
    if not value:
        return ()
    if not isinstance(value, list):
        raise BadResponse(f"FlickRocket's '{field.name}' is not a list.")
    return tuple(_lenient(item_type, item) for item in value)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default
