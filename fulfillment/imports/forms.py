from django import forms


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="order_id,tracking_number per line",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    ship = forms.BooleanField(required=False, initial=True, label="Also mark these orders shipped")
