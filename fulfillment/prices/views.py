from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from fulfillment.forms.prices import PriceFilterForm
from fulfillment.selectors import prices as selectors
from fulfillment.services import prices as services
from oauth import client as fr
from oauth.decorators import embedded_view


def _unavailable(request, exc):
    return render(request, "fulfillment/prices_unavailable.html", {"reason": str(exc)}, status=503)


def _filtered(request, price_list):
    currencies, countries = selectors.filter_choices(price_list.models)
    form = PriceFilterForm(request.GET, currencies=currencies, countries=countries)
    filters = form.filters()
    return form, filters, selectors.filter_models(price_list.models, filters)


@never_cache
@require_GET
@embedded_view
def price_list(request):
    try:
        price_list = services.load_price_models(company_id=request.company_id)
    except fr.RequestFailed as exc:
        return _unavailable(request, exc)
    form, filters, models = _filtered(request, price_list)
    return render(
        request,
        "fulfillment/prices.html",
        {
            "form": form,
            "filters": filters,
            "rows": [selectors.summarize(m) for m in models],
            "total": len(price_list.models),
            "price_list": price_list,
            "query": request.GET.urlencode(),
        },
    )


@require_POST
@embedded_view
def refresh_prices(request):
    try:
        services.load_price_models(company_id=request.company_id, refresh=True)
    except fr.RequestFailed as exc:
        messages.error(request, f"Could not refresh the price models: {exc}")
    else:
        messages.success(request, "Price models refreshed from FlickRocket.")
    return redirect("fulfillment:prices")


def _csv_response(text: str, filename: str) -> HttpResponse:
    # A BOM so that spreadsheet programs read the names (ö, é, ¥) as UTF-8.
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@embedded_view
def export_prices(request):
    try:
        price_list = services.load_price_models(company_id=request.company_id)
    except fr.RequestFailed as exc:
        return _unavailable(request, exc)
    _, _, models = _filtered(request, price_list)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(selectors.csv_text(models), f"price-models-{stamp}.csv")


def _model_or_404(request, price_id):
    try:
        return services.load_price_model(company_id=request.company_id, price_id=price_id)
    except fr.NotFound:
        raise Http404("No such price model.")


@never_cache
@require_GET
@embedded_view
def price_detail(request, price_id):
    try:
        model, price_list = _model_or_404(request, price_id)
    except fr.RequestFailed as exc:
        return _unavailable(request, exc)
    return render(
        request,
        "fulfillment/price_detail.html",
        {"detail": selectors.detail(model), "price_list": price_list},
    )


@require_GET
@embedded_view
def export_price(request, price_id):
    try:
        model, _ = _model_or_404(request, price_id)
    except fr.RequestFailed as exc:
        return _unavailable(request, exc)
    return _csv_response(selectors.csv_text([model]), f"price-model-{model.id}.csv")


urlpatterns = [
    path("prices/", price_list, name="prices"),
    path("prices/refresh/", refresh_prices, name="prices-refresh"),
    path("prices/export.csv", export_prices, name="prices-export"),
    path("prices/<int:price_id>/", price_detail, name="price"),
    path("prices/<int:price_id>/export.csv", export_price, name="price-export"),
]
