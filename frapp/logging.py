"""Structured logs with a request id on every line; no line carries a credential or a forged break.

Two guarantees, whoever logs and however logging is configured:

- No session key. Embedded pages live under ``/s/<session key>/``, and the key is a bearer
  credential. ``install_redaction`` (run when the app starts) puts a record factory in front of
  every logger and ``RedactFilter`` on Django's loggers and on every handler, so Django's own
  "Not Found: /s/<key>/...", CSRF failures, 500 tracebacks, runserver's access lines and SQL
  debug lines come out masked even with Django's default LOGGING.
- One record, one line. Control characters (C0, DEL, C1, U+2028/U+2029) in any logged value are
  written as escapes by the formatters (and by the record factory, for formatters we do not own),
  so ``/foo%0d%0aINFO fake line`` cannot start a line of its own. Tracebacks keep their line
  breaks, but every continuation line is indented: a line at column 0 is always a real record.
"""

import contextvars
import copy
import json
import logging
import re

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MASK = "***"

# Anything that looks like a bearer credential is masked, whoever logs it.
_SECRET_PATTERNS = [
    (re.compile(r"(/s/)[A-Za-z0-9]{8,}"), r"\1" + MASK),
    # A bare Django session key (32 of [a-z0-9]), e.g. in an SQL debug line. Request ids and
    # hashes are hex: requiring one letter past "f" keeps them readable, and a real key is
    # all-hex with a chance of about 1 in 10^11.
    (re.compile(r"(?<![a-z0-9])(?=[a-z0-9]{0,31}[g-z])[a-z0-9]{32}(?![a-z0-9])"), MASK),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(?i)((?:access|refresh)_token[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(?i)([?&](?:code|hmac|access_token|refresh_token)=)[^&\s]+"), r"\1" + MASK),
]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTINUATION_INDENT = "    "


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _escape_char(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_controls(text: str) -> str:
    """One physical line: every control character and Unicode line break as a visible escape."""
    return _CONTROL.sub(_escape_char, text)


def clean(value):
    """What a formatter may print of one value: masked, on one line."""
    return escape_controls(redact(value)) if isinstance(value, str) else value


def clean_block(text: str) -> str:
    """A traceback or stack: masked, real line breaks kept, every line indented so none of them
    (nor a line break smuggled into an exception message) can pass for a record of its own."""
    text = _CONTROL_BUT_NEWLINE.sub(_escape_char, redact(text))
    return "\n".join(CONTINUATION_INDENT + line for line in text.split("\n"))


def _safe_message(record: logging.LogRecord) -> str | None:
    try:
        return record.getMessage()
    except Exception:  # a broken format call is the logging module's to report, not ours
        return None


def _clean_record_text(record: logging.LogRecord, *, escape: bool) -> None:
    message = _safe_message(record)
    if message is not None:
        cleaned = redact(message)
        if escape:
            cleaned = escape_controls(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactFilter(logging.Filter):
    """Masks credentials in a record before any handler writes it, whatever its format.

    On a logger it runs before every handler, including ones that never heard of it (a test's
    caplog, Django's default console, an error tracker), because it changes the record itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _clean_record_text(record, escape=False)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "META") and not getattr(request, "_log_safe", False):
            record.request = _redacted_request(request)
        return True


def _redacted_request(request):
    """A copy of the request for handlers that read it (error mails, trackers): the live request
    keeps its path, because the page being rendered still builds its links from it."""
    try:
        safe = copy.copy(request)
        safe.META = {k: redact(v) if isinstance(v, str) else v for k, v in request.META.items()}
        safe.path = redact(request.path)
        safe.path_info = redact(request.path_info)
        safe._log_safe = True
    except Exception:
        return None
    return safe


_REDACTED_LOGGERS = ("", "django", "django.request", "django.security.csrf", "django.server")
_previous_factory = None


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _previous_factory(*args, **kwargs)
    _clean_record_text(record, escape=True)
    return record


def install_redaction() -> None:
    """Make masking independent of LOGGING: a record factory for every logger, the filter on
    Django's loggers and on every handler configured so far. Safe to call more than once."""
    global _previous_factory
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_factory)
    loggers = [logging.getLogger(name) for name in _REDACTED_LOGGERS]
    handlers = {h for logger in loggers for h in logger.handlers}
    handlers |= {ref() for ref in list(logging._handlerList) if ref() is not None}
    for target in [*loggers, *handlers]:
        if not any(isinstance(f, RedactFilter) for f in target.filters):
            target.addFilter(RedactFilter())


class PlainFormatter(logging.Formatter):
    """Django-style text lines, every value masked and on one line."""

    def __init__(self, fmt="%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s", **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = copy.copy(record)
        line.__dict__.update({k: clean(v) for k, v in vars(record).items() if isinstance(v, str)})
        line.message = clean(_safe_message(record) or str(record.msg))
        if self.usesTime():
            line.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(line)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info):
            if block:
                text += "\n" + clean_block(block)
        return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": clean(record.name),
            "request_id": clean(getattr(record, "request_id", "-")),
            "message": clean(_safe_message(record) or str(record.msg)),
        }
        for key in ("company_id", "status", "method", "path", "duration_ms", "flickrocket_calls"):
            if hasattr(record, key):
                payload[key] = clean(getattr(record, key))
        if record.exc_info:
            payload["exc"] = clean_block(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exc"] = clean_block(record.exc_text)
        if record.stack_info:
            payload["stack"] = clean_block(record.stack_info)
        return json.dumps(payload, default=str)
