from django.apps import AppConfig


class FrappConfig(AppConfig):
    name = "frapp"
    verbose_name = "FlickRocket Fulfillment (project)"

    def ready(self):
        # Here, not in LOGGING: Django configures logging before the apps are ready, so this runs
        # whatever LOGGING says, even Django's default one.
        from frapp.logging import install_redaction

        install_redaction()
