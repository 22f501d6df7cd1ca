from django.utils.functional import SimpleLazyObject


def nav(request):
    """Navigation counts for embedded pages, computed only if a template asks for them."""
    company_id = getattr(request, "company_id", None)
    if company_id is None:
        return {}

    def counts():
        from .selectors.fulfillments import nav_counts

        return nav_counts(company_id=company_id)

    return {"nav_counts": SimpleLazyObject(counts)}
