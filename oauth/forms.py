from django import forms


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
