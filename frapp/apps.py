from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FrappConfig(AppConfig):
    name = "frapp"
    verbose_name = "FlickRocket Fulfillment (project)"

    def ready(self):
        # Here, not in LOGGING: Django configures logging before the apps are ready, so this runs
        # whatever LOGGING says, even Django's default one.
        from frapp.logging import install_redaction

        install_redaction()
        # After every migrate, not in a migration: a table created or rebuilt later must be
        # covered too (SQLite's schema editor drops a table's triggers when it rebuilds it).
        post_migrate.connect(_install_version_triggers, sender=self)


def _install_version_triggers(sender, using, **kwargs):
    from frapp.dataversion import install_triggers

    install_triggers(using=using)
