"""The embedded session survives a browser that blocks third-party cookies."""

import pytest

from fulfillment.outbox.models import PendingUpdate
from oauth.models import Installation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_launch_install_and_navigate_inside_the_iframe_without_third_party_cookies(
    page, app_url, flickrocket, screenshot
):
    page.goto(f"{flickrocket.url}/shell/1202/apps?user=4711")
    frame = page.frame_locator("#app-frame")
    frame.get_by_role("heading", name="Install FlickRocket Fulfillment").wait_for()
    screenshot("install-page-in-iframe")
    # The browser really does refuse an unpartitioned third-party cookie in this frame.
    stored = page.frame(name="app-frame").evaluate(
        "() => { document.cookie = 'probe=1; SameSite=None; Secure; Path=/'; return document.cookie; }"
    )
    assert "probe" not in stored

    # A POST from inside the iframe: its CSRF secret lives in the URL-carried session.
    frame.locator("#install-button").click()
    page.wait_for_url(f"{flickrocket.url}/oauth2/auth*")
    screenshot("consent")
    page.get_by_role("button", name="Approve").click()

    # Back in the shell, the app reloads inside the iframe, now installed.
    page.wait_for_url(f"{flickrocket.url}/shell/1202/apps*")
    frame.get_by_role("heading", name="Open orders").wait_for()
    nav = frame.locator("nav.app-nav")
    assert "Shop 1202" in nav.inner_text() and "User 4711" in nav.inner_text()
    screenshot("open-orders")

    installation = Installation.objects.get(company_id=1202)
    assert installation.installed_by == "4711"
    assert flickrocket.calls()["token_exchanges"] == 1

    # Several more pages inside the iframe: still the same company and user.
    for link, heading in [("Shipped", "Shipped"), ("Prices", "Price models"), ("Open", "Open orders")]:
        frame.locator("nav.app-nav a.nav-link", has_text=link).first.click()
        frame.get_by_role("heading", name=heading).first.wait_for()
        assert "Shop 1202" in frame.locator("nav.app-nav").inner_text()

    # An htmx POST (CSRF in a header) from the list: the row is swapped in place.
    row = frame.locator("tr[id^=order-]").first
    order_id = int(row.get_attribute("id").removeprefix("order-"))
    row.get_by_placeholder("Tracking no.").fill("BROWSER-1")
    row.get_by_role("button", name="Ship").click()
    frame.locator(f"#order-{order_id}", has_text="BROWSER-1").wait_for()
    screenshot("shipped-inline")

    # A plain form POST from the order page.
    other = frame.locator("tr[id^=order-]").nth(1).get_attribute("id").removeprefix("order-")
    frame.locator(f"#order-{other} a", has_text=f"#{other}").click()
    frame.get_by_role("heading", name=f"Order #{other}").wait_for()
    frame.locator("#id_tracking_number").fill("BROWSER-2")
    frame.get_by_role("button", name="Save tracking only").click()
    frame.get_by_role("heading", name=f"Order #{other}").wait_for()
    assert "Shop 1202" in frame.locator("nav.app-nav").inner_text()
    screenshot("order-page-after-post")

    updates = {u.order_id: u for u in PendingUpdate.objects.all()}
    assert updates[order_id].tracking_number == "BROWSER-1"
    assert updates[int(other)].tracking_number == "BROWSER-2"
    assert {(u.company_id, u.user_id) for u in updates.values()} == {(1202, "4711")}

    # Nothing the app needs rides in a cookie the browser would keep for localhost in a frame.
    app_cookies = [c for c in page.context.cookies() if c["domain"] in ("localhost", ".localhost")]
    assert all(c["name"] not in ("sessionid", "csrftoken") for c in app_cookies)
