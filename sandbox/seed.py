"""Deterministic seed data: companies, users, fulfillments and price models.

Everything is drawn from one ``random.Random(seed)`` so the same seed gives the same
shops (dates are relative to today's midnight UTC, so they are stable within a day).
Generation is plain tuple picking, no per-order formatting libraries, because
benchmarks ask for 10,000 orders per company and a reset must stay well under a second.
"""

import random
from datetime import UTC, datetime, timedelta

# One deterministic order carries markup in its texts so that the app's templates
# are exercised against stored XSS (see ``_plant_xss``).
XSS_TITLE = '<script>alert(1)</script> "Deluxe" Edition'
XSS_ADDRESS2 = '"><img src=x onerror=alert(2)>'

COMPANIES = [
    {
        "id": 1202,
        "name": "Northwind Records",
        "users": [
            {
                "user_id": "4711",
                "email": "anna.schmidt@northwind-records.example",
                "name": "Anna Schmidt",
                "role": "Owner",
            },
            {
                "user_id": "4712",
                "email": "ben.keller@northwind-records.example",
                "name": "Ben Keller",
                "role": "Shipping",
            },
            {
                "user_id": "ops@northwind-records.example",
                "email": "ops@northwind-records.example",
                "name": "Ops Team",
                "role": "Staff",
            },
        ],
    },
    {
        "id": 1305,
        "name": "Alpine Audio",
        "users": [
            {
                "user_id": "owner@alpine-audio.example",
                "email": "owner@alpine-audio.example",
                "name": "Lukas Gruber",
                "role": "Owner",
            },
            {
                "user_id": "5120",
                "email": "sara.huber@alpine-audio.example",
                "name": "Sara Huber",
                "role": "Shipping",
            },
        ],
    },
    {
        "id": 1410,
        "name": "Kyoto Prints",
        "users": [
            {
                "user_id": "6001",
                "email": "yuki.tanaka@kyoto-prints.example",
                "name": "Yuki Tanaka",
                "role": "Owner",
            },
            {
                "user_id": "6002",
                "email": "ken.sato@kyoto-prints.example",
                "name": "Ken Sato",
                "role": "Shipping",
            },
            {
                "user_id": "yuki@kyoto-prints.example",
                "email": "yuki@kyoto-prints.example",
                "name": "Yuki (alt)",
                "role": "Staff",
            },
        ],
    },
    {
        # Ampersand, umlauts and a "+" in a UserID: exercises URL-encoding of the
        # launch parameters and UTF-8 everywhere.
        "id": 1520,
        "name": "Müller & Söhne Medien",
        "users": [
            {
                "user_id": "8801",
                "email": "j.mueller@mueller-soehne.example",
                "name": "Jörg Müller",
                "role": "Owner",
            },
            {
                "user_id": "j.mueller+shop@mueller-soehne.example",
                "email": "j.mueller+shop@mueller-soehne.example",
                "name": "Jörg Müller (Shop)",
                "role": "Staff",
            },
        ],
    },
]

# Per company: the catalogue its orders draw line items from.
CATALOGUES = {
    1202: [
        "Blue Train (180g Vinyl)",
        "Northern Lights – Live",
        "Midnight Sessions Box Set",
        "Harbour Songs",
        "The Quiet Year (CD)",
        "Field Recordings Vol. 2",
        "Tape Loops (Cassette)",
        'Anniversary Edition 7"',
    ],
    1305: [
        "Studio Monitor Cable 3 m",
        "Alpine Sessions Blu-ray",
        "Mastering Masterclass DVD",
        "Headphone Stand",
        "Zither Sample Library USB",
        "Yodel & Beats (CD)",
    ],
    1410: [
        "Hokusai Wave A3 Print",
        "Cherry Blossom Postcards (10)",
        "Ukiyo-e Calendar 2026",
        "Washi Notebook",
        "Kyoto Temple A2 Print",
        "Sumi Ink Gift Set",
        "Fuji Dawn Canvas",
    ],
    1520: [
        "Märchen-Hörbuch (5 CDs)",
        "Heimatfilm-Klassiker DVD",
        "Söhne-Jubiläumsbox",
        "Kinderlieder LP",
        "Straßenfeger Blu-ray",
    ],
}

