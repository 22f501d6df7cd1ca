"""Fixtures every test folder shares.

``sandbox`` (from tests/sandbox_server.py) is a real FlickRocket sandbox process, reset to its
seed before each test. ``flickrocket`` points the app's settings at it; ``installed`` installs
the app for a company through the sandbox's OAuth; ``shop`` is a launched, installed embedded
session for company 1202 that tests drive like the iframe does.
"""

import pytest

from tests.factories import launch, make_installation

pytest_plugins = ["tests.sandbox_server"]


@pytest.fixture(autouse=True)
def _fresh_fernet_cache():
    from oauth.crypto import _fernet

    _fernet.cache_clear()
    yield
    _fernet.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_webhook_memos():
    """The receiver remembers a full refusal minute and its last drain task per process; each
    test's database starts empty, so the memory must too."""
    from fulfillment.webhooks import queue, receiver

    receiver._full_minute = queue._last_drain_id = None
    yield
    receiver._full_minute = queue._last_drain_id = None


@pytest.fixture(autouse=True)
def _no_kept_pages():
    """Each test's database starts its data versions again at 0: a page kept for an earlier
    test's version would match."""
    from frapp import pagecache
    from fulfillment.orders import selectors
    from oauth import clients

    pagecache.clear()
    selectors._found.clear()
    clients._page_pauses.clear()
    yield
    pagecache.clear()
    selectors._found.clear()
    clients._page_pauses.clear()


@pytest.fixture
def flickrocket(sandbox, settings):
    settings.FLICKROCKET_AUTH_BASE = sandbox.url
    settings.FLICKROCKET_API_BASE = sandbox.url
    settings.FLICKROCKET_ADMIN_ORIGIN = sandbox.url
    settings.FLICKROCKET_APP_ADMIN_URL = sandbox.url + "/shell/{company_id}/apps"
    return sandbox


@pytest.fixture
def installed(flickrocket, db):
    """Install the app for a company the way a finished OAuth leaves it: a stored code."""

    def install(company_id: int = 1202, scope: str = "orders,products,webhooks"):
        code = flickrocket.grant(company_id, scope)
        return make_installation(company_id, refresh_token=code, scopes=scope)

    return install


class EmbeddedClient:
    """A Django test client inside one launched session: paths are relative to the app root."""

    def __init__(self, client, prefix: str, company_id: int, user_id: str):
        self.client = client
        self.prefix = prefix
        self.company_id = company_id
        self.user_id = user_id

    def url(self, path: str) -> str:
        return self.prefix + "/" + path.lstrip("/")

    def get(self, path: str, *args, **kwargs):
        return self.client.get(self.url(path), *args, **kwargs)

    def post(self, path: str, *args, **kwargs):
        return self.client.post(self.url(path), *args, **kwargs)


@pytest.fixture
def embedded(client):
    """Launch a session: ``embedded(company_id, user_id)`` -> EmbeddedClient."""

    def open_session(company_id: int = 1202, user_id: str = "4711") -> EmbeddedClient:
        return EmbeddedClient(client, launch(client, company_id, user_id), company_id, user_id)

    return open_session


@pytest.fixture
def shop(installed, embedded):
    installed(1202)
    return embedded(1202, "4711")
