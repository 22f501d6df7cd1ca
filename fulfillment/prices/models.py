"""The last price model list fetched per company: price pages read it for a short while."""

from django.db import models

__all__ = ["PriceListCache"]


class PriceListCache(models.Model):
    company_id = models.BigIntegerField(unique=True)
    # The API's own JSON for every model, so the page rebuilds the dataclasses unchanged.
    models_json = models.JSONField(default=list)
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Price models of company {self.company_id}"