# country_code -> (country_name, first names, last names, streets,
#                  [(zip, city, province), ...], phone prefix)
COUNTRIES = {
    "DE": (
        "Germany",
        ["Jonas", "Lea", "Felix", "Marie", "Paul", "Sophie", "Lukas", "Hannah"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"],
        ["Hauptstraße", "Bahnhofstraße", "Lindenweg", "Gartenstraße", "Schillerstraße"],
        [
            ("10115", "Berlin", "Berlin"),
            ("80331", "München", "Bayern"),
            ("50667", "Köln", "Nordrhein-Westfalen"),
            ("44135", "Dortmund", "Nordrhein-Westfalen"),
        ],
        "+49",
    ),
    "GB": (
        "United Kingdom",
        ["Oliver", "Amelia", "Harry", "Isla", "George", "Ava"],
        ["Smith", "Jones", "Taylor", "Brown", "O'Neill", "Wilson"],
        ["High Street", "Station Road", "Church Lane", "Victoria Road"],
        [
            ("SW1A 1AA", "London", ""),
            ("M1 1AE", "Manchester", ""),
            ("EH1 1YZ", "Edinburgh", "Scotland"),
            ("RG1 1AA", "Reading", "Berkshire"),
        ],
        "+44",
    ),
    "US": (
        "United States",
        ["James", "Emma", "Liam", "Olivia", "Noah", "Mia"],
        ["Johnson", "Williams", "Garcia", "Miller", "Davis", "Martinez"],
        ["Main St", "Oak Ave", "Maple Dr", "Sunset Blvd", "5th Ave"],
        [
            ("10001", "New York", "NY"),
            ("94103", "San Francisco", "CA"),
            ("33602", "Tampa", "FL"),
            ("60601", "Chicago", "IL"),
        ],
        "+1",
    ),
    "FR": (
        "France",
        ["Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon"],
        ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"],
        ["Rue de la Paix", "Avenue Victor Hugo", "Boulevard Saint-Michel", "Rue du Bac"],
        [
            ("75002", "Paris", "Île-de-France"),
            ("69001", "Lyon", "Auvergne-Rhône-Alpes"),
            ("13001", "Marseille", "Provence"),
        ],
        "+33",
    ),
    "JP": (
        "Japan",
        ["Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi"],
        ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe"],
        ["1-2-3 Shibuya", "4-5-6 Umeda", "2-8-1 Nishishinjuku", "3-1 Gion"],
        [
            ("150-0002", "Tokyo", "Tokyo"),
            ("530-0001", "Osaka", "Osaka"),
            ("605-0074", "Kyoto", "Kyoto"),
        ],
        "+81",
    ),
    "NL": (
        "Netherlands",
        ["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess"],
        ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker"],
        ["Prinsengracht", "Kalverstraat", "Oudegracht", "Coolsingel"],
        [
            ("1015 DV", "Amsterdam", "Noord-Holland"),
            ("3511 AA", "Utrecht", "Utrecht"),
            ("3011 AD", "Rotterdam", "Zuid-Holland"),
        ],
        "+31",
    ),
    "AT": (
        "Austria",
        ["Maximilian", "Anna", "Elias", "Laura", "Jakob"],
        ["Gruber", "Huber", "Bauer", "Wagner", "Pichler"],
        ["Mariahilfer Straße", "Getreidegasse", "Herrengasse"],
        [
            ("1070", "Wien", "Wien"),
            ("5020", "Salzburg", "Salzburg"),
            ("6020", "Innsbruck", "Tirol"),
        ],
        "+43",
    ),
    "CH": (
        "Switzerland",
        ["Noah", "Mia", "Leon", "Lina", "Luca"],
        ["Meier", "Keller", "Brunner", "Zürcher", "Favre"],
        ["Bahnhofstrasse", "Rue du Rhône", "Spitalgasse"],
        [("8001", "Zürich", "ZH"), ("1204", "Genève", "GE"), ("3011", "Bern", "BE")],
        "+41",
    ),
}

# Company -> weighted country codes of its customers.
COMPANY_COUNTRIES = {
    1202: ["DE", "DE", "DE", "GB", "US", "FR", "NL", "AT", "CH"],
    1305: ["AT", "AT", "DE", "CH", "CH", "GB", "US"],
    1410: ["JP", "JP", "JP", "US", "GB", "FR", "DE"],
    1520: ["DE", "DE", "AT", "CH", "NL"],
}

# country -> shipping models (name, tracking URL template, tracking number style).
# An empty template is allowed by the contract ("may be empty").
SHIPPING = {
    "DE": [
        (
            "DHL Paket",
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={tracking}",
            "dhl",
        ),
        (
            "Hermes Päckchen",
            "https://www.myhermes.de/empfangen/sendungsverfolgung/?trackingId={tracking}",
            "hermes",
        ),
        ("Deutsche Post Einschreiben", "", "post"),
    ],
    "GB": [
        (
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}",
            "royal",
        ),
        (
            "DHL Express",
            "https://www.dhl.com/gb-en/home/tracking.html?tracking-id={tracking}",
            "dhl",
        ),
    ],
    "US": [
        ("UPS Standard", "https://www.ups.com/track?tracknum={tracking}", "ups"),
        (
            "USPS Priority Mail",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
            "usps",
        ),
    ],
    "FR": [
        ("Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}", "colis"),
        (
            "DHL Express",
            "https://www.dhl.com/fr-fr/home/tracking.html?tracking-id={tracking}",
            "dhl",
        ),
    ],
    "JP": [
        (
            "Japan Post EMS",
            "https://trackings.post.japanpost.jp/services/srv/search/?requestNo1={tracking}",
            "ems",
        ),
        ("Yamato Transport", "", "yamato"),
    ],
    "NL": [
        ("PostNL", "https://jouw.postnl.nl/track-and-trace/{tracking}", "postnl"),
        ("DHL Paket", "https://www.dhl.de/track?id={tracking}", "dhl"),
    ],
    "AT": [
        ("Österreichische Post", "https://www.post.at/s/sendungssuche?snr={tracking}", "postat"),
        ("DHL Paket", "https://www.dhl.de/track?id={tracking}", "dhl"),
    ],
    "CH": [
        (
            "Swiss Post PostPac",
            "https://service.post.ch/ekp-web/ui/entry/search/{tracking}",
            "swiss",
        ),
        ("UPS Standard", "https://www.ups.com/track?tracknum={tracking}", "ups"),
    ],
}

