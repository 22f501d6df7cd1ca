from django.db import models
from django.db.models import Q


class Installation(models.Model):
    """One company's grant to this app. Tokens are Fernet-encrypted (oauth/crypto.py)."""

    class Status(models.TextChoices):
        INSTALLED = "installed", "Installed"
        NEEDS_REINSTALL = "needs_reinstall", "Needs reinstall"
        UNINSTALLED = "uninstalled", "Uninstalled"

    company_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INSTALLED)
    scopes = models.CharField(max_length=500, blank=True)
    installed_by = models.CharField(max_length=200, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    access_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    last_exchange_at = models.DateTimeField(null=True, blank=True)
    token_exchanges = models.PositiveIntegerField(default=0)
    status_reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="installed") | ~Q(refresh_token_encrypted=""),
                name="installed_has_refresh_token",
            ),
        ]

    def __str__(self) -> str:
        return f"Company {self.company_id} ({self.get_status_display()})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.INSTALLED

    @property
    def scope_list(self) -> list[str]:
        return [s.strip() for s in self.scopes.split(",") if s.strip()]


class OAuthFlow(models.Model):
    """An install this app started. The callback must match one, for the same company, once."""

    state = models.CharField(max_length=64, unique=True)
    company_id = models.BigIntegerField(null=True, blank=True)  # unknown for App Store starts
    user_id = models.CharField(max_length=200, blank=True)
    scopes = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth flow for company {self.company_id}"
