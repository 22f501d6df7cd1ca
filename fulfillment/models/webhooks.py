"""Webhook deliveries received from FlickRocket."""

__all__: list[str] = []
