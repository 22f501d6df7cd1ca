from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import PriceFilters


class PriceFilterForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, label=_("Search by name"))
    validity = forms.ChoiceField(
        choices=[("", _("Valid and invalid")), ("valid", _("Valid only")), ("invalid", _("Invalid only"))],
        required=False,
        label=_("Validity"),
    )
    currency = forms.ChoiceField(choices=[("", _("Any currency"))], required=False, label=_("Currency"))
    country = forms.ChoiceField(choices=[("", _("Any country"))], required=False, label=_("Country"))

    def __init__(self, data=None, *, currencies=(), countries=()):
        super().__init__(data)
        self.fields["currency"].choices = [("", _("Any currency")), *currencies]
        self.fields["country"].choices = [("", _("Any country")), *countries]

    def filters(self) -> PriceFilters:
        """What the owner asked for; a value that is not offered is ignored, not an error."""
        if not self.is_valid():
            clean = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            clean = self.cleaned_data
        return PriceFilters(
            q=clean.get("q") or "",
            validity=clean.get("validity") or "",
            currency=clean.get("currency") or "",
            country=clean.get("country") or "",
        )
