"""The embedded session survives a browser that blocks third-party cookies."""

import pytest

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
    for _ in range(3):
        frame.get_by_role("link", name="Open", exact=True).first.click()
        frame.get_by_role("heading", name="Open orders").wait_for()
        assert "Shop 1202" in frame.locator("nav.app-nav").inner_text()

    # Nothing the app needs rides in a cookie the browser would keep for localhost in a frame.
    app_cookies = [c for c in page.context.cookies() if c["domain"] in ("localhost", ".localhost")]
    assert all(c["name"] != "sessionid" and c["name"] != "csrftoken" for c in app_cookies)
