from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from flickrocket import WEBHOOK_TOPICS

TOPIC_CHOICES = [(topic, topic) for topic in WEBHOOK_TOPICS]


class SubscriptionForm(forms.Form):
    topic = forms.ChoiceField(choices=TOPIC_CHOICES)
    address = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        help_text=_("Where FlickRocket sends the events. This app's own receiver is the default."),
        widget=forms.TextInput(
            attrs={
                "inputmode": "url",
                "class": "font-monospace",
                "spellcheck": "false",
                "autocomplete": "off",
            }
        ),
    )

    def __init__(self, *args, receiver: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if receiver:
            self.fields["address"].help_text = format_html(
                _("Where FlickRocket sends the events. This app's own receiver is <code>{}</code>."), receiver
            )

    def add_platform_errors(self, field_errors: dict[str, list[str]], fallback: str) -> None:
        """Put FlickRocket's refusals next to the field they are about, in plain words."""
        placed = False
        for name, messages in field_errors.items():
            target = name if name in self.fields else None
            label = self[name].label if target else name.capitalize()
            for message in messages:
                text = message if message[:1].isupper() else f"{label} {message}"
                self.add_error(target, text.rstrip(".") + ".")
                placed = True
        if not placed:
            self.add_error(None, fallback)


class DeliveryFilterForm(forms.Form):
    SHOW_CHOICES = [
        ("", _("All")),
        ("pending", _("Waiting")),
        ("acted", _("Acted on")),
        ("recorded", _("Recorded only")),
        ("failed", _("Failed")),
        ("refused", _("Refused (signature)")),
    ]
    show = forms.ChoiceField(choices=SHOW_CHOICES, required=False)
    topic = forms.CharField(max_length=64, required=False)
    page = forms.IntegerField(min_value=1, required=False)
