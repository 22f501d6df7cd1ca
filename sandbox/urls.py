from django.urls import path

from sandbox import control, shell, views

urlpatterns = [
    # Admin shell (HTML)
    path("", shell.index, name="sandbox-index"),
    path("shell/<int:company_id>/apps", shell.apps, name="sandbox-apps"),
    path("shell/<int:company_id>/tools", shell.tools, name="sandbox-tools"),
    path("shell/<int:company_id>/revoke", shell.revoke, name="sandbox-revoke"),
    path("shell/<int:company_id>/orders", shell.create_order, name="sandbox-create-order"),
    path("shell/<int:company_id>/faults", shell.set_faults, name="sandbox-faults"),
    path("shell/<int:company_id>/calls/clear", shell.clear_calls, name="sandbox-clear-calls"),
    path(
        "shell/<int:company_id>/hooks/<int:hook_id>/reactivate",
        shell.reactivate_hook,
        name="sandbox-reactivate",
    ),
    path("shell/reset", shell.reset, name="sandbox-reset"),
    # OAuth (§2)
    path("oauth2/auth", views.consent, name="oauth-consent"),
    path("token", views.token, name="oauth-token"),
    # REST API (§3). Fixed names before the {id} routes.
    path("api/tokeninfo", views.tokeninfo),
    path("api/fulfillments.json", views.fulfillments_all),
    path("api/fulfillments/count.json", views.fulfillments_count),
    path("api/fulfillments/open.json", views.fulfillments_open),
    path("api/fulfillments/complete.json", views.fulfillments_complete),
    path("api/fulfillments/<int:fid>.json", views.fulfillment_one),
    path("api/prices.json", views.prices_all),
    path("api/prices/count.json", views.prices_count),
    path("api/prices/<int:pid>.json", views.price_one),
    path("admin/webhooks.json", views.webhooks_collection),
    path("admin/webhooks/<int:hid>.json", views.webhook_one),
    path("api/<path:rest>", views.api_not_found),
    path("admin/<path:rest>", views.api_not_found),
    # Control API for tests and benchmarks
    path("_control/reset", control.reset),
    path("_control/state", control.state),
    path("_control/faults", control.faults),
    path("_control/settings", control.settings),
    path("_control/calls", control.calls),
    path("_control/calls/clear", control.calls_clear),
    path("_control/grant", control.grant),
    path("_control/revoke", control.revoke),
    path("_control/orders", control.orders),
    path("_control/events", control.events),
    path("_control/fulfillments/<int:company_id>", control.fulfillments),
    path("_control/deliveries", control.deliveries),
    path("_control/expire_tokens", control.expire_tokens),
    path("_control/sign_launch", control.sign_launch),
]
