"""Per-user preferences (so far the language), stored per FlickRocket user and copied into the
embedded session at launch (``frapp.middleware.SESSION_LANGUAGE_KEY``)."""

from django.conf import settings
from django.utils.translation import gettext as _

from frapp.errors import AppError

from .models import UserPreference


def chosen_language(*, company_id: int, user_id: str) -> str:
    """The language this user chose in the app, or "" to follow the browser."""
    language = (
        UserPreference.objects.filter(company_id=company_id, user_id=str(user_id))
        .values_list("language", flat=True)
        .first()
    )
    return language if language in dict(settings.LANGUAGES) else ""


def choose_language(*, company_id: int, user_id: str, language: str) -> str:
    """Remember ``language`` ("" = the browser's) for this user; returns what was stored."""
    if language and language not in dict(settings.LANGUAGES):
        raise AppError(_("This language is not available."))
    UserPreference.objects.update_or_create(
        company_id=company_id, user_id=str(user_id), defaults={"language": language}
    )
    return language
