"""Secrets at rest: Fernet with a key list (newest first) so keys can rotate."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.TOKEN_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted with TOKEN_ENCRYPTION_KEYS") from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (used by the rotate_token_keys command)."""
    return _fernet().rotate(ciphertext.encode()).decode() if ciphertext else ""
