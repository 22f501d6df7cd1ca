"""Every URL that takes an id, tried from company 1202's session with company 1305's real ids.

The routes are enumerated from the URLconf, so a new id-taking URL is covered (or fails
``test_every_id_taking_url_is_covered`` until its kind of id is added to ``other_shop``).
"""

import pytest

from fulfillment.imports.models import CsvImport
from fulfillment.outbox.models import PendingUpdate
from oauth.clients import client_for
from oauth.models import PendingGrant

from .conftest import OTHER, OTHER_HOOK_ADDRESS, app_patterns, fill, int_params

pytestmark = pytest.mark.django_db

ID_ROUTES = [(route, p) for route, p in app_patterns() if int_params(p)]
KNOWN_IDS = {"order_id", "price_id", "webhook_id", "import_id", "update_id", "grant_id"}


def test_every_id_taking_url_is_covered():
    assert ID_ROUTES, "the URLconf has no id-taking routes: the enumeration is broken"
    names = {name for _, p in ID_ROUTES for name in int_params(p)}
    assert names <= KNOWN_IDS, f"add one of 1305's {names - KNOWN_IDS} to other_shop"


def _other_state(sandbox):
    client = client_for(OTHER, purpose="worker")
    hooks = sorted((h.id, h.topic, h.address, h.is_active) for h in client.webhooks())
    return {
        "orders": sandbox.fulfillments(OTHER),
        "hooks": hooks,
        "updates": sorted(
            PendingUpdate.objects.filter(company_id=OTHER).values_list("id", "state", "order_id")
        ),
        "imports": sorted(CsvImport.objects.filter(company_id=OTHER).values_list("id", "state")),
        "pending_grants": sorted(PendingGrant.objects.filter(company_id=OTHER).values_list("id", flat=True)),
    }


def _leaks(response, other) -> list[str]:
    body = response.content.decode(errors="replace")
    markers = [
        other.order["shipping_address"]["name"],
        other.order["shipping_address"]["address1"],
        OTHER_HOOK_ADDRESS,
        "OTHER-TRK-",
        "other.csv",
    ]
    return [m for m in markers if m and m in body]


@pytest.mark.parametrize("route", [route for route, _ in ID_ROUTES])
def test_another_companys_id_is_not_found_and_changes_nothing(route, shop, other_shop, sandbox):
    before = _other_state(sandbox)
    url = fill(route, other_shop.ids)

    got = shop.get(url)
    posted = shop.post(
        url,
        {
            "tracking_number": "IDOR-1",
            "action": "ship",
            "topic": "order/create",
            "address": "https://attacker.example/h",
            "next": "/",
        },
    )
    htmx = shop.post(
        url, {"tracking_number": "IDOR-2", "action": "ship", "from": "list"}, HTTP_HX_REQUEST="true"
    )

    # GET: the page does not exist for this session (405 where the URL is POST-only).
    assert got.status_code in (404, 405), (route, got.status_code)
    for response in (got, posted, htmx):
        assert response.status_code in (302, 400, 404, 405, 422), (route, response.status_code)
        assert not _leaks(response, other_shop), (route, _leaks(response, other_shop))
    assert _other_state(sandbox) == before
    # Nothing queued in 1202's name for 1305's order either.
    assert not PendingUpdate.objects.filter(company_id=1202, order_id=other_shop.ids["order_id"]).exists()


def test_ids_in_forms_and_queries_never_reach_another_company(shop, other_shop, sandbox):
    """The selection pages take order ids from the form; the company never comes from it."""
    before = _other_state(sandbox)
    other_id = other_shop.ids["order_id"]
    name = other_shop.order["shipping_address"]["name"]
    own = next(o for o in sandbox.fulfillments(1202) if o["status"] == 0)

    listing = shop.get(f"fulfillments/all/?company_id={OTHER}&CompanyID={OTHER}")
    assert listing.status_code == 200
    assert f"/fulfillments/{own['id']}/" in listing.content.decode()
    assert f"/fulfillments/{other_id}/" not in listing.content.decode()
    assert name not in listing.content.decode()
    for path in ("fulfillments/slips/", "fulfillments/picklist/"):
        page = shop.get(path, {"ids": f"{own['id']},{other_id}", "CompanyID": OTHER})
        assert page.status_code in (200, 302)
        assert name not in page.content.decode(), path
        page = shop.post(path, {"ids": [str(other_id)], "company_id": OTHER})
        assert name not in page.content.decode(), path
    shop.post(
        "fulfillments/bulk/ship", {"ids": [str(other_id)], "confirm": "1", f"tracking_{other_id}": "X1"}
    )
    shop.post("fulfillments/scan/", {"order_id": str(other_id), "tracking_number": "X2"})
    assert _other_state(sandbox) == before
    assert not PendingUpdate.objects.filter(order_id=other_id, company_id=1202).exists()
