"""The packer's journey with pack verification, in German and in English, against real processes.

The owner installs the app from the sandbox's admin shell (webhooks are subscribed with no
click), turns pack verification on, then verifies and ships five orders with a "scanner" only:
keystrokes ending in Enter into whatever has the focus, never a click during the scans. A wrong
item and a mistyped tracking number are flagged; the mistyped shipment is undone from its order
page. The browser's language (``locale``, sent as Accept-Language) picks the app's language.
Each step leaves a screenshot under test-artifacts/journey-<lang>/.
"""

import shutil
import time

import pytest
from playwright.sync_api import expect

from tests.browser import test_journey
from tests.browser.conftest import ARTIFACTS, launch_context
from tests.browser.test_journey import wait_shipped

# The same real processes as the owner's journey: gunicorn, registered with the sandbox, and a worker.
app = test_journey.app
worker = test_journey.worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANY = 1202
TOPICS = {"order/create", "app/uninstalled", "app/update"}

# What each screen must say in each language; the other language's words must not show.
TEXT = {
    "en": {
        "install": "Install FlickRocket Fulfillment",
        "open": "Open orders",
        "scan": "Scan & ship",
        "import": "Import CSV",
        "activity": "Activity",
        "settings": "Packing settings",
        "verify": "Verify items before shipping",
        "save": "Save",
        "order_step": "1. Order number",
        "items_step": "2. Scan each item",
        "tracking_step": "3. Tracking number",
        "wrong_item": "Wrong item",
        "scanned_code": "Scanned code:",
        "shipped": "Order #{order} verified and shipped",
        "check_digit": "check digit is wrong",
        "note": "Check the tracking number of order",
        "open_order": "Open order",
        "undo": "Undo shipment",
        "confirm": "Yes, set it back to open",
        "reopening": "mark not shipped",
    },
    "de": {
        "install": "FlickRocket Fulfillment installieren",
        "open": "Offene Bestellungen",
        "scan": "Scannen & versenden",
        "import": "CSV importieren",
        "activity": "Aktivität",
        "settings": "Packeinstellungen",
        "verify": "Artikel vor dem Versand prüfen",
        "save": "Speichern",
        "order_step": "1. Bestellnummer",
        "items_step": "2. Jeden Artikel scannen",
        "tracking_step": "3. Sendungsnummer",
        "wrong_item": "Falscher Artikel",
        "scanned_code": "Gescannter Code:",
        "shipped": "Bestellung #{order} geprüft und versendet",
        "check_digit": "Prüfziffer stimmt nicht",
        "note": "Prüfen Sie die Sendungsnummer von Bestellung",
        "open_order": "Bestellung öffnen",
        "undo": "Versand rückgängig machen",
        "confirm": "Ja, wieder auf offen setzen",
        "reopening": "als nicht versendet markieren",
    },
}


def gs1_check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def dhl_paket_number(serial: int) -> str:
    """A valid DHL Paket number (SSCC with its GS1 check digit), different for each serial."""
    body = f"003404338364426{serial:04d}"
    return body + gs1_check_digit(body)


