"""Webhook subscriptions and the delivery sender (§3, §4).

Model: each hook has a FIFO queue of deliveries. The sender posts the head of a
hook's queue when the hook is due. A success acks it and lets the next one go at
once; a failure blocks the whole hook (the docs: "the app will be blocked" and later
events are "queued up") until the next retry of §4's schedule, counted from the latest
failure. One failure after the last scheduled retry switches the hook off
(``is_active: false``) and abandons its queue. Times are multiplied by the
``time_scale`` setting so tests can walk the 48-hour schedule in a second.

Blocking is per hook (per address), not per app: a dead order/create receiver should
not stop app/uninstalled from reaching a different address.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from sandbox.signing import sign_webhook
from sandbox.state import RETRY_SCHEDULE, STORE, WEBHOOK_TOPICS, iso_now

PUBLIC_HOOK_FIELDS = ("id", "topic", "address", "format", "is_active", "created_at", "updated_at")


# --------------------------------------------------------------------- subscriptions


def public_hook(hook: dict) -> dict:
    return {k: hook[k] for k in PUBLIC_HOOK_FIELDS}


def canonical_topic(topic) -> str | None:
    """The singular topic, accepting the docs' plural spelling (``orders/create``)."""
    if not isinstance(topic, str):
        return None
    topic = topic.strip()
    if topic in WEBHOOK_TOPICS:
        return topic
    noun, _, action = topic.partition("/")
    if noun.endswith("s") and f"{noun[:-1]}/{action}" in WEBHOOK_TOPICS:
        return f"{noun[:-1]}/{action}"
    return None


def validate_hook(data: dict, partial: bool) -> tuple[dict, dict]:
    """Check a ``webhook`` body. Returns (clean fields, field errors)."""
    clean, errors = {}, {}
    if "topic" in data or not partial:
        topic = data.get("topic")
        if topic in (None, ""):
            errors["topic"] = ["can't be blank"]
        elif canonical_topic(topic) is None:
            errors["topic"] = [f"is not a valid topic (one of: {', '.join(WEBHOOK_TOPICS)})"]
        else:
            clean["topic"] = canonical_topic(topic)
    if "address" in data or not partial:
        address = data.get("address")
        if address in (None, ""):
            errors["address"] = ["can't be blank"]
        elif not _is_http_url(address):
            errors["address"] = ["must be an http or https URL"]
        else:
            clean["address"] = address
    if "format" in data:
        if data["format"] != "json":
            errors["format"] = ["must be json"]
        else:
            clean["format"] = "json"
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = ["must be true or false"]
        else:
            clean["is_active"] = data["is_active"]
    return clean, errors


def _is_http_url(value) -> bool:
    if not isinstance(value, str) or len(value) > 2000 or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def hooks_of(company_id: int, client_id: str) -> list[dict]:
    return [h for h in STORE.hooks.values() if h["company_id"] == company_id and h["client_id"] == client_id]


def duplicate_error(company_id, client_id, topic, address, exclude_id=None):
    for hook in hooks_of(company_id, client_id):
        if hook["id"] != exclude_id and hook["topic"] == topic and hook["address"] == address:
            return {"address": ["for this topic has already been taken"]}
    return None


def create_hook(company_id: int, client_id: str, fields: dict) -> dict:
    now = iso_now()
    hook = {
        "id": STORE.next_hook_id,
        "company_id": company_id,
        "client_id": client_id,
        "topic": fields["topic"],
        "address": fields["address"],
        "format": fields.get("format", "json"),
        "is_active": fields.get("is_active", True),
        "created_at": now,
        "updated_at": now,
        # sender bookkeeping, never shown by the API
        "failures": 0,
        "next_at": 0.0,
        "queue": [],
        "in_flight": False,
        "switched_off_at": None,
    }
    STORE.next_hook_id += 1
    STORE.hooks[hook["id"]] = hook
    return hook


def update_hook(hook: dict, fields: dict):
    reactivating = fields.get("is_active") is True and not hook["is_active"]
    hook.update(fields)
    hook["updated_at"] = iso_now()
    if reactivating:
        # A fresh start: the schedule restarts; abandoned deliveries stay abandoned.
        hook["failures"] = 0
        hook["next_at"] = 0.0
        hook["switched_off_at"] = None
    STORE.cond.notify_all()


def delete_hook(hook: dict):
    _abandon_queue(hook, "hook deleted")
    del STORE.hooks[hook["id"]]


# --------------------------------------------------------------------- events


def fire(company_id: int, topic: str, data: dict, client_id: str | None = None) -> list[int]:
    """Queue one delivery per active hook of (company, app) subscribed to ``topic``.

    Events reach only apps the company has installed, except the uninstall notice
    itself (queued by the revoke before the grant is gone anyway). Call with the lock held.
    """
    client_id = client_id or STORE.settings["client_id"]
    if topic != "app/uninstalled" and not STORE.installed(company_id, client_id):
        return []
    ids = []
    for hook in hooks_of(company_id, client_id):
        if hook["topic"] != topic or not hook["is_active"]:
            continue
        body = sign_webhook(
            STORE.settings["client_secret"],
            {
                "company_id": company_id,
                "producer": "shop",
                "scope": topic,
                "data": data,
            },
        )
        delivery = {
            "id": STORE.next_delivery_id,
            "hook_id": hook["id"],
            "company_id": company_id,
            "topic": topic,
            "address": hook["address"],
            "body": body,
            "state": "pending",
            "created_at": iso_now(),
            "attempts": [],
        }
        STORE.next_delivery_id += 1
        STORE.deliveries[delivery["id"]] = delivery
        hook["queue"].append(delivery["id"])
        ids.append(delivery["id"])
    if ids:
        ensure_sender()
        STORE.cond.notify_all()
    return ids


