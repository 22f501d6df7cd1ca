from datetime import date

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from frapp.pagecache import fresh_token

from .selectors import PAGE_SIZES, SORTS
from .tracking import tracking_character_problem

TRACKING_HELP = _("One or more, separated by commas. At most 64 characters in all.")


def new_form_key() -> str:
    """One per rendered form: the same submission twice queues one change. New on every view,
    also of a kept page (``frapp.pagecache``)."""
    return fresh_token()


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
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    country = forms.CharField(required=False, max_length=3)
    shipping_model = forms.CharField(required=False, max_length=200)
    created_from = forms.DateField(required=False, label=_("From"), validators=[validate_filter_date])
    created_to = forms.DateField(required=False, label=_("To"), validators=[validate_filter_date])
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)
    desc = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1)
    size = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False)

    def clean(self):
        data = super().clean()
        low, high = data.get("created_from"), data.get("created_to")
        if low and high and low > high:
            self.add_error("created_to", _("The end date is before the start date."))
        return data


class ShipForm(forms.Form):
    """Ship one order and/or store its tracking numbers (order page and list rows)."""

    tracking_number = TrackingNumberField(
        required=False, max_length=500, label=_("Tracking number(s)"), help_text=TRACKING_HELP
    )
    action = forms.ChoiceField(choices=[("ship", "ship"), ("tracking", "tracking")], initial="ship")
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("action") == "tracking" and not (data.get("tracking_number") or "").strip():
            self.add_error("tracking_number", _("Enter a tracking number to save."))
        return data


class ReopenForm(forms.Form):
    """The second, deliberate click that sets a shipped order back to open."""

    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    clear_tracking = forms.BooleanField(
        required=False,
        label=_("Also remove the tracking number"),
        help_text=_("Leave it unticked to keep the tracking number for when the order really ships."),
    )
