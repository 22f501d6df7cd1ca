"""The webhook subscriptions page, against the sandbox's webhook API."""

import pytest

RECEIVER = "http://localhost:8000/webhooks/flickrocket"  # APP_BASE_URL's dev default


@pytest.fixture(autouse=True)
def _app_base_url(settings):
    settings.APP_BASE_URL = "http://localhost:8000"


def hooks(sandbox, company_id=1202):
    return sorted(
        (h for h in sandbox.state()["hooks"] if h["company_id"] == company_id), key=lambda h: h["id"]
    )


def subscribe(session, topic="order/create", address=RECEIVER):
    return session.post("subscriptions/", {"topic": topic, "address": address})


def page(response) -> str:
    return response.content.decode()


def test_empty_page_offers_the_one_click_subscription(shop):
    response = shop.get("subscriptions/")
    assert response.status_code == 200
    text = page(response)
    assert "No subscriptions yet" in text
    assert "Action needed" in text and "Subscribe what this app needs" in text
    assert f'value="{RECEIVER}"' in text  # the form defaults to this app's receiver


def test_create_subscribes_at_flickrocket_and_lists_it(shop, flickrocket):
    response = subscribe(shop, "product/update", "https://example.com/hooks")
    assert response.status_code == 302

    [hook] = hooks(flickrocket)
    assert (hook["topic"], hook["address"], hook["is_active"]) == (
        "product/update",
        "https://example.com/hooks",
        True,
    )
    text = page(shop.get("subscriptions/"))
    assert "product/update" in text and "https://example.com/hooks" in text
    assert "Active" in text


def test_platform_refusal_becomes_a_field_message_and_keeps_what_was_typed(shop, flickrocket):
    subscribe(shop, "order/create", "https://example.com/a")
    response = subscribe(shop, "order/create", "https://example.com/a")

    assert response.status_code == 422
    text = page(response)
    assert "Address for this topic has already been taken." in text
    assert 'value="https://example.com/a"' in text
    assert '<option value="order/create" selected>' in text
    assert len(hooks(flickrocket)) == 1


def test_an_address_that_is_not_a_url_is_refused_before_asking_flickrocket(shop, flickrocket):
    flickrocket.clear_calls()
    response = subscribe(shop, "order/create", "ftp://files.example.com/x y")
    assert response.status_code == 422
    assert "Enter a valid URL." in page(response)
    assert 'value="ftp://files.example.com/x y"' in page(response)
    calls = flickrocket.calls()["calls"]
    assert not [c for c in calls if c["method"] == "POST" and "webhooks" in c["path"]]


def test_edit_changes_address_and_topic(shop, flickrocket):
    subscribe(shop, "order/create", "https://example.com/old")
    [hook] = hooks(flickrocket)

    form = shop.get(f"subscriptions/{hook['id']}/edit/")
    assert 'value="https://example.com/old"' in page(form)
    response = shop.post(
        f"subscriptions/{hook['id']}/edit/",
        {"topic": "product/create", "address": "https://example.com/new"},
    )
    assert response.status_code == 302
    [changed] = hooks(flickrocket)
    assert (changed["topic"], changed["address"]) == ("product/create", "https://example.com/new")


def test_edit_refused_by_flickrocket_keeps_the_typed_values(shop, flickrocket):
    subscribe(shop, "order/create", "https://example.com/one")
    subscribe(shop, "order/create", "https://example.com/two")
    second = hooks(flickrocket)[1]
    response = shop.post(
        f"subscriptions/{second['id']}/edit/",
        {"topic": "order/create", "address": "https://example.com/one"},
    )
    assert response.status_code == 422
    assert "already been taken" in page(response)
    assert 'value="https://example.com/one"' in page(response)
    assert hooks(flickrocket)[1]["address"] == "https://example.com/two"


def test_delete_asks_first_then_deletes(shop, flickrocket):
    subscribe(shop, "order/create", "https://example.com/x")
    [hook] = hooks(flickrocket)

    confirm = shop.get(f"subscriptions/{hook['id']}/delete/")
    assert confirm.status_code == 200 and "Delete the" in page(confirm)
    assert len(hooks(flickrocket)) == 1  # looking at the question deletes nothing

    assert shop.post(f"subscriptions/{hook['id']}/delete/").status_code == 302
    assert hooks(flickrocket) == []


def test_one_click_subscribes_what_the_app_needs_and_does_nothing_the_second_time(shop, flickrocket):
    shop.post("subscriptions/essentials/")
    first = hooks(flickrocket)
    assert {(h["topic"], h["address"]) for h in first} == {
        ("order/create", RECEIVER),
        ("app/uninstalled", RECEIVER),
        ("app/update", RECEIVER),  # added with the automatic subscription at install
    }

    response = shop.post("subscriptions/essentials/", follow=True)
    assert hooks(flickrocket) == first
    assert "already subscribed. Nothing changed." in page(response)
    assert "receives everything it needs" in page(response)