def mistyped(number: str) -> str:
    """One digit changed: the check digit no longer fits, as when a scanner misreads a bar."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.fixture
def localised_page(playwright_instance, tmp_path, lang):
    """Headless Chromium whose language is ``lang`` (Accept-Language and navigator.language)."""
    context = launch_context(playwright_instance, tmp_path, locale={"de": "de-DE", "en": "en-US"}[lang])
    yield context.pages[0] if context.pages else context.new_page()
    context.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def screenshots(page, lang: str):
    folder = ARTIFACTS / f"journey-{lang}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 1000))

    def take(step: str):
        page.screenshot(path=str(folder / f"{next(counter):02d}-{step}.png"), full_page=True)

    return take


def assert_language(frame, lang: str, *keys: str):
    """The frame speaks ``lang`` for these labels, and none of them is left in the other language."""
    assert frame.locator("html").get_attribute("lang") == lang
    text = frame.locator("body").inner_text()
    other = "en" if lang == "de" else "de"
    for key in keys:
        assert TEXT[lang][key] in text, (lang, key, text[:2000])
        assert TEXT[other][key] not in text, (lang, key, "left in the other language")


def pick_orders(sandbox, count: int) -> list[dict]:
    """Open DHL Paket orders with the most items to scan (every item has a GTIN in the seed)."""
    candidates = [
        o
        for o in sandbox.fulfillments(COMPANY)
        if o["status"] == 0
        and o["shipping_model"] == "DHL Paket"
        and all(item["gtin"] for item in o["line_items"])
    ]
    candidates.sort(key=lambda o: (-sum(i["quantity"] for i in o["line_items"]), o["id"]))
    assert len(candidates) >= count, "the sandbox seed has too few open DHL Paket orders"
    return candidates[:count]


class Scanner:
    """A barcode scanner: a keyboard that types a code and presses Enter into the focused box."""

    def __init__(self, page, frame):
        self.page = page
        self.frame = frame
        self.scans = 0

    def scan(self, code: str):
        bench = self.frame.locator("#pack-bench")
        # Whatever has the focus gets the keystrokes: it must be the bench's one box.
        expect(self.frame.locator("#scan-input")).to_be_focused()
        # Only a fresh bench proves the scan was answered (the old one may look the same).
        bench.evaluate("node => { node.dataset.stale = '1'; }")
        self.page.keyboard.type(code)
        self.page.keyboard.press("Enter")
        self.scans += 1
        self.frame.locator("#pack-bench:not([data-stale])").wait_for()

    def step(self) -> str:
        return self.frame.locator("#pack-bench").get_attribute("data-step")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_packer_installs_verifies_and_ships_five_orders_by_scanner_and_undoes_one(
    lang, localised_page, app, worker, flickrocket
):
    page, sandbox, text = localised_page, flickrocket, TEXT[lang]
    screenshot = screenshots(page, lang)
    started = time.monotonic()

    # 1. Install from the shell's Extensions / Manage Apps.
    page.goto(sandbox.url + "/")
    page.locator(f'a[href="/shell/{COMPANY}/apps?user=4711"]').click()
    frame = page.frame_locator("#app-frame")
    frame.get_by_role("heading", name=text["install"]).wait_for()
    assert_language(frame, lang, "install")
    screenshot("manage-apps-not-installed")
    page.get_by_role("link", name="Install from the App Store").click()
    page.wait_for_url(f"{sandbox.url}/oauth2/auth*")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{sandbox.url}/shell/{COMPANY}/apps*")
    frame.get_by_role("heading", name=text["open"]).wait_for()
    assert_language(frame, lang, "open", "scan", "import", "activity")
    screenshot("open-orders-after-install")

    # The install subscribed the webhooks (the worker ran the task): no click, one hook per topic.
    receiver = app.url + "/webhooks/flickrocket"

    def app_hooks():
        return [h for h in sandbox.state()["hooks"] if h["company_id"] == COMPANY]

    assert sandbox.wait_for(lambda: {h["topic"] for h in app_hooks()} == TOPICS, timeout=15), app_hooks()
    hooks = app_hooks()
    assert sorted(h["topic"] for h in hooks) == sorted(TOPICS)
    assert {h["address"] for h in hooks} == {receiver}

    # 2. The packer turns pack verification on for the shop.
    frame.locator("nav.app-nav a.nav-link", has_text=text["scan"]).first.click()
    frame.get_by_role("heading", name=text["scan"]).wait_for()
    frame.locator("#packing-settings summary").click()
    assert_language(frame, lang, "scan", "settings", "verify", "order_step")
    frame.get_by_test_id("verify-items").check()
    screenshot("packing-settings-verify-on")
    frame.locator("#packing-settings-save").click()
    expect(frame.locator("#pack-bench")).to_have_attribute("data-step", "order")
    expect(frame.get_by_test_id("verify-items")).to_be_checked()
    screenshot("verification-bench-ready")

    orders = pick_orders(sandbox, 5)
    all_gtins = {i["gtin"] for o in sandbox.fulfillments(COMPANY) for i in o["line_items"] if i["gtin"]}
    tracking = {o["id"]: dhl_paket_number(100 + n) for n, o in enumerate(orders)}
    wrong_tracking_order = orders[-1]["id"]
    tracking[wrong_tracking_order] = mistyped(tracking[wrong_tracking_order])

    # From here on, only the scanner: no click until the last order is shipped.
    scanner = Scanner(page, frame)
    timings = []
    for n, order in enumerate(orders):
        order_started, scans_before = time.monotonic(), scanner.scans
        scanner.scan(str(order["id"]))
        assert scanner.step() == "items"
        if n == 0:
            assert_language(frame, lang, "items_step")
            screenshot("order-scanned-items-to-pack")
            # 3. A valid GTIN of another order: flagged, nothing counted.
            stranger = sorted(all_gtins - {i["gtin"] for i in order["line_items"]})[0]
            scanner.scan(stranger)
            alert = frame.get_by_test_id("pack-alert")
            expect(alert).to_be_visible()
            expect(alert).to_have_attribute("data-kind", "wrong_item")
            expect(frame.get_by_test_id("pack-alert-code")).to_have_text(stranger)
            assert_language(frame, lang, "wrong_item", "scanned_code")
            lines = frame.get_by_test_id("pack-line")
            assert all(s == "0" for s in lines.evaluate_all("rs => rs.map(r => r.dataset.scanned)"))
            screenshot("wrong-item-flagged")
        for item in order["line_items"]:
            for _ in range(item["quantity"]):
                scanner.scan(item["gtin"])
                expect(frame.get_by_test_id("pack-alert")).to_have_count(0)
        packed = frame.get_by_test_id("pack-line").evaluate_all(
            "rs => rs.map(r => [r.dataset.gtin.replace(/^0+/, ''), r.dataset.scanned, r.dataset.expected])"
        )
        assert sorted(packed) == sorted(
            [i["gtin"].lstrip("0"), str(i["quantity"]), str(i["quantity"])] for i in order["line_items"]
        )
        assert scanner.step() == "tracking"
        if n == 0:
            assert_language(frame, lang, "tracking_step")
            screenshot("every-item-packed")
        scanner.scan(tracking[order["id"]])
        done = frame.locator("#scan-done")
        expect(done).to_contain_text(text["shipped"].format(order=order["id"]))
        assert scanner.step() == "order"
        timings.append((order["id"], scanner.scans - scans_before, time.monotonic() - order_started))
        if n == 0:
            screenshot("first-order-shipped")
    expect(frame.locator("#scan-input")).to_be_focused()

    # 3. The mistyped tracking number was queued, and flagged with the carrier's check digit.
    warning = frame.locator("#scan-warning .tracking-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text(tracking[wrong_tracking_order])
    expect(warning).to_contain_text(text["check_digit"])
    assert_language(frame, lang, "note")
    screenshot("mistyped-tracking-flagged")

    print(f"\n[{lang}] {scanner.scans} scans for {len(orders)} orders:")
    for order_id, scans, seconds in timings:
        print(f"  order {order_id}: {scans} scans, {seconds:.2f} s")
    print(f"  {sum(t[2] for t in timings) / len(timings):.2f} s per order on average")

    # The worker sends all five to FlickRocket.
    for order in orders:
        wait_shipped(sandbox, order["id"], tracking[order["id"]])

    # 4. The mistyped one is undone from its order page, after the confirmation.
    done.get_by_role("link", name=text["open_order"]).click()
    frame.locator("#reopen-link").wait_for()
    assert_language(frame, lang, "undo")
    screenshot("order-page-undo-shipment")
    frame.locator("#reopen-link").click()
    frame.locator("#reopen-confirm").wait_for()
    assert_language(frame, lang, "confirm")
    screenshot("undo-confirmation")
    assert sandbox.fulfillment(COMPANY, wrong_tracking_order)["status"] == 100  # nothing sent yet
    frame.get_by_role("button", name=text["confirm"]).click()
    # Back on the order page, which no longer offers to undo anything.
    frame.locator("#reopen-confirm").wait_for(state="detached")
    expect(frame.locator("#reopen-link")).to_have_count(0)
    if frame.locator("#pending-banner").count():  # until the worker has sent it
        assert_language(frame, lang, "reopening")
    assert sandbox.wait_for(
        lambda: sandbox.fulfillment(COMPANY, wrong_tracking_order)["status"] == 0, timeout=15
    ), sandbox.fulfillment(COMPANY, wrong_tracking_order)
    screenshot("order-open-again")
    for order in orders[:-1]:
        assert sandbox.fulfillment(COMPANY, order["id"])["status"] == 100
    assert worker.poll() is None, "the worker died during the journey"
    print(f"  journey took {time.monotonic() - started:.1f} s")