PRICE_NAMES = [
    "Default pricing for new items",
    "Album standard",
    "Single / EP",
    "Premium box set",
    "Summer sale -30%",
    "Wholesale partners",
    "Back catalogue",
    "Legacy pricing (retired)",
]
PRICE_COUNTRIES = [
    ("Germany", "DE"),
    ("Austria", "AT"),
    ("Switzerland", "CH"),
    ("United Kingdom", "GB"),
    ("United States", "US"),
    ("France", "FR"),
    ("Japan", "JP"),
    ("Netherlands", "NL"),
]
CURRENCIES = ["eur", "gbp", "usd", "jpy", "chf"]

LINE_COUNTS = (1, 1, 1, 2, 2, 3, 4, 5)
QUANTITIES = (1, 1, 1, 1, 2, 3)

FIRST_ORDER_ID = 267001
FIRST_LINE_ITEM_ID = 90001
FIRST_PRICE_ID = 5001


def iso(dt: datetime) -> str:
    """The platform's timestamp form: ``2016-04-07T16:16:17`` (UTC, no offset)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def _gtin13(rng: random.Random) -> str:
    """A 13-digit GTIN with a correct EAN-13 check digit (prefix 40-44: Germany)."""
    digits = [4, rng.randint(0, 4)] + [rng.randint(0, 9) for _ in range(10)]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _long_id(rng: random.Random) -> str:
    """The platform's long product id, e.g. ``0000-2E74-D5D6-3CD7``."""
    return "0000-" + "-".join(f"{rng.getrandbits(16):04X}" for _ in range(3))


