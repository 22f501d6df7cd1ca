"""The two signatures of docs/flickrocket.md (Launch, Webhook deliveries), kept apart from everything else.

Each reading of an ambiguous spot of the platform docs lives in exactly one function
here, so that if the live platform turns out to differ the fix is a one-place edit.
"""

import base64
import hashlib
import hmac


def launch_hmac(secret: str, user_id: str, company_id: str) -> str:
    """§1: HMAC-SHA256 over the *base64 text* of ``?UserID=..&CompanyID=..``.

    The values are the URL-decoded ones; the caller URL-encodes them when it puts
    them in the iframe URL.
    """
    message = "?UserID=" + str(user_id) + "&CompanyID=" + str(company_id)
    b64 = base64.b64encode(message.encode("utf-8"))  # already ASCII bytes
    return hmac.new(secret.encode("utf-8"), b64, hashlib.sha256).hexdigest()


def _text(value) -> str:
    """§4 text(): strings as-is, ints in decimal, booleans lower-case, null empty."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def webhook_concatenation(body: dict) -> str:
    """§4: walk the body in document order, skipping the top-level ``hash``.

    Scalars inside objects contribute key + text(value), scalars inside arrays
    contribute text(value); nested containers are walked in place without their key.
    """
    parts: list[str] = []

    def walk(node, top=False):
        if isinstance(node, dict):
            for key, value in node.items():
                if top and key == "hash":
                    continue
                if isinstance(value, (dict, list)):
                    walk(value)
                else:
                    parts.append(str(key) + _text(value))
        else:  # list
            for value in node:
                if isinstance(value, (dict, list)):
                    walk(value)
                else:
                    parts.append(_text(value))

    walk(body, top=True)
    return "".join(parts)


def webhook_hash(secret: str, body: dict) -> str:
    """§4: lowercase hex SHA-256 of UTF-8(app secret + concatenation)."""
    data = (secret + webhook_concatenation(body)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def sign_webhook(secret: str, body: dict) -> dict:
    """Return a copy of ``body`` with ``hash`` appended as the last key."""
    signed = {k: v for k, v in body.items() if k != "hash"}
    signed["hash"] = webhook_hash(secret, signed)
    return signed
