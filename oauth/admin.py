from django.contrib import admin

from .models import Installation


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    """Staff see who installed what; never a token."""

    list_display = ("company_id", "status", "scopes", "installed_by", "installed_at", "last_exchange_at")
    list_filter = ("status",)
    search_fields = ("company_id", "installed_by")
    fields = (
        "company_id",
        "status",
        "status_reason",
        "scopes",
        "installed_by",
        "installed_at",
        "access_token_expires_at",
        "last_exchange_at",
        "token_exchanges",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
