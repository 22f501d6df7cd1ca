from django import forms
from django.utils.translation import gettext_lazy as _


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("order_id,tracking_number per line"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    ship = forms.BooleanField(required=False, initial=True, label=_("Also mark these orders shipped"))
