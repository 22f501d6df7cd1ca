"""Fulfillment models: outbox of pending updates, audit log, cached lists, CSV imports."""

__all__: list[str] = []
