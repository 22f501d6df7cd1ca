class AppError(Exception):
    """The one error services raise. ``str()`` is written for a shop owner, not a developer.

    ``field_errors`` maps form fields to messages so a view can put each one next to its input.
    """

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
