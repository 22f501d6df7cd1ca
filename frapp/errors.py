"""The one error services raise. ``str()`` is written for a shop owner, not a developer.

``field_errors`` maps form fields to messages so a view can put each one next to its input.

It is the platform package's ``flickrocket.errors.Error`` under the app's name: every
``FlickRocketError`` is an ``AppError`` too, so a view that catches ``AppError`` and shows its
message also covers whatever FlickRocket refused, while ``flickrocket`` never imports the app.
"""

from flickrocket.errors import Error as AppError

__all__ = ["AppError"]