def fire_order_created(order: dict) -> list[int]:
    return fire(order["company_id"], "order/create", {"type": "order", "id": str(order["id"])})


def fire_uninstalled(company_id: int) -> list[int]:
    client_id = STORE.settings["client_id"]
    return fire(company_id, "app/uninstalled", {"type": "app", "id": client_id}, client_id)


def uninstall(company_id: int) -> tuple[int, list[int]]:
    """'Remove app permissions': notify app/uninstalled (only if it was installed, so a
    second click sends nothing), then kill every token. Returns (tokens revoked, delivery ids)."""
    deliveries = fire_uninstalled(company_id) if STORE.installed(company_id) else []
    return STORE.revoke(company_id), deliveries


def _abandon_queue(hook: dict, why: str):
    for delivery_id in hook["queue"]:
        delivery = STORE.deliveries.get(delivery_id)
        if delivery and delivery["state"] == "pending":
            delivery["state"] = "abandoned"
            delivery["abandoned_because"] = why
    hook["queue"] = []


# --------------------------------------------------------------------- sender

_sender_lock = threading.Lock()
_sender_thread: threading.Thread | None = None
_pool: ThreadPoolExecutor | None = None


def ensure_sender():
    """Start the sender thread on first use (in the serving process, after any fork)."""
    global _sender_thread, _pool
    with _sender_lock:
        if _sender_thread is None or not _sender_thread.is_alive():
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-post")
            _sender_thread = threading.Thread(target=_sender_loop, name="webhook-sender", daemon=True)
            _sender_thread.start()


def _sender_loop():
    while True:
        with STORE.cond:
            now = time.monotonic()
            wake_at = None
            for hook in STORE.hooks.values():
                if not hook["queue"] or hook["in_flight"] or not hook["is_active"]:
                    continue
                if hook["next_at"] <= now:
                    hook["in_flight"] = True
                    delivery = STORE.deliveries[hook["queue"][0]]
                    _pool.submit(
                        _post,
                        STORE.generation,
                        hook["id"],
                        delivery["id"],
                        delivery["address"],
                        delivery["body"],
                        STORE.settings["delivery_timeout"],
                    )
                else:
                    wake_at = hook["next_at"] if wake_at is None else min(wake_at, hook["next_at"])
            # Sleep until the next hook is due or something changes (cap: settings may move it).
            timeout = 1.0 if wake_at is None else min(1.0, max(0.0, wake_at - now))
            STORE.cond.wait(timeout)


def _post(generation: int, hook_id: int, delivery_id: int, address: str, body: dict, timeout: float):
    started = time.monotonic()
    status, error = None, None
    try:
        response = requests.post(
            address,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                "User-Agent": "FlickRocket-Sandbox-Webhooks/1",
            },
            timeout=timeout,
            allow_redirects=False,  # a 3xx is a failure, not something to follow
        )
        status = response.status_code
        response.close()
    except requests.Timeout:
        error = f"timeout after {timeout:g} s"
    except requests.ConnectionError:
        error = "connection failed (refused or unreachable)"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
    ok = status is not None and 200 <= status < 300
    with STORE.cond:
        if generation != STORE.generation:
            return  # the world was reset while we were posting
        _record(hook_id, delivery_id, status, error, ok, int((time.monotonic() - started) * 1000))
        STORE.cond.notify_all()


def _record(hook_id, delivery_id, status, error, ok, ms):
    hook = STORE.hooks.get(hook_id)
    delivery = STORE.deliveries.get(delivery_id)
    if delivery is None:
        return
    delivery["attempts"].append(
        {
            "attempt": len(delivery["attempts"]) + 1,
            "at": iso_now(),
            "t": time.time(),
            "status": status,
            "ok": ok,
            "error": error,
            "ms": ms,
        }
    )
    if hook is None:  # deleted meanwhile
        return
    hook["in_flight"] = False
    now = time.monotonic()
    if ok:
        delivery["state"] = "delivered"
        if hook["queue"] and hook["queue"][0] == delivery_id:
            hook["queue"].pop(0)
        hook["failures"] = 0
        hook["next_at"] = now
        return
    hook["failures"] += 1
    if hook["failures"] > len(RETRY_SCHEDULE):
        hook["is_active"] = False
        hook["switched_off_at"] = iso_now()
        hook["updated_at"] = hook["switched_off_at"]
        _abandon_queue(hook, "hook switched off after the last retry")
        return
    hook["next_at"] = now + RETRY_SCHEDULE[hook["failures"] - 1] * STORE.settings["time_scale"]


def deliveries_view(hook_id: int | None = None) -> list[dict]:
    """Deliveries for the control API and the shell, newest first."""
    out = []
    for delivery in reversed(STORE.deliveries.values()):
        if hook_id is not None and delivery["hook_id"] != hook_id:
            continue
        hook = STORE.hooks.get(delivery["hook_id"])
        item = dict(delivery)
        item["attempts"] = [dict(a) for a in delivery["attempts"]]
        item["status_codes"] = [a["status"] for a in delivery["attempts"]]
        item["hook_active"] = hook["is_active"] if hook else None
        if hook and delivery["state"] == "pending" and hook["queue"] and hook["queue"][0] == delivery["id"]:
            item["next_attempt_in"] = round(max(0.0, hook["next_at"] - time.monotonic()), 3)
        out.append(item)
    return out
