"""Headless Chromium with third-party cookies blocked, framing the app like FlickRocket does.

The sandbox shell is served on ``127.0.0.1`` and the app (pytest-django's live server) on
``localhost``: two different sites, so everything the app does inside the iframe is
third-party, exactly as in production.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def playwright_instance():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; Django's ORM calls in the test
    # body are still plain synchronous calls, so its async guard does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        yield playwright


def launch_context(playwright, tmp_path, **options):
    """A persistent Chromium context whose profile blocks third-party cookies the way a user (or
    Safari/Firefox by default) would; ``options`` go to Playwright (a ``locale``, say)."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}})
    )
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--test-third-party-cookie-phaseout",
        ],
        viewport={"width": 1280, "height": 900},
        **options,
    )
    context.set_default_timeout(15000)
    return context


@pytest.fixture
def browser_context(playwright_instance, tmp_path):
    context = launch_context(playwright_instance, tmp_path)
    yield context
    context.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture
def page(browser_context):
    return browser_context.pages[0] if browser_context.pages else browser_context.new_page()


@pytest.fixture
def app_url(live_server, flickrocket, settings):
    """The app on ``localhost``, registered with the sandbox on ``127.0.0.1``."""
    assert "localhost" in live_server.url
    settings.APP_BASE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    flickrocket.settings(
        app_start_url=live_server.url + "/",
        app_redirect_uri=live_server.url + "/oauth/callback",
        app_authorization_url=live_server.url + "/oauth/authorize",
    )
    return live_server.url


@pytest.fixture
def screenshot(page, request):
    """``screenshot("step")`` saves a PNG under test-artifacts/<test name>/."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(step: str):
        page.screenshot(path=str(folder / f"{next(counter):02d}-{step}.png"), full_page=True)

    return take
