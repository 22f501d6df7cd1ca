from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from frapp import pagecache
from frapp.errors import Unavailable
from frapp.spreadsheets import csv_response
from oauth.decorators import embedded_view

from . import selectors, services
from .forms import PriceFilterForm


def _unavailable(request, unavailable: Unavailable):
    return render(request, "prices/unavailable.html", {"reason": unavailable.problem}, status=503)


def _filtered(request, price_list):
    currencies, countries = selectors.filter_choices(price_list.models)
    form = PriceFilterForm(request.GET, currencies=currencies, countries=countries)
    filters = form.filters()
    return form, filters, selectors.filter_models(price_list.models, filters)


@never_cache
@require_GET
@embedded_view(scope="products")
def price_list(request):
    return pagecache.serve(request, render=lambda: _price_list_page(request))


def _price_list_page(request):
    price_list = services.price_list_for_page(company_id=request.company_id)
    if isinstance(price_list, Unavailable):
        return _unavailable(request, price_list)
    form, filters, models = _filtered(request, price_list)
    response = render(
        request,
        "prices/list.html",
        {
            "form": form,
            "filters": filters,
            "rows": [selectors.summarize(m) for m in models],
            "total": len(price_list.models),
            "price_list": price_list,
            "query": request.GET.urlencode(),
        },
    )
    if price_list.stale_because:
        return pagecache.keep_older_copy(response, until=price_list.asked_again_at)
    return pagecache.keep(response, until=services.due_at(price_list))


@require_POST
@embedded_view(scope="products")
def refresh_prices(request):
    price_list = services.price_list_for_page(company_id=request.company_id, refresh=True)
    if isinstance(price_list, Unavailable):
        messages.error(
            request, gettext("Could not refresh the price models: %(error)s") % {"error": price_list.problem}
        )
    else:
        messages.success(request, gettext("Price models refreshed from FlickRocket."))
    return redirect("prices:list")


def _csv_response(models, filename: str):
    rows = selectors.csv_rows(models)
    return csv_response(filename, selectors.CSV_HEADER, rows, numeric_columns=selectors.CSV_NUMERIC_COLUMNS)


@require_GET
@embedded_view(scope="products")
def export_prices(request):
    price_list = services.price_list_for_page(company_id=request.company_id)
    if isinstance(price_list, Unavailable):
        return _unavailable(request, price_list)
    _, _, models = _filtered(request, price_list)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(models, f"price-models-{stamp}.csv")


@never_cache
@require_GET
@embedded_view(scope="products", not_found="No such price model.")
def price_detail(request, price_id):
    found = services.price_model_for_page(company_id=request.company_id, price_id=price_id)
    if isinstance(found, Unavailable):
        return _unavailable(request, found)
    model, price_list = found
    return render(
        request,
        "prices/detail.html",
        {"detail": selectors.detail(model), "price_list": price_list},
    )


@require_GET
@embedded_view(scope="products", not_found="No such price model.")
def export_price(request, price_id):
    found = services.price_model_for_page(company_id=request.company_id, price_id=price_id)
    if isinstance(found, Unavailable):
        return _unavailable(request, found)
    model, _ = found
    return _csv_response([model], f"price-model-{model.id}.csv")