def _tracking_number(rng: random.Random, style: str) -> str:
    r = rng.getrandbits
    if style == "dhl":
        return f"00340434{r(40) % 10**12:012d}"
    if style == "royal":
        return f"{chr(65 + r(4) % 26)}{chr(65 + r(4) % 26)}{r(30) % 10**9:09d}GB"
    if style == "ups":
        return f"1Z{r(20) % 1000:03d}AA1{r(34) % 10**10:010d}"
    if style in ("ems", "usps"):
        return f"EE{r(30) % 10**9:09d}JP" if style == "ems" else f"9400{r(60) % 10**18:018d}"
    if style == "post":  # a registered letter: tracked, but no tracking page
        return f"RR{r(30) % 10**9:09d}DE"
    return f"{style.upper()[:2]}{r(40) % 10**11:011d}"


def make_catalogue(rng: random.Random, company_id: int, next_item_id: int):
    items = []
    for i, title in enumerate(CATALOGUES[company_id]):
        items.append(
            {
                "id": next_item_id + i,
                "product_id": _long_id(rng),
                "title": title,
                "version": rng.choice(["1", "1", "2", "2.1", "Deluxe", "Standard"]),
                "gtin": _gtin13(rng),
                "grams": rng.choice([90, 120, 180, 250, 320, 450, 800, 1200]),
            }
        )
    return items


def make_order(rng, order_id, company_id, created_at, shipped, catalogue, countries):
    """One fulfillment dict with exactly the §3 fields.

    Picks use ``seq[int(r() * len(seq))]`` rather than ``rng.choice``: it is several
    times faster and this loop runs tens of thousands of times per reset.
    """
    r = rng.random

    def pick(seq):
        return seq[int(r() * len(seq))]

    code = pick(countries)
    cname, firsts, lasts, streets, places, phone = COUNTRIES[code]
    zip_, city, province = pick(places)
    model, url, style = pick(SHIPPING[code])
    tracking = ""
    if shipped:
        tracking = _tracking_number(rng, style)
        if r() < 0.1:  # a split shipment: two numbers
            tracking += ", " + _tracking_number(rng, style)
    lines = []
    n_lines = pick(LINE_COUNTS)
    start = int(r() * len(catalogue))
    for k in range(n_lines):
        line = dict(catalogue[(start + k * 3) % len(catalogue)])
        line["quantity"] = pick(QUANTITIES)
        lines.append(line)
    u = r()
    address2 = "" if u < 0.7 else ("c/o " + pick(lasts) if u < 0.85 else f"Apt {int(u * 1000) % 40 + 1}")
    return {
        "id": order_id,
        "created_at": created_at,
        "company_id": company_id,
        "status": 100 if shipped else 0,
        "shipping_address": {
            "name": pick(firsts) + " " + pick(lasts),
            "address1": f"{pick(streets)} {int(r() * 120) + 1}",
            "address2": address2,
            "zip": zip_,
            "city": city,
            "province": province,
            "country_name": cname,
            "country_code": code,
            "phone": f"{phone} {int(r() * 900) + 100} {int(r() * 9000000) + 100000}",
        },
        "line_items": lines,
        "shipping_model": model,
        "tracking_number": tracking,
        "tracking_url": url,
    }


