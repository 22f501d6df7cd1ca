from django import forms


class AuditFilterForm(forms.Form):
    order = forms.IntegerField(required=False, min_value=1)
    user = forms.CharField(required=False, max_length=200)
    source = forms.CharField(required=False, max_length=20)
    page = forms.IntegerField(required=False, min_value=1)
