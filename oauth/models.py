from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Installation(models.Model):
    """One company's grant to this app. Tokens are Fernet-encrypted (oauth/crypto.py)."""

    class Status(models.TextChoices):
        INSTALLED = "installed", _("Installed")
        NEEDS_REINSTALL = "needs_reinstall", _("Needs reinstall")
        UNINSTALLED = "uninstalled", _("Uninstalled")

    company_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INSTALLED)
    scopes = models.CharField(max_length=500, blank=True)
    installed_by = models.CharField(max_length=200, blank=True)
    # The FlickRocket account (the token answer's ``userName``) whose grant this is.
    account_name = models.CharField(max_length=200, blank=True)
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
    # Set only for a flow started from a verified launch; an App Store start belongs to no shop.
    company_id = models.BigIntegerField(null=True, blank=True)
    # The App Store's unsigned CompanyID: shown to people, never trusted as the flow's company.
    company_hint = models.BigIntegerField(null=True, blank=True)
    user_id = models.CharField(max_length=200, blank=True)
    scopes = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth flow for company {self.company_id}"


class OAuthFlowWindow(models.Model):
    """How many install flows one minute started, in total (``key`` "*") or from one client
    address (``key`` "ip:<address>"): anonymous requests create flows, so they are capped
    across every web process through the database."""

    minute = models.BigIntegerField()
    key = models.CharField(max_length=80)
    started = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["minute", "key"], name="oauth_flow_window_minute_key")]

    def __str__(self) -> str:
        return f"{self.started} flows in minute {self.minute} ({self.key})"


class PendingGrant(models.Model):
    """A grant nothing has yet proven belongs to the shop it names.

    Its tokens live here, never in an Installation, so nothing serves a page with them; a
    verified launch of ``company_id`` confirms it, or it expires and is pruned. Until a token
    exchange succeeded (``exchanged_at``) and told whose account it is (``user_name``), it is
    neither shown nor confirmable: its code is only kept, because it is a refresh token.
    """

    company_id = models.BigIntegerField(db_index=True)  # the callback's unsigned claim
    scopes = models.CharField(max_length=500, blank=True)
    user_name = models.CharField(max_length=200, blank=True)
    # A flow started by the Install button of a verified launch of ``company_id``, and by whom.
    from_launch = models.BooleanField(default=False)
    started_by = models.CharField(max_length=200, blank=True)
    refresh_token_encrypted = models.TextField()
    access_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    exchanged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Pending grant for company {self.company_id}"

    @property
    def scope_list(self) -> list[str]:
        return [s.strip() for s in self.scopes.split(",") if s.strip()]

    @property
    def confirmable(self) -> bool:
        return self.exchanged_at is not None and bool(self.user_name)


class UserPreference(models.Model):
    """What one FlickRocket user (a company's user id) chose in the app: so far, the language.

    Keyed by company and FlickRocket user, because the app has no users of its own; an empty
    language means "follow the browser".
    """

    company_id = models.BigIntegerField()
    user_id = models.CharField(max_length=200)
    language = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company_id", "user_id"], name="one_preference_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.company_id}/{self.user_id}: {self.language or '-'}"
