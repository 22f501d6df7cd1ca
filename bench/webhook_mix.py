"""The burst ``bench/webhooks.py`` fires: what each delivery is and how it must be answered."""

from __future__ import annotations

import json
import os
import random

from sandbox.signing import sign_webhook

SECRET = os.environ.get("FLICKROCKET_CLIENT_SECRET", "sandbox-app-secret")
UNINSTALLED_COMPANY = 990_001  # deliveries for a shop without the app: acknowledged, recorded
WARM_UP_COMPANY = 990_002  # the warm-up's deliveries: stored and acted on, left out of the checks


def build(total: int, companies: list[int], rng: random.Random) -> list[dict]:
    """The burst, shuffled. Each item: kind, expected status, raw body, and what it means."""
    n_dupes = total * 10 // 100
    n_bad_sig = total * 8 // 100
    n_unsigned = total * 2 // 100
    n_malformed = total * 8 // 100
    n_unique = total - n_dupes - n_bad_sig - n_unsigned - n_malformed
    items = []
    order_id = 700_000
    for i in range(n_unique):
        order_id += 1
        if i % 20 == 19:
            company, topic = UNINSTALLED_COMPANY, "order/create"
        elif i % 20 == 18:
            company, topic = rng.choice(companies), "customer/update"
        else:
            company, topic = rng.choice(companies), "order/create"
        kind = "order" if topic == "order/create" else "customer"
        body = sign_webhook(
            SECRET,
            {
                "company_id": company,
                "producer": "shop",
                "scope": topic,
                "data": {"type": kind, "id": str(order_id)},
            },
        )
        items.append(
            {
                "kind": "good",
                "status": {200},
                "raw": json.dumps(body).encode(),
                "company": company,
                "topic": topic,
            }
        )
    originals = [item for item in items]
    for _ in range(n_dupes):
        items.append({**rng.choice(originals), "kind": "duplicate"})
    for i in range(n_bad_sig):
        body = sign_webhook(
            "not-the-app-secret",
            {
                "company_id": rng.choice(companies),
                "producer": "shop",
                "scope": "app/uninstalled",
                "data": {"type": "app", "id": f"forged-{i}"},
            },
        )
        items.append({"kind": "bad-signature", "status": {401}, "raw": json.dumps(body).encode()})
    for i in range(n_unsigned):
        body = {
            "company_id": rng.choice(companies),
            "producer": "shop",
            "scope": "app/uninstalled",
            "data": {"type": "app", "id": f"unsigned-{i}"},
        }
        items.append({"kind": "unsigned", "status": {401}, "raw": json.dumps(body).encode()})
    malformed = [
        (b"this is not json", {400}),
        (b"[1, 2, 3]", {400}),
        (json.dumps(sign_webhook(SECRET, {"producer": "shop", "scope": "order/create"})).encode(), {400}),
        (json.dumps({"company_id": 1, "scope": "x", "hash": "0", "pad": "x" * 70_000}).encode(), {413}),
    ]
    for i in range(n_malformed):
        raw, status = malformed[i % len(malformed)]
        items.append({"kind": "malformed", "status": status, "raw": raw})
    rng.shuffle(items)
    return items
