"""The platform's two signatures, each in one function (docs/flickrocket.md, "Launch" and
"Webhook deliveries").

If the live platform turns out to sign differently, these are the only lines to change.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any


# docs/flickrocket.md, "Launch"
def launch_hmac(*, secret: str, user_id: str, company_id: str) -> str:
    message = f"?UserID={user_id}&CompanyID={company_id}"
    signed_text = base64.b64encode(message.encode("utf-8"))  # the base64 *text* is signed
    return hmac.new(secret.encode("utf-8"), signed_text, hashlib.sha256).hexdigest()


def launch_is_valid(*, secret: str, user_id: str, company_id: str, signature: str) -> bool:
    expected = launch_hmac(secret=secret, user_id=user_id, company_id=company_id)
    return hmac.compare_digest(expected, signature.strip().lower())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _walk(node: Any, parts: list[str], *, top: bool = False) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if top and key == "hash":
                continue
            if isinstance(value, Mapping | list):
                _walk(value, parts)  # nested containers are walked in place, key not appended
            else:
                parts.append(str(key) + _text(value))
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, Mapping | list):
                _walk(value, parts)
            else:
                parts.append(_text(value))


def webhook_concatenation(body: Mapping[str, Any]) -> str:
    parts: list[str] = []
    _walk(body, parts, top=True)
    return "".join(parts)


# docs/flickrocket.md, "Webhook deliveries"
def webhook_hash(*, secret: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((secret + webhook_concatenation(body)).encode("utf-8")).hexdigest()


def webhook_is_valid(*, secret: str, body: Mapping[str, Any]) -> bool:
    received = body.get("hash")
    if not isinstance(received, str) or not received:
        return False
    return hmac.compare_digest(webhook_hash(secret=secret, body=body), received.strip().lower())