def test_one_click_keeps_an_existing_hook_and_adds_only_the_missing_one(shop, flickrocket):
    subscribe(shop, "order/create", RECEIVER)
    shop.post("subscriptions/essentials/")
    assert sorted(h["topic"] for h in hooks(flickrocket)) == ["app/uninstalled", "app/update", "order/create"]


@pytest.fixture
def switched_off(shop, flickrocket):
    """A hook FlickRocket gave up on: its address never answers, retries run out at once."""
    flickrocket.settings(time_scale=0.000005, delivery_timeout=0.5)
    subscribe(shop, "order/create", "http://127.0.0.1:9/unreachable")
    [hook] = hooks(flickrocket)
    flickrocket.create_order(1202)
    assert flickrocket.wait_for(lambda: not hooks(flickrocket)[0]["is_active"], timeout=15)
    return hook


def test_switched_off_hook_stands_out_with_what_to_do(shop, switched_off):
    text = page(shop.get("subscriptions/"))
    assert "switched off by FlickRocket" in text
    assert "Switched off" in text and "Switch on again" in text


def test_reactivate_switches_a_hook_back_on(shop, flickrocket, switched_off):
    response = shop.post(f"subscriptions/{switched_off['id']}/reactivate/")
    assert response.status_code == 302
    assert hooks(flickrocket)[0]["is_active"] is True


def test_one_click_switches_a_switched_off_essential_hook_back_on(shop, flickrocket, settings):
    settings.APP_BASE_URL = "http://127.0.0.1:9"  # our receiver, unreachable for this test
    flickrocket.settings(time_scale=0.000005, delivery_timeout=0.5)
    shop.post("subscriptions/essentials/")
    flickrocket.create_order(1202)
    assert flickrocket.wait_for(
        lambda: not next(h for h in hooks(flickrocket) if h["topic"] == "order/create")["is_active"],
        timeout=15,
    )
    response = shop.post("subscriptions/essentials/", follow=True)
    assert "switched order/create back on" in page(response)
    assert len(hooks(flickrocket)) == 3 and all(h["is_active"] for h in hooks(flickrocket))


def test_another_companys_hook_cannot_be_seen_changed_or_deleted(installed, embedded, flickrocket):
    installed(1202)
    installed(1305)
    theirs = embedded(1305, "5120")
    subscribe(theirs, "order/create", "https://alpine.example/hook")
    [their_hook] = hooks(flickrocket, 1305)
    mine = embedded(1202, "4711")

    assert mine.get(f"subscriptions/{their_hook['id']}/edit/").status_code == 404
    assert mine.post(f"subscriptions/{their_hook['id']}/delete/").status_code == 404
    assert mine.post(f"subscriptions/{their_hook['id']}/reactivate/").status_code == 404
    assert "alpine.example" not in page(mine.get("subscriptions/"))
    assert hooks(flickrocket, 1305) == [their_hook]


def test_flickrocket_outage_shows_a_plain_message_instead_of_an_error(shop, flickrocket):
    flickrocket.faults(outage=True)
    response = shop.get("subscriptions/")
    assert response.status_code == 200
    assert "could not be asked for the subscriptions" in page(response)


def test_missing_webhooks_permission_is_explained(installed, embedded, flickrocket):
    # The explanation is now the shared missing-permission page (403), asking for `webhooks`.
    installed(1202, scope="orders,products")
    response = embedded(1202, "4711").get("subscriptions/")
    assert response.status_code == 403
    assert "needs the permission to manage webhooks (<code>webhooks</code>)" in page(response)
    assert "Grant the permission" in page(response)
    assert '<input type="hidden" name="scope" value="webhooks">' in page(response)


def test_deliveries_page_lists_what_arrived_for_this_company_only(shop, client):
    from tests.factories import deliver_webhook, webhook_body

    deliver_webhook(client, webhook_body(1202, "order/create", {"type": "order", "id": "777001"}))
    deliver_webhook(client, webhook_body(1305, "order/create", {"type": "order", "id": "888001"}))
    bad = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "x"}, secret="wrong")
    deliver_webhook(client, bad)

    text = page(shop.get("subscriptions/deliveries/"))
    assert "777001" in text and "888001" not in text
    assert "Waiting" in text  # not processed yet
    # Refused attempts are listed apart, under their own tab, never among the shop's deliveries.
    assert "app/uninstalled" not in text and "Not valid" not in text
    assert 'id="refused-tab"' in text

    refused_only = page(shop.get("subscriptions/deliveries/", {"show": "refused"}))
    assert "777001" not in refused_only and "app/uninstalled" in refused_only
