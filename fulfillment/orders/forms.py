import secrets
from datetime import date

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from .selectors import PAGE_SIZES, SORTS
from .tracking import tracking_character_problem

TRACKING_HELP = "One or more, separated by commas. At most 64 characters in all."


def new_form_key() -> str:
    """One per rendered form: the same submission twice queues one change."""
    return secrets.token_urlsafe(16)


def validate_tracking_characters(value: str) -> None:
    problem = tracking_character_problem(value)
    if problem:
        raise forms.ValidationError(problem, code="invisible")


class TrackingNumberField(forms.CharField):
    """Tracking numbers as typed; NUL, control and invisible characters are refused with the
    message every other path (scan, bulk, CSV) gives, instead of Django's own NUL message."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ] + [validate_tracking_characters]


# FlickRocket reads order dates as ISO 8601 with a four-digit year; earlier dates hold no orders
# and the platform refuses them, so the form does instead, next to the date.
EARLIEST_FILTER_DATE = date(1000, 1, 1)


def validate_filter_date(value: date) -> None:
    if value < EARLIEST_FILTER_DATE:
        raise forms.ValidationError(
            _("Enter a date from %(earliest)s on.") % {"earliest": EARLIEST_FILTER_DATE.isoformat()},
            code="out_of_range",
        )


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    country = forms.CharField(required=False, max_length=3)
    shipping_model = forms.CharField(required=False, max_length=200)
    created_from = forms.DateField(required=False, label="From", validators=[validate_filter_date])
    created_to = forms.DateField(required=False, label="To", validators=[validate_filter_date])
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

    tracking_number = TrackingNumberField(
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
    tracking_number = TrackingNumberField(required=False, max_length=500, label="Tracking number(s)")
    # Its own button: an empty box (a scanner that fired nothing) must not ship untracked.
    without_tracking = forms.BooleanField(required=False)
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if "tracking_number" not in self.data or "tracking_number" in self.errors:
            return data  # step one (only the order id), or already refused
        typed = (data.get("tracking_number") or "").strip()
        if data.get("without_tracking") and typed:
            self.add_error(
                "tracking_number",
                _(
                    "You entered a tracking number: press “Ship order” to ship with it, "
                    "or empty the box to ship without tracking."
                ),
            )
        elif not data.get("without_tracking") and not typed:
            self.add_error(
                "tracking_number", _("Scan the tracking number, or press “Ship without tracking”.")
            )
        return data

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
