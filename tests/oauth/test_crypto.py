import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from oauth.crypto import decrypt, encrypt
from oauth.models import Installation
from tests.factories import make_installation

pytestmark = pytest.mark.django_db


def test_tokens_survive_a_key_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    from oauth.crypto import _fernet

    _fernet.cache_clear()
    make_installation(1202, refresh_token="rt-1", access_token="at-1")
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    _fernet.cache_clear()
    call_command("rotate_token_keys")
    settings.TOKEN_ENCRYPTION_KEYS = [new]
    _fernet.cache_clear()
    installation = Installation.objects.get(company_id=1202)
    assert decrypt(installation.refresh_token_encrypted) == "rt-1"
    assert decrypt(installation.access_token_encrypted) == "at-1"


def test_ciphertext_does_not_contain_the_token():
    assert "secret-refresh" not in encrypt("secret-refresh")
    assert decrypt(encrypt("secret-refresh")) == "secret-refresh"


def test_pending_grant_tokens_survive_a_key_rotation(settings):
    from datetime import timedelta

    from django.utils import timezone

    from oauth.crypto import _fernet
    from oauth.models import PendingGrant

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    _fernet.cache_clear()
    grant = PendingGrant.objects.create(
        company_id=1202,
        refresh_token_encrypted=encrypt("rt-p"),
        access_token_encrypted=encrypt("at-p"),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    _fernet.cache_clear()
    call_command("rotate_token_keys")
    settings.TOKEN_ENCRYPTION_KEYS = [new]
    _fernet.cache_clear()
    grant.refresh_from_db()
    assert decrypt(grant.refresh_token_encrypted) == "rt-p"
    assert decrypt(grant.access_token_encrypted) == "at-p"
