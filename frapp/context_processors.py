from django.utils.functional import SimpleLazyObject


def embedded(request):
    """What every embedded page needs to know about its session."""
    return {
        "app_company_id": getattr(request, "company_id", None),
        "app_user_id": getattr(request, "flickrocket_user_id", None),
    }


def nav(request):
    """Navigation counts for embedded pages, computed only if a template asks for them."""
    company_id = getattr(request, "company_id", None)
    if company_id is None:
        return {}

    def counts():
        from fulfillment.orders.selectors import nav_counts

        return nav_counts(company_id=company_id)

    return {"nav_counts": SimpleLazyObject(counts)}
