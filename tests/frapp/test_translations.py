"""The app speaks German as well as English: every template string is marked, the German
catalogue is complete and keeps every placeholder, and real pages come out in German when the
browser (or the user's choice in the app) asks for it."""

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
GERMAN_PO = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"

# Words a template may show untranslated: names and units that are the same in every language.
ALLOWED_WORDS = {"FlickRocket", "CSV", "GTIN", "htmx", "g", "kg", "ID", "URL", "OAuth", "API", "JSON", "HMAC"}

TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "fulfillment").glob("*/templates")), ROOT / "oauth"]

BLOCK_TRANSLATE = re.compile(r"{%-?\s*blocktrans(?:late)?\b.*?{%-?\s*endblocktrans(?:late)?\s*-?%}", re.S)
COMMENT_BLOCK = re.compile(r"{%\s*comment\b.*?{%\s*endcomment\s*%}", re.S)
TEMPLATE_SYNTAX = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
NOT_SHOWN = re.compile(r"<(script|style|code|kbd|samp)\b[^>]*>.*?</\1\s*>", re.S | re.I)
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)")
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
WORD = re.compile(r"[^\W\d_]+")


def template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS if d.exists() for p in d.rglob("*.html"))


def _visible_attributes(match: re.Match) -> str:
    name, attributes = (
        match[2].lower(),
        dict((k.lower(), v.strip("\"'")) for k, v in ATTRIBUTE.findall(match[3])),
    )
    shown = [attributes[a] for a in VISIBLE_ATTRIBUTES if a in attributes]
    # A <button>'s value is never shown; an <input type="submit">'s is its label.
    if name == "input" and attributes.get("type") in {"submit", "button", "reset"}:
        shown.append(attributes.get("value", ""))
    return " " + " ".join(shown) + " "


def unmarked_words(source: str) -> list[str]:
    """The words a person would see that no ``{% translate %}`` or ``{% blocktranslate %}`` covers."""
    text = BLOCK_TRANSLATE.sub(" ", source)
    text = COMMENT_BLOCK.sub(" ", text)
    text = TEMPLATE_SYNTAX.sub(" ", text)
    text = NOT_SHOWN.sub(" ", text)
    text = re.sub(r"<!--.*?-->|<!doctype[^>]*>", " ", text, flags=re.S | re.I)
    text = TAG.sub(_visible_attributes, text)
    text = html.unescape(text).replace("FlickRocket Fulfillment", " ")  # the app's name
    return [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]


def test_the_scanner_finds_unmarked_text_and_accepts_marked_text():
    assert unmarked_words('<p title="Open orders">{% translate "Open" %} <b>Shipped</b></p>') == [
        "Open",
        "orders",
        "Shipped",
    ]
    assert unmarked_words('<input type="submit" value="Save" class="btn">') == ["Save"]
    assert unmarked_words('<button value="ship" aria-label="Ship it">{{ x }}</button>') == ["Ship", "it"]
    assert (
        unmarked_words('<a href="/x" class="nav">{% blocktranslate %}Hi {{ a }}{% endblocktranslate %}</a>')
        == []
    )
    assert unmarked_words("<script>var shown = 1;</script>{# note #}{{ row.order.total_grams }} g") == []


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_template_string_is_marked_for_translation(path):
    assert unmarked_words(path.read_text()) == []
