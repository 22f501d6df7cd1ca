from django.db import models


class CompanyDataVersion(models.Model):
    """How often a company's rows have changed: the database bumps it on every insert, update and
    delete of any table that holds a company's data (``frapp.dataversion`` installs the triggers
    after every ``migrate``). A kept page (``frapp.pagecache``) is served again only while its
    company's version is the one it was rendered at, so no write path can forget to invalidate.
    """

    company_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self):
        return f"company {self.company_id}: version {self.version}"
