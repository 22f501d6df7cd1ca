"""Forms render as Bootstrap markup through Django's own form rendering (FORM_RENDERER).

Every widget gets Bootstrap's class for its kind and ``is-invalid`` when it has errors; each
field renders through templates/forms/field.html: label, widget, errors, help text.
"""

from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting


def _bootstrap_class(widget) -> str:
    kind = getattr(widget, "input_type", "")
    if kind == "checkbox":
        return "form-check-input"
    if kind == "select":
        return "form-select"
    return "form-control"


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if widget.is_hidden:
            return attrs
        classes = [widget.attrs.get("class", ""), attrs.get("class", ""), _bootstrap_class(widget)]
        if self.form.is_bound and self.errors:
            classes.append("is-invalid")
        attrs["class"] = " ".join(c for c in classes if c)
        return attrs

    def label_tag(self, contents=None, attrs=None, label_suffix=None, tag=None):
        checkbox = _bootstrap_class(self.field.widget) == "form-check-input"
        attrs = {"class": "form-check-label" if checkbox else "form-label", **(attrs or {})}
        # No colon after labels: the app's labels stand on their own line.
        suffix = "" if label_suffix is None else label_suffix
        return super().label_tag(contents, attrs, label_suffix=suffix, tag=tag)


class BootstrapFormRenderer(TemplatesSetting):
    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"
    bound_field_class = BootstrapBoundField
