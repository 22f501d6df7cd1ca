"""The app speaks German as well as English: every template string is marked, the German
catalogue is complete and keeps every placeholder, and real pages come out in German when the
browser (or the user's choice in the app) asks for it."""

import html
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

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


# --- The German catalogue ---------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|{\w*}")


def german_catalogue():
    with GERMAN_PO.open("rb") as po:
        return read_po(po, locale="de")


def _strings(value) -> list[str]:
    return list(value) if isinstance(value, tuple) else [value]


def test_every_german_entry_is_translated_and_none_is_fuzzy():
    catalogue = german_catalogue()
    untranslated = [m.id for m in catalogue if m.id and not all(_strings(m.string))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert len(catalogue) > 400
    assert untranslated == []
    assert fuzzy == []


def test_german_entries_keep_every_placeholder_of_their_msgid():
    wrong = []
    for m in german_catalogue():
        if not m.id:
            continue
        wanted = sorted(PLACEHOLDER.findall(" ".join(_strings(m.id))))
        for translated in _strings(m.string):
            if sorted(PLACEHOLDER.findall(translated)) != wanted and not (
                # A plural's singular may spell the count out; it must not invent a placeholder.
                isinstance(m.id, tuple) and set(PLACEHOLDER.findall(translated)) <= set(wanted)
            ):
                wrong.append((m.id, translated))
    assert wrong == []


def test_compiled_catalogue_is_not_older_than_its_source():
    """``./run setup`` compiles the .po with Babel; a stale .mo would show yesterday's German."""
    compiled = GERMAN_PO.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= GERMAN_PO.stat().st_mtime, (
        "run ./run setup (or .venv/bin/pybabel compile -d locale -D django)"
    )


MAKEMESSAGES_IGNORE = ["sandbox", ".venv", "bench", "tests", "staticfiles", "test-artifacts"]


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext's xgettext is not installed")
def test_every_marked_string_in_the_source_is_in_the_german_catalogue(tmp_path, monkeypatch):
    """Runs the README's ``makemessages`` against a copy of the catalogue: a string marked in the
    source but missing from ``django.po`` comes back untranslated (or fuzzy) in the copy."""
    locale = tmp_path / "locale"
    (locale / "de" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(GERMAN_PO, locale / "de" / "LC_MESSAGES" / "django.po")
    # A tree of links to the source, so that makemessages writes into the copy, never the real one.
    for entry in ROOT.iterdir():
        if entry.name not in {"locale", *MAKEMESSAGES_IGNORE} and not entry.name.startswith("."):
            (tmp_path / entry.name).symlink_to(entry)
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[locale]):
        call_command(
            "makemessages",
            locale=["de"],
            symlinks=True,
            no_location=True,
            ignore_patterns=MAKEMESSAGES_IGNORE,
            verbosity=0,
        )
    with (locale / "de" / "LC_MESSAGES" / "django.po").open("rb") as po:
        extracted = read_po(po, locale="de")
    missing = [m.id for m in extracted if m.id and (m.fuzzy or not all(_strings(m.string)))]
    assert len(extracted) >= len(german_catalogue())
    assert missing == [], "run the README's makemessages command and translate these"


# --- Real pages, in the language the browser or the user asks for ----------------------------

GERMAN_NAV = ["Offen", "Versendet", "Alle", "Scannen & versenden", "CSV importieren", "Aktivität"]
ENGLISH_NAV = [">Open <", ">Shipped <", "Scan & ship", "Import CSV", ">Activity<", ">Updates"]


def test_open_orders_page_is_german_when_the_browser_asks_for_german(shop):
    html = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="de">' in html
    for word in GERMAN_NAV + [
        "Offene Bestellungen",
        "Lieferadresse",
        "Gewicht",
        "Lieferscheine",
        "Pickliste",
    ]:
        assert word in html, word
    for leftover in ENGLISH_NAV + ["Packing slips", "Pick list", "Ship to"]:
        assert leftover not in html, leftover


def test_pages_stay_english_for_an_english_browser(shop):
    html = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in html
    assert "Scan & ship" in html and "Offene Bestellungen" not in html


def test_order_detail_scan_and_prices_pages_are_german(shop):
    german = {"HTTP_ACCEPT_LANGUAGE": "de"}
    listing = shop.get("/fulfillments/", **german).content.decode()
    order_id = re.search(r'id="order-(\d+)"', listing)[1]
    detail = shop.get(f"/fulfillments/{order_id}/", **german).content.decode()
    assert "Lieferschein" in detail and "Sendungsnummer(n)" in detail and "Als versendet markieren" in detail
    assert "Packing slip" not in detail and "Mark shipped" not in detail
    scan = shop.get("/fulfillments/scan/", **german).content.decode()
    assert "Bestellnummer" in scan and "Order number" not in scan
    prices = shop.get("/prices/", **german).content.decode()
    assert "Preismodelle" in prices and "Price models" not in prices


def test_dates_and_weights_follow_the_language(shop):
    listing = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", listing), "German short date (TT.MM.JJJJ HH:MM)"
    assert re.search(r"\d+(,\d+)?\xa0(k?g)", listing)
    english = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", english)


def test_money_is_formatted_for_the_active_language():
    from django.utils import translation

    from fulfillment.prices.money import format_money

    with translation.override("de"):
        assert format_money(123456, "eur") == "1.234,56\xa0€"
    with translation.override("en"):
        assert format_money(123456, "eur") == "€1,234.56"


def test_weights_are_grams_below_a_kilo_and_kilos_above():
    from django.utils import translation

    from frapp.templatetags.app_l10n import weight

    with translation.override("de"):
        assert weight(850) == "850\xa0g"
        assert weight(1250) == "1,25\xa0kg"
    with translation.override("en"):
        assert weight(1250) == "1.25\xa0kg"
    assert weight("not a number") == ""


# --- The language switch ----------------------------------------------------------------------


def test_language_switch_overrides_the_browser_and_is_remembered_for_that_user(shop, embedded, client):
    from oauth.models import UserPreference

    page = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="language-switch"' in page and ">Deutsch</button>" in page

    response = shop.post("/oauth/language", {"language": "de", "next": shop.url("/activity/")})
    assert response.status_code == 302 and response["Location"] == shop.url("/activity/")
    assert UserPreference.objects.get(company_id=1202, user_id="4711").language == "de"
    # The browser still says English; the user's choice wins, in this session ...
    html = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in html and "Offene Bestellungen" in html

    # ... and in the next launch of the same user, with no query for it per request.
    again = embedded(1202, "4711")
    html = again.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in html

    # Another user of the same shop keeps following the browser.
    colleague = embedded(1202, "4712")
    assert '<html lang="en">' in colleague.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_choosing_follow_the_browser_drops_the_override(shop):
    shop.post("/oauth/language", {"language": "de"})
    shop.post("/oauth/language", {"language": ""})
    assert '<html lang="en">' in shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_language_switch_never_redirects_off_the_session_and_refuses_unknown_languages(shop):
    response = shop.post("/oauth/language", {"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"].startswith(shop.prefix + "/")
    assert '<html lang="en">' in shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_language_switch_keeps_the_language_when_next_is_too_long(shop):
    """A ``next`` past the form's 2000 characters is dropped, not the chosen language."""
    response = shop.post("/oauth/language", {"language": "de", "next": "/" + "x" * 2100})
    assert response.status_code == 302
    assert response["Location"] == shop.url("/fulfillments/")
    html = shop.get("/fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="de">' in html


def test_language_switch_needs_a_session(client, db):
    assert client.post("/oauth/language", {"language": "de"}).status_code == 403


def test_a_foreign_import_in_german_shows_the_apps_german_404_with_a_way_back(shop):
    from fulfillment.imports.models import CsvImport

    theirs = CsvImport.objects.create(company_id=1305, filename="theirs.csv")
    response = shop.get(f"/fulfillments/import/{theirs.pk}/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="de">' in html
    assert "Diese Seite gibt es nicht, oder sie gehört zu einem anderen Shop." in html
    assert 'id="back-to-open-orders"' in html and "Zurück zu den offenen Bestellungen" in html
    assert "theirs.csv" not in html


def test_the_500_page_is_static_and_german(rf):
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override("de"):
        html = server_error(rf.get("/")).content.decode()
    assert '<html lang="de">' in html and "Etwas ist schiefgelaufen" in html


def test_flickrocket_errors_are_shown_by_type_in_the_users_language(shop, flickrocket):
    """FlickRocket's own texts are English; the page names the kind of failure in German."""
    flickrocket.faults(outage=True)
    html = shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert 'id="unavailable-banner"' in html
    assert "FlickRocket ist gerade nicht erreichbar." in html
    assert "not answering" not in html


def test_problem_text_maps_each_flickrocket_error_type():
    from django.utils import translation

    import flickrocket as fr
    from frapp.errors import AppError, problem_text

    with translation.override("de"):
        assert problem_text(fr.Unavailable("connection reset")) == "FlickRocket ist gerade nicht erreichbar."
        assert problem_text(fr.RateLimited()).startswith("FlickRocket bittet uns")
        assert problem_text(fr.BadResponse("junk")).startswith("FlickRocket hat eine Antwort geschickt")
        assert problem_text(fr.Invalid("bad zip")) == "FlickRocket hat dies abgelehnt: bad zip"
        assert problem_text(fr.Invalid()) == "FlickRocket hat die Anfrage abgelehnt."
        assert problem_text(AppError("Schon übersetzt.")) == "Schon übersetzt."
