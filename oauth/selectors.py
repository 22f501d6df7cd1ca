from .models import Installation


def installation_for(*, company_id: int) -> Installation | None:
    return Installation.objects.filter(company_id=company_id).first()
