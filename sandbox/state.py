"""The sandbox's whole world, in memory, behind one lock.

The sandbox runs as ONE process (many threads), so a module-level ``STORE`` guarded
by an ``RLock`` is all the persistence it needs. Fulfillment and price dicts are never
mutated in place: an update stores a new dict. Readers can therefore take a list of
references under the lock and serialise it after releasing the lock, which keeps a
10,000-order listing from blocking every other request.
"""

import math
import os
import random
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from email.utils import formatdate

from sandbox import seed as seeding

# name -> (environment variable, type, default). Every setting can also be changed at
# runtime through /_control/reset or /_control/settings with the lower-case name.
SETTINGS_SPEC = {
    "client_id": ("SANDBOX_CLIENT_ID", str, "fr-fulfillment"),
    "client_secret": ("SANDBOX_CLIENT_SECRET", str, "sandbox-app-secret"),
    "app_start_url": ("SANDBOX_APP_START_URL", str, "http://localhost:8000/"),
    "app_redirect_uri": ("SANDBOX_APP_REDIRECT_URI", str, "http://localhost:8000/oauth/callback"),
    "app_authorization_url": (
        "SANDBOX_APP_AUTHORIZATION_URL",
        str,
        "http://localhost:8000/oauth/authorize",
    ),
    "token_lifetime": ("SANDBOX_TOKEN_LIFETIME", float, 1799),
    "bucket_size": ("SANDBOX_BUCKET_SIZE", int, 40),
    "leak_rate": ("SANDBOX_LEAK_RATE", float, 2.0),
    "time_scale": ("SANDBOX_TIME_SCALE", float, 1.0),
    "open_orders": ("SANDBOX_OPEN_ORDERS", int, 60),
    "shipped_orders": ("SANDBOX_SHIPPED_ORDERS", int, 40),
    "seed": ("SANDBOX_SEED", int, 42),
    # Not in the brief's list but worth a knob: how long a webhook receiver may take.
    "delivery_timeout": ("SANDBOX_DELIVERY_TIMEOUT", float, 5.0),
}
# Settings that only take effect through a reseed.
SEED_SETTINGS = {"open_orders", "shipped_orders", "seed"}

FAULT_DEFAULTS = {
    "latency_ms": 0,  # added to every /api, /admin and /token call
    "error_rate": 0.0,  # 0..1: answer with one of error_codes, write NOT applied
    "error_codes": [500, 502, 503],
    "error_rate_writes_only": False,  # only PUT/POST/DELETE get error_rate / apply_then_fail_rate
    "timeout_rate": 0.0,  # 0..1: the call is processed, then the answer waits timeout_seconds
    "timeout_seconds": 30.0,
    "outage": False,  # every /api, /admin and /token call gets 503
    "apply_then_fail_rate": 0.0,  # 0..1: a write is applied, then 502 ("lost answer")
}

# The scopes a consent page may grant (§2: the documented ones plus what the platform's
# own client asks for).
KNOWN_SCOPES = [
    "products",
    "customers",
    "orders",
    "themes",
    "files",
    "companies",
    "statistics",
    "webhooks",
    "player",
    "users",
]

WEBHOOK_TOPICS = [
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
]

# §4: seconds after the latest failure before the next attempt; one more failure after
# the last one switches the hook off.
RETRY_SCHEDULE = [60, 180, 300, 600, 900, 1800, 3600, 7200, 21600, 50400, 86400]

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CALL_LOG_MAX = 200_000
FIRST_HOOK_ID = 4759301


def coerce_setting(name, value):
    """Convert a control-API or env value to the setting's type; ValueError if it cannot."""
    if name not in SETTINGS_SPEC:
        raise KeyError(name)
    kind = SETTINGS_SPEC[name][1]
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    if isinstance(value, bool):
        raise ValueError("must be a number")
    converted = kind(value)
    if converted < 0:
        raise ValueError("must not be negative")
    return converted


def settings_from_env():
    out = {}
    for name, (env, kind, default) in SETTINGS_SPEC.items():
        raw = os.environ.get(env, "")
        out[name] = kind(raw) if raw != "" else default
    return out


def coerce_faults(data: dict) -> dict:
    """A full fault set from a (partial) control-API body; ValueError names the bad field."""
    faults = {k: (list(v) if isinstance(v, list) else v) for k, v in FAULT_DEFAULTS.items()}
    for key, value in data.items():
        if key not in FAULT_DEFAULTS:
            raise ValueError(f"{key}: unknown fault")
        if key in ("error_rate_writes_only", "outage"):
            if not isinstance(value, bool):
                raise ValueError(f"{key}: must be true or false")
        elif key == "error_codes":
            if not (
                isinstance(value, list)
                and value
                and all(isinstance(c, int) and 400 <= c <= 599 for c in value)
            ):
                raise ValueError(f"{key}: must be a non-empty list of 4xx/5xx codes")
        elif key in ("error_rate", "timeout_rate", "apply_then_fail_rate"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{key}: must be a number between 0 and 1")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{key}: must be a non-negative number")
        faults[key] = value
    return faults


