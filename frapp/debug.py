"""Django's error report (the DEBUG 500 page, error mails) without the embedded session key.

The report lists the request path, ``META`` (PATH_INFO, REQUEST_URI, HTTP_REFERER) and local
variables, all of which carry ``/s/<session key>/`` on an embedded page.
"""

from django.views.debug import ExceptionReporter

from frapp.logging import redact


class RedactingExceptionReporter(ExceptionReporter):
    def get_traceback_html(self):
        return redact(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return redact(str(super().get_traceback_text()))
