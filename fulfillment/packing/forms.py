from django import forms
from django.utils.translation import gettext_lazy as _

from fulfillment.orders.forms import TrackingNumberField


class ScanForm(forms.Form):
    order_id = forms.CharField(max_length=40, label=_("Order"))
    tracking_number = TrackingNumberField(required=False, max_length=500, label=_("Tracking number(s)"))
    # Its own button: an empty box (a scanner that fired nothing) must not ship untracked.
    without_tracking = forms.BooleanField(required=False)
    form_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        shipping = "tracking_number" in self.data or "without_tracking" in self.data
        if not shipping or "tracking_number" in self.errors:
            return data  # step one (only the order id), or already refused
        # A ship step without the box at all (a crafted form) is an empty box: it needs the
        # explicit "ship without tracking".
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
            raise forms.ValidationError(_("An order id is a number, like 267227."))
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
            raise forms.ValidationError(_("Select at least one order."))
        if len(self.selected) > 1000:
            raise forms.ValidationError(_("Select at most 1,000 orders at a time."))
        return data


class VerifyForm(ScanForm):
    """The scan page when the shop verifies items: one box takes the order number, each item's
    barcode and the tracking number in turn; which one was sent decides the step."""

    code = forms.CharField(required=False, max_length=100, label=_("Item barcode"))
    confirm_line = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    @property
    def step(self) -> str:
        if "confirm_line" in self.data:
            return "confirm"
        if "tracking_number" in self.data or "without_tracking" in self.data:
            return "ship"
        if "code" in self.data:
            return "item"
        return "order"


class PackingSettingsForm(forms.Form):
    verify_items = forms.BooleanField(
        required=False,
        label=_("Verify items before shipping"),
        help_text=_(
            "Scan every item's barcode after the order number; the order ships only when all are packed."
        ),
    )