def make_prices(rng, company_id, first_id, now):
    prices = []
    count = rng.randint(5, 8)
    for i, name in enumerate(PRICE_NAMES[:count]):
        base = rng.choice((99, 499, 999, 1299, 1999, 2999, 4999))
        created = now - timedelta(days=rng.randint(100, 900), seconds=rng.randint(0, 86399))
        updated = created + timedelta(days=rng.randint(0, 90), seconds=rng.randint(0, 86399))
        prices.append(
            {
                "id": first_id + i,
                "name": name,
                # The "retired" model (when drawn) is the invalid one; one more may be.
                "valid": 0 if "retired" in name or (i > 0 and rng.random() < 0.1) else 1,
                "countries": [
                    {
                        "country_name": cn,
                        "country_code": cc,
                        "price": base + rng.choice((0, 0, 100, 200)),
                    }
                    for cn, cc in rng.sample(PRICE_COUNTRIES, rng.randint(2, 5))
                ],
                "currencies": [
                    {
                        "currency": cur,
                        "price": base * 150 if cur == "jpy" else base + rng.choice((0, 50, 100)),
                    }
                    for cur in CURRENCIES[: rng.randint(2, 5)]
                ],
                "created_at": iso(created),
                "updated_at": iso(updated),
            }
        )
    return prices


def generate(seed: int, open_orders: int, shipped_orders: int, now: datetime | None = None):
    """Build the whole seed as a dict: companies, orders (company -> id -> order),
    prices (company -> list), catalogues (company -> line items) and next_order_id.

    Order ids are unique across companies and rise with ``created_at`` inside a company.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    anchor = now.replace(hour=0, minute=0, second=0, microsecond=0)
    span = 90 * 86400
    companies = [
        {"id": c["id"], "name": c["name"], "users": [dict(u) for u in c["users"]]} for c in COMPANIES
    ]
    orders_by_company: dict[int, dict[int, dict]] = {}
    prices_by_company: dict[int, list[dict]] = {}
    catalogues: dict[int, list[dict]] = {}
    next_order = FIRST_ORDER_ID
    next_item = FIRST_LINE_ITEM_ID
    next_price = FIRST_PRICE_ID
    for company in companies:
        cid = company["id"]
        catalogue = catalogues[cid] = make_catalogue(rng, cid, next_item)
        next_item += 100
        total = open_orders + shipped_orders
        # Oldest first; the newest orders are more likely still open, as in a real shop.
        offsets = sorted((rng.random() for _ in range(total)), reverse=True)
        shipped_flags = [True] * shipped_orders + [False] * open_orders
        # Mostly-old shipped / mostly-new open, with some mixing.
        r = rng.random
        for i in range(total - 1, 0, -1):
            if r() < 0.3:
                j = int(r() * (i + 1))
                shipped_flags[i], shipped_flags[j] = shipped_flags[j], shipped_flags[i]
        orders = {}
        countries = COMPANY_COUNTRIES[cid]
        for off, shipped in zip(offsets, shipped_flags, strict=True):
            # isoformat() of a whole-second datetime is the platform's form (faster than strftime).
            created = (anchor - timedelta(seconds=int(off * span) + 3600)).isoformat()
            orders[next_order] = make_order(rng, next_order, cid, created, shipped, catalogue, countries)
            next_order += 1
        orders_by_company[cid] = orders
        prices_by_company[cid] = make_prices(rng, cid, next_price, anchor)
        next_price += 100
    _plant_xss(orders_by_company.get(1202, {}))
    return {
        "companies": companies,
        "orders": orders_by_company,
        "prices": prices_by_company,
        "catalogues": catalogues,
        "next_order_id": next_order,
    }


def _plant_xss(orders: dict[int, dict]):
    """Markup in the oldest open order of company 1202 (or its oldest order at all)."""
    if not orders:
        return
    open_ids = [oid for oid, o in orders.items() if o["status"] == 0]
    target = orders[min(open_ids) if open_ids else min(orders)]
    target["line_items"][0] = dict(target["line_items"][0], title=XSS_TITLE)
    target["shipping_address"]["address2"] = XSS_ADDRESS2
