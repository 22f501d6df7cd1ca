from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("fulfillments/import/", views.csv_upload, name="upload"),
    path("fulfillments/import/<int:import_id>/", views.csv_import, name="detail"),
    path("fulfillments/import/<int:import_id>/progress", views.csv_import_progress, name="progress"),
    path("fulfillments/import/<int:import_id>/confirm", views.csv_import_confirm, name="confirm"),
    path("fulfillments/import/<int:import_id>/cancel", views.csv_import_cancel, name="cancel"),
    path("fulfillments/import/<int:import_id>/result.csv", views.csv_import_result, name="result"),
]
