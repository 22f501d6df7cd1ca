"""Price model pages against the sandbox's seeded models, and the money formatting."""

import csv
import io
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from fulfillment.prices.models import PriceListCache
from fulfillment.prices.money import amount_text, format_money

# --- Money formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "currency", "expected"),
    [
        (19800, "eur", "€198.00"),
        (1250, "gbp", "£12.50"),
        (1980, "jpy", "¥1,980"),
        (1250, "chf", "CHF 12.50"),
        (1250, "usd", "$12.50"),
        (123456789, "EUR", "€1,234,567.89"),
        (5, "eur", "€0.05"),
        (0, "usd", "$0.00"),
        (-1250, "gbp", "-£12.50"),
        (1234, "kwd", "KWD 1.234"),
        (1234, "xyz", "XYZ 12.34"),
    ],
)
def test_money_is_formatted_by_the_currencys_own_rules(cents, currency, expected):
    assert format_money(cents, currency) == expected


def test_amounts_use_integer_maths_so_no_cent_is_lost_to_rounding():
    assert amount_text(1_000_000_000_000_001, 2) == "10,000,000,000,000.01"


# --- Pages ------------------------------------------------------------------------------------


@pytest.fixture
def seeded(flickrocket):
    """The sandbox's price models for 1202, read straight from its API (not through the app)."""
    token = flickrocket.access_token(1202)
    response = requests.get(
        flickrocket.url + "/api/prices.json", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()["prices"]


def price_calls(sandbox) -> int:
    return sum(1 for c in sandbox.calls()["calls"] if "/prices" in c.get("path", c.get("endpoint", "")))


def test_list_shows_every_seeded_model_with_each_currency_price_formatted(shop, seeded):
    response = shop.get("prices/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{len(seeded)} price model" in page
    for model in seeded:
        assert f"/prices/{model['id']}/" in page
        for price in model["currencies"]:
            assert format_money(price["price"], price["currency"]) in page
    # The seed prices JPY as 150 times the base in whole yen: no decimals, grouped.
    jpy = [p["price"] for m in seeded for p in m["currencies"] if p["currency"] == "jpy"]
    if jpy:
        assert f"¥{jpy[0]:,}" in page and f"¥{jpy[0]:,}.00" not in page


def test_list_searches_by_name_ignoring_case(shop, seeded):
    page = shop.get("prices/", {"q": "ALBUM"}).content.decode()
    matching = [m for m in seeded if "album" in m["name"].lower()]
    assert matching
    assert f"{len(matching)} of {len(seeded)} price model" in page
    for model in seeded:
        assert (f"/prices/{model['id']}/" in page) == (model in matching)


def test_list_filters_invalid_models(shop, seeded):
    page = shop.get("prices/", {"validity": "invalid"}).content.decode()
    for model in seeded:
        assert (f"/prices/{model['id']}/" in page) == (model["valid"] == 0)


def test_list_filters_by_currency_and_by_country(shop, seeded):
    page = shop.get("prices/", {"currency": "gbp"}).content.decode()
    for model in seeded:
        has_gbp = any(p["currency"] == "gbp" for p in model["currencies"])
        assert (f"/prices/{model['id']}/" in page) == has_gbp

    code = seeded[0]["countries"][0]["country_code"]
    page = shop.get("prices/", {"country": code}).content.decode()
    for model in seeded:
        has_country = any(c["country_code"] == code for c in model["countries"])
        assert (f"/prices/{model['id']}/" in page) == has_country


def test_an_unknown_filter_value_is_ignored_rather_than_an_error(shop, seeded):
    response = shop.get("prices/", {"currency": "<script>", "validity": "maybe"})
    assert response.status_code == 200
    assert f"{len(seeded)} price model" in response.content.decode()


def test_detail_shows_country_and_currency_tables_with_iso_codes_and_names(shop, seeded):
    model = max(seeded, key=lambda m: len(m["currencies"]))
    page = shop.get(f"prices/{model['id']}/").content.decode()
    for country in model["countries"]:
        assert country["country_code"] in page and country["country_name"] in page
        assert f"{country['price'] // 100:,}.{country['price'] % 100:02d}" in page
    # CLDR's names, as Babel gives them (and translates them) for the active language.
    names = {
        "eur": "Euro",
        "gbp": "British Pound",
        "usd": "US Dollar",
        "jpy": "Japanese Yen",
        "chf": "Swiss Franc",
    }
    for price in model["currencies"]:
        assert price["currency"].upper() in page and names[price["currency"]] in page
        assert format_money(price["price"], price["currency"]) in page


def test_another_companys_price_model_is_not_found(installed, embedded, flickrocket):
    installed(1202)
    installed(1305)
    theirs = embedded(1305, "5120")
    their_list = theirs.get("prices/").content.decode()
    mine = embedded(1202, "4711")
    mine_ids = [m.id for m in _cached_models(1202, mine)]
    their_id = next(i for i in range(5001, 5300) if f"/prices/{i}/" in their_list)
    assert their_id not in mine_ids
    assert mine.get(f"prices/{their_id}/").status_code == 404
    assert mine.get(f"prices/{their_id}/export.csv").status_code == 404


def _cached_models(company_id, session):
    from fulfillment.prices.services import load_price_models

    session.get("prices/")
    return load_price_models(company_id=company_id).models


def test_csv_export_has_one_row_per_price_with_plain_amounts(shop, seeded):
    response = shop.get("prices/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    expected = sum(len(m["countries"]) + len(m["currencies"]) for m in seeded)
    assert len(rows) == expected
    jpy = [r for r in rows if r["kind"] == "currency" and r["code"] == "JPY"]
    for row in jpy:
        assert "." not in row["amount"] and row["formatted"].startswith("¥")
    eur = next(r for r in rows if r["code"] == "EUR")
    assert eur["amount"] == f"{int(eur['minor_units']) / 100:.2f}"


def test_csv_export_follows_the_current_filter(shop, seeded):
    response = shop.get("prices/export.csv", {"validity": "valid"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {r["valid"] for r in rows} == {"yes"}


def test_detail_csv_export_holds_only_that_model(shop, seeded):
    model = seeded[0]
    response = shop.get(f"prices/{model['id']}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {r["price_model_id"] for r in rows} == {str(model["id"])}


def test_list_is_cached_briefly_and_the_refresh_button_asks_again(shop, flickrocket):
    shop.get("prices/")
    flickrocket.clear_calls()
    shop.get("prices/")
    shop.get("prices/")
    assert price_calls(flickrocket) == 0

    response = shop.post("prices/refresh/")
    assert response.status_code == 302
    assert price_calls(flickrocket) == 1


def test_expired_copy_is_fetched_again(shop, flickrocket):
    shop.get("prices/")
    PriceListCache.objects.update(fetched_at=timezone.now() - timedelta(hours=1))
    flickrocket.clear_calls()
    shop.get("prices/")
    assert price_calls(flickrocket) == 1


def test_when_flickrocket_is_down_the_last_copy_is_shown_with_a_warning(shop, flickrocket, seeded):
    shop.get("prices/")
    PriceListCache.objects.update(fetched_at=timezone.now() - timedelta(hours=1))
    flickrocket.faults(outage=True)
    response = shop.get("prices/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Older copy" in page and "may be out of date" in page
    assert f"/prices/{seeded[0]['id']}/" in page


def test_when_flickrocket_is_down_and_nothing_is_cached_the_page_says_so(shop, flickrocket):
    flickrocket.faults(outage=True)
    response = shop.get("prices/")
    assert response.status_code == 503
    assert "cannot be shown right now" in response.content.decode()


def test_price_pages_need_a_launched_session(client, db):
    assert client.get("/prices/").status_code == 403