def iso_now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


class Store:
    """All mutable state. Every method that touches state expects ``self.lock`` held
    (the views take it); ``reset`` takes it itself."""

    def __init__(self):
        self.lock = threading.RLock()
        # The webhook sender sleeps on this until a delivery is due.
        self.cond = threading.Condition(self.lock)
        self.generation = 0
        self.reset({})

    # ----------------------------------------------------------------- lifecycle

    def reset(self, overrides: dict):
        """Back to the seed with env defaults plus ``overrides``: clears tokens, grants,
        hooks, deliveries, faults, the call log and the buckets."""
        settings = settings_from_env()
        for name, value in overrides.items():
            settings[name] = coerce_setting(name, value)
        with self.lock:
            self.settings = settings
            self.faults = coerce_faults({})
            self.generation += 1  # in-flight webhook sends of the old world are dropped
            self.reseed()
            self.refresh_tokens: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.grants: dict[tuple[int, str], dict] = {}
            self.hooks: dict[int, dict] = {}
            self.next_hook_id = FIRST_HOOK_ID
            self.deliveries: dict[int, dict] = {}
            self.next_delivery_id = 1
            self.buckets: dict[tuple[int, str], list[float]] = {}
            self.clear_calls()
            self.last_shell = {"company_id": None, "user_id": None}
            self.cond.notify_all()

    def reseed(self):
        s = self.settings
        world = seeding.generate(s["seed"], s["open_orders"], s["shipped_orders"])
        self.companies = {c["id"]: c for c in world["companies"]}
        self.fulfillments = world["orders"]
        self.prices = {cid: {p["id"]: p for p in plist} for cid, plist in world["prices"].items()}
        self.catalogues = world["catalogues"]
        self.next_order_id = world["next_order_id"]
        # New orders made through the shell/control API draw from their own stream so
        # that they are reproducible too.
        self.order_rng = random.Random(s["seed"] * 7919 + 1)
        self.fault_rng = random.Random(s["seed"] * 104729 + 2)

    def update_settings(self, changes: dict):
        for name, value in changes.items():
            if name in SEED_SETTINGS:
                raise ValueError(f"{name}: needs a reseed, use /_control/reset")
            self.settings[name] = coerce_setting(name, value)
        self.cond.notify_all()  # a new time_scale may move the next delivery

    def clear_calls(self):
        # A call still in flight (a timeout fault sleeping) belongs to the log that was current
        # when it started; the generation keeps it out of the fresh one.
        self.log_generation = getattr(self, "log_generation", 0) + 1
        self.calls: deque = deque(maxlen=CALL_LOG_MAX)
        self.token_exchanges = 0
        self.token_exchange_attempts = 0
        self.rate_limited = 0

    # ----------------------------------------------------------------- companies

    def company(self, company_id):
        try:
            return self.companies.get(int(company_id))
        except (TypeError, ValueError):
            return None

    def user_name_for(self, company_id: int, user_id: str | None = None) -> str:
        """The ``userName`` of a grant: the given user's e-mail, else the owner's."""
        users = self.companies[company_id]["users"]
        for user in users:
            if user["user_id"] == user_id:
                return user["email"]
        return users[0]["email"]

    # ----------------------------------------------------------------- OAuth

    def grant(self, company_id: int, scope: str, user_name: str, client_id: str | None = None) -> str:
        """What approving the consent page does: record the grant, mint a refresh token."""
        client_id = client_id or self.settings["client_id"]
        self.grants[(company_id, client_id)] = {
            "scope": scope,
            "user_name": user_name,
            "granted_at": iso_now(),
        }
        return self._new_refresh_token(company_id, client_id, scope, user_name)

    def _new_refresh_token(self, company_id, client_id, scope, user_name) -> str:
        token = uuid.uuid4().hex  # the docs' refresh tokens are 32 hex digits
        self.refresh_tokens[token] = {
            "company_id": company_id,
            "client_id": client_id,
            "scope": scope,
            "user_name": user_name,
            "used": False,
            "issued": time.time(),
        }
        return token

    def exchange(self, refresh_token: str, client_id: str):
        """§2 step 3. Returns (status, body). A refresh token works exactly once."""
        if client_id != self.settings["client_id"]:
            return 400, {"error": "invalid_client"}
        record = self.refresh_tokens.get(refresh_token)
        if record is None or record["used"] or record["client_id"] != client_id:
            return 400, {"error": "invalid_grant"}
        if (record["company_id"], client_id) not in self.grants:  # permissions were removed
            return 400, {"error": "invalid_grant"}
        record["used"] = True
        now = time.time()
        lifetime = self.settings["token_lifetime"]
        access = secrets.token_urlsafe(96)
        self.access_tokens[access] = {
            "company_id": record["company_id"],
            "client_id": client_id,
            "scope": record["scope"],
            "user_name": record["user_name"],
            "issued": now,
            "expires": now + lifetime,
        }
        new_refresh = self._new_refresh_token(
            record["company_id"], client_id, record["scope"], record["user_name"]
        )
        self.token_exchanges += 1
        return 200, {
            ".expires": http_date(now + lifetime),
            ".issued": http_date(now),
            "access_token": access,
            "access_type": "offline",
            "as:client_id": client_id,
            "expires_in": int(lifetime),
            "refresh_token": new_refresh,
            "scope": record["scope"],
            "token_type": "bearer",
            "userName": record["user_name"],
        }

    def authenticate(self, access_token: str | None):
        """(token record, None) or (None, error text for the 401 body)."""
        if not access_token:
            return None, "access_token required"
        record = self.access_tokens.get(access_token)
        if record is None:
            return None, "invalid access_token"
        if time.time() >= record["expires"]:
            return None, "expired"
        return record, None

    def revoke(self, company_id: int, client_id: str | None = None) -> int:
        """'Remove app permissions': every token of that company+app dies, the grant goes."""
        client_id = client_id or self.settings["client_id"]
        self.grants.pop((company_id, client_id), None)
        dead = 0
        for tokens in (self.access_tokens, self.refresh_tokens):
            for key in [
                k for k, v in tokens.items() if v["company_id"] == company_id and v["client_id"] == client_id
            ]:
                del tokens[key]
                dead += 1
        return dead

    def expire_tokens(self, company_id: int | None) -> int:
        now = time.time()
        n = 0
        for record in self.access_tokens.values():
            if company_id is None or record["company_id"] == company_id:
                record["expires"] = min(record["expires"], now)
                n += 1
        return n

    def installed(self, company_id: int, client_id: str | None = None):
        return self.grants.get((company_id, client_id or self.settings["client_id"]))

    # ----------------------------------------------------------------- rate limit

    def take_drop(self, company_id: int, client_id: str):
        """§5 leaky bucket. Returns (allowed, used, size, retry_after_seconds)."""
        size = self.settings["bucket_size"]
        rate = self.settings["leak_rate"]
        now = time.monotonic()
        bucket = self.buckets.setdefault((company_id, client_id), [0.0, now])
        level = max(0.0, bucket[0] - (now - bucket[1]) * rate)
        bucket[1] = now
        if level + 1 > size:
            bucket[0] = level
            wait = (level + 1 - size) / rate if rate > 0 else 3600
            return False, math.ceil(level), size, max(1, math.ceil(wait))
        bucket[0] = level + 1
        return True, math.ceil(level + 1), size, 0

    # ----------------------------------------------------------------- faults

    def roll_fault(self, method: str):
        """Decide this call's fault: None, 'error', 'timeout' or 'lost_answer'."""
        f = self.faults
        is_write = method in WRITE_METHODS
        rng = self.fault_rng
        if f["timeout_rate"] and rng.random() < f["timeout_rate"]:
            return "timeout"
        if f["error_rate_writes_only"] and not is_write:
            return None
        if f["error_rate"] and rng.random() < f["error_rate"]:
            return "error"
        if is_write and f["apply_then_fail_rate"] and rng.random() < f["apply_then_fail_rate"]:
            return "lost_answer"
        return None

    def error_code(self) -> int:
        return self.fault_rng.choice(self.faults["error_codes"])

    # ----------------------------------------------------------------- call log

    def log_call(self, method, path, endpoint, company_id, status, fault=None, ms=None, generation=None):
        if generation is not None and generation != self.log_generation:
            return
        self.calls.append(
            {
                "t": time.time(),
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "company_id": company_id,
                "status": status,
                "fault": fault,
                "ms": ms,
            }
        )
        if status == 429:
            self.rate_limited += 1

    def call_summary(self):
        by_endpoint: dict[str, dict] = {}
        for call in self.calls:
            entry = by_endpoint.setdefault(call["endpoint"], {"count": 0, "statuses": {}})
            entry["count"] += 1
            key = str(call["status"])
            entry["statuses"][key] = entry["statuses"].get(key, 0) + 1
        return {
            "calls": list(self.calls),
            "by_endpoint": by_endpoint,
            "token_exchanges": self.token_exchanges,
            "token_exchange_attempts": self.token_exchange_attempts,
            "rate_limited": self.rate_limited,
        }

    # ----------------------------------------------------------------- orders

    def create_order(self, company_id: int, fields: dict | None = None) -> dict:
        """A new open order, as if a customer just bought something."""
        fields = fields or {}
        order = seeding.make_order(
            self.order_rng,
            self.next_order_id,
            company_id,
            iso_now(),
            False,
            self.catalogues[company_id],
            seeding.COMPANY_COUNTRIES[company_id],
        )
        self.next_order_id += 1
        for key, value in fields.items():
            if key == "shipping_address" and isinstance(value, dict):
                order["shipping_address"] = {**order["shipping_address"], **value}
            elif key in order and key not in ("id", "company_id"):
                order[key] = value
        self.fulfillments[company_id][order["id"]] = order
        return order


STORE = Store()
