from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class FrappConfig(AppConfig):
    name = "frapp"
    verbose_name = "FlickRocket Fulfillment (project)"

    def ready(self):
        # Here, not in LOGGING: Django configures logging before the apps are ready, so this runs
        # whatever LOGGING says, even Django's default one.
        from frapp.logging import install_redaction

        install_redaction()
        # Around every migrate, not in a migration: a table created or changed later must be
        # covered too, and SQLite cannot rebuild a table that another table's trigger names.
        pre_migrate.connect(_drop_version_triggers, sender=self)
        post_migrate.connect(_install_version_triggers, sender=self)


def _drop_version_triggers(sender, using, **kwargs):
    from frapp.dataversion import drop_triggers

    drop_triggers(using=using)


def _install_version_triggers(sender, using, **kwargs):
    from frapp.dataversion import install_triggers

    install_triggers(using=using)
