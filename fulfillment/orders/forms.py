import secrets

from django import forms

from .selectors import PAGE_SIZES, SORTS

TRACKING_HELP = "One or more, separated by commas. At most 64 characters in all."


def new_form_key() -> str:
    """One per rendered form: the same submission twice queues one change."""
    return secrets.token_urlsafe(16)


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    country = forms.CharField(required=False, max_length=3)
    shipping_model = forms.CharField(required=False, max_length=200)
    created_from = forms.DateField(required=False, label="From")
    created_to = forms.DateField(required=False, label="To")
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)
    desc = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1)
    size = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False)

    def clean(self):
        data = super().clean()
        low, high = data.get("created_from"), data.get("created_to")
        if low and high and low > high:
            self.add_error("created_to", "The end date is before the start date.")
        return data


class ShipForm(forms.Form):
    """Ship one order and/or store its tracking numbers (order page and list rows)."""

    tracking_number = forms.CharField(
        required=False, max_length=500, label="Tracking number(s)", help_text=TRACKING_HELP
    )
    action = forms.ChoiceField(choices=[("ship", "ship"), ("tracking", "tracking")], initial="ship")
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("action") == "tracking" and not (data.get("tracking_number") or "").strip():
            self.add_error("tracking_number", "Enter a tracking number to save.")
        return data


class ScanForm(forms.Form):
    order_id = forms.CharField(max_length=40, label="Order")
    tracking_number = forms.CharField(required=False, max_length=500, label="Tracking number(s)")
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean_order_id(self):
        raw = self.cleaned_data["order_id"].strip().lstrip("#")
        if not raw.isdigit() or len(raw) > 18:
            raise forms.ValidationError("An order id is a number, like 267227.")
        return int(raw)


class SelectionForm(forms.Form):
    """A selection of order ids from the list (bulk ship, slips, pick list)."""

    ids = forms.CharField(required=False)
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.selected: list[int] = []
        if data is not None:
            raw = data.getlist("ids") if hasattr(data, "getlist") else data.get("ids", [])
            if isinstance(raw, str):
                raw = raw.split(",")
            for value in raw:
                for part in str(value).split(","):
                    part = part.strip()
                    if part.isdigit() and len(part) <= 18:
                        self.selected.append(int(part))
            self.selected = list(dict.fromkeys(self.selected))
            self.tracking = {
                order_id: (data.get(f"tracking_{order_id}") or "").strip() for order_id in self.selected
            }

    def clean(self):
        data = super().clean()
        if not self.selected:
            raise forms.ValidationError("Select at least one order.")
        if len(self.selected) > 1000:
            raise forms.ValidationError("Select at most 1,000 orders at a time.")
        return data
