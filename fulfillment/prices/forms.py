from django import forms

from .selectors import PriceFilters


class PriceFilterForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Search by name")
    validity = forms.ChoiceField(
        choices=[("", "Valid and invalid"), ("valid", "Valid only"), ("invalid", "Invalid only")],
        required=False,
        label="Validity",
    )
    currency = forms.ChoiceField(choices=[("", "Any currency")], required=False, label="Currency")
    country = forms.ChoiceField(choices=[("", "Any country")], required=False, label="Country")

    def __init__(self, data=None, *, currencies=(), countries=()):
        super().__init__(data)
        self.fields["currency"].choices = [("", "Any currency"), *currencies]
        self.fields["country"].choices = [("", "Any country"), *countries]

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
