"""What the security tests share: another company's real objects, and the app's URL patterns.

Company 1305 ("the other shop") is installed and owns one of each kind of object a URL can
name by id; the tests then use those ids from company 1202's session.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.utils import timezone

from fulfillment.imports import services as import_services
from fulfillment.orders import services as order_services
from fulfillment.outbox import services as outbox_services
from oauth.clients import client_for
from oauth.models import PendingGrant

OTHER = 1305
OTHER_USER = "5120"
OTHER_HOOK_ADDRESS = "https://other-shop-1305.example/hooks/secret-path"


@dataclass(frozen=True)
class OtherShop:
    company_id: int
    order: dict  # an open order, as the sandbox holds it
    ids: dict[str, int]  # URL parameter name -> one of 1305's real ids for it


@pytest.fixture
def other_shop(installed, sandbox) -> OtherShop:
    installed(OTHER)
    client = client_for(OTHER, purpose="worker")
    orders = sandbox.fulfillments(OTHER)
    order = next(o for o in orders if o["status"] == 0)
    second = next(o for o in orders if o["status"] == 0 and o["id"] != order["id"])
    price = client.price_models()[0]
    hook = client.create_webhook(topic="order/create", address=OTHER_HOOK_ADDRESS, format="json")
    job = import_services.preview_tracking_csv(
        company_id=OTHER,
        user_id=OTHER_USER,
        filename="other.csv",
        data=f"order_id,tracking_number\n{second['id']},OTHER-TRK-1\n".encode(),
        ship=True,
        orders=order_services.order_index(company_id=OTHER),
    )
    update = outbox_services.mark_shipped(
        company_id=OTHER, user_id=OTHER_USER, order_id=second["id"], tracking_number="OTHER-TRK-2"
    )
    # A held App Store grant naming 1305 (the confirm/discard URLs take its id).
    expires = timezone.now() + timedelta(hours=1)
    pending = PendingGrant.objects.create(company_id=OTHER, refresh_token_encrypted="x", expires_at=expires)
    ids = {
        "grant_id": pending.pk,
        "order_id": order["id"],
        "price_id": price.id,
        "webhook_id": hook.id,
        "import_id": job.pk,
        "update_id": update.pk,
    }
    return OtherShop(OTHER, order, ids)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def app_patterns() -> list[tuple[str, URLPattern]]:
    """Every route of the app except the staff admin (Django's, cookie-based, staff only)."""
    return [(route, p) for route, p in _walk(get_resolver().url_patterns) if not route.startswith("staff/")]


def int_params(pattern: URLPattern) -> list[str]:
    return [name for name, conv in pattern.pattern.converters.items() if isinstance(conv, IntConverter)]


def fill(route: str, values: dict[str, int]) -> str:
    """``fulfillments/<int:order_id>/`` -> ``fulfillments/1234/``."""
    for name, value in values.items():
        route = route.replace(f"<int:{name}>", str(value))
    assert "<" not in route, f"route {route} has a parameter the security tests do not know"
    return route
