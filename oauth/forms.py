from django import forms
from django.conf import settings

from .flows import known_scopes


class LaunchForm(forms.Form):
    """The Start URL's query: FlickRocket's names, kept as they are."""

    UserID = forms.CharField(max_length=200)
    CompanyID = forms.RegexField(regex=r"^\d{1,18}$", max_length=18)
    hmac = forms.RegexField(regex=r"^[0-9a-fA-F]{64}$")


class CallbackForm(forms.Form):
    code = forms.CharField(required=False, max_length=2000)
    companyid = forms.CharField(required=False, max_length=18)
    state = forms.CharField(required=False, max_length=200)
    error = forms.CharField(required=False, max_length=200)


class AuthorizeForm(forms.Form):
    scope = forms.CharField(required=False, max_length=500)
    CompanyID = forms.RegexField(regex=r"^\d{1,18}$", required=False)


class InstallForm(forms.Form):
    """The install button; ``scope`` (comma-separated) adds permissions a page found missing."""

    scope = forms.CharField(required=False, max_length=500)

    def clean_scope(self) -> list[str]:
        known = known_scopes()
        return [s.strip() for s in self.cleaned_data.get("scope", "").split(",") if s.strip() in known]


class LanguageForm(forms.Form):
    """The language switch in the nav: a language code, or "" to follow the browser."""

    language = forms.ChoiceField(required=False, choices=[("", "")] + list(settings.LANGUAGES))
    next = forms.CharField(required=False, max_length=2000)
