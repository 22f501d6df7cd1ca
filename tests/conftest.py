import pytest

pytest_plugins = ["tests.sandbox_server"] if __import__("importlib.util").util.find_spec("tests.sandbox_server") else []


@pytest.fixture(autouse=True)
def _fresh_fernet_cache():
    from oauth.crypto import _fernet

    _fernet.cache_clear()
    yield
    _fernet.cache_clear()
