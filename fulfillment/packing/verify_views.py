"""The scan page of a shop that verifies items (``PackingSettings.verify_items``): order number,
each item's barcode, then the tracking number, all in one box that keeps the focus.

Served at the scan page's own URL (``packing:scan`` hands over to ``bench``), with htmx swapping
``#pack-bench`` and full-page POSTs without JavaScript.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frapp.errors import AppError
from fulfillment.orders.forms import new_form_key
from oauth.decorators import embedded_view

from . import selectors, services
from .forms import PackingSettingsForm, VerifyForm


def bench(request):
    """Called by the scan view (which checked the method and the session) for such a shop."""
    if request.method == "GET":
        return _render(request, VerifyForm())
    form = VerifyForm(request.POST)
    valid = form.is_valid()
    if "order_id" not in form.cleaned_data:
        return _render(request, form, status=400)
    ids = {
        "company_id": request.company_id,
        "user_id": request.flickrocket_user_id,
        "order_id": form.cleaned_data["order_id"],
    }
    try:
        return STEPS[form.step](request, form, valid, ids)
    except services.OrderNotFetched as exc:
        if exc.field_errors:  # not this shop's order: the error belongs to the order number
            for field, problems in exc.field_errors.items():
                form.add_error(field, problems)
            return _render(request, form, status=exc.status)
        return _again(request, form, ids, error=exc.message, status=exc.status)
    except services.ScanRefused as exc:
        return _again(request, form, ids, outcome=exc.outcome, status=422)
    except AppError as exc:
        return _again(request, form, ids, error=exc.message, status=400)


def _order(request, form, valid, ids):
    begun = services.begin(**ids)
    notice = services.shipped_elsewhere_message(ids["order_id"]) if begun.shipped_elsewhere else ""
    return _render(request, form, progress=begun.progress, row=begun.row, notice=notice)


def _item(request, form, valid, ids):
    if not valid or not form.cleaned_data["code"].strip():
        return _again(request, form, ids, status=200 if valid else 400)
    progress, outcome = services.scan_item(**ids, code=form.cleaned_data["code"])
    return _render(request, form, progress=progress, outcome=outcome, status=422 if outcome.is_error else 200)


def _confirm(request, form, valid, ids):
    if not valid or form.cleaned_data["confirm_line"] is None:
        raise AppError(_("Choose the line to confirm."))
    progress, outcome = services.confirm_by_hand(**ids, position=form.cleaned_data["confirm_line"])
    return _render(request, form, progress=progress, outcome=outcome)


def _ship(request, form, valid, ids):
    if not valid:
        return _again(request, form, ids, status=400)
    shipped = services.ship(
        **ids,
        tracking_number=(form.cleaned_data.get("tracking_number") or "").strip(),
        idempotency_key=form.cleaned_data.get("form_key") or None,
    )
    return _render(request, VerifyForm(), done=shipped)


STEPS = {"order": _order, "item": _item, "confirm": _confirm, "ship": _ship}


def _again(request, form, ids, **context):
    """The bench as it stands (from the database), with what went wrong."""
    current = selectors.progress(company_id=ids["company_id"], order_id=ids["order_id"])
    return _render(request, form, progress=current, **context)


def _render(request, form, *, progress=None, status=200, **context):
    if progress is not None and progress.verification.verified_at is not None:
        progress = None  # shipped from here: the bench is ready for the next order
    step = "order" if progress is None else ("tracking" if progress.complete else "items")
    return render(
        request,
        "packing/verify.html",
        {
            "form": form,
            "form_key": new_form_key(),
            "progress": progress,
            "step": step,
            **context,
        },
        status=status,
    )


@require_POST
@embedded_view(scope="orders")
def packing_settings(request):
    form = PackingSettingsForm(request.POST)
    form.is_valid()
    verify = bool(form.cleaned_data.get("verify_items"))
    services.set_verify_items(company_id=request.company_id, verify_items=verify)
    if verify:
        messages.success(request, _("Items are now verified before shipping."))
    else:
        messages.success(request, _("Scan & ship no longer verifies items."))
    return redirect("packing:scan")
