"""Carrier recognition from tracking-number formats and check digits (issue 11 §4).

Example numbers are the carriers' published ones: the ``test_numbers`` of the public
tracking_number_data definitions (the data the ``tracking-numbers`` package is generated from; its
wheel ships only the generated code, not these lists), carriers' documentation examples (UPS
1Z999AA10123456784, PostNL's 3SDEVC demo customer code, the UPU S10 example serial 12345678/5)
and the examples of German parcel-number formats on paketda.de. Where no example is published
(GLS 12-digit, Hermes 16-digit) the number is built with the format's published rule and says so.
"""

import time

import pytest
from django.utils import translation
from django.utils.functional import Promise

from fulfillment.orders.carriers import (
    CARRIERS,
    candidates,
    carriers_for_shipping_model,
    check_number,
    check_tracking_numbers,
    recognise,
    split_tracking_numbers,
    tracking_url,
    warnings_for,
)
from fulfillment.orders.gtin import gtin_is_valid, normalise_gtin, same_gtin

VALID = {
    "dhl_paket": ["201298452277", "00340433836442636597"],
    "dhl_express": [
        "3318810025",
        "8487135506",
        "1099255990",
        "3821724944",
        "3318810036",
        "3318810014",
        "73891051146",
    ],
    "deutsche_post": ["RA123456785DE", "RR123456785DE"],
    "dpd": [
        "01015026003653C",
        "008182709980000020033350276C",
        "0081 827 0998 0000 0200 45 327 276 N",
        "%008182709980000020033350276C",
    ],
    # GLS: none published; 12345678901 with its check digit per the GLS Uni-Box documentation.
    "gls": ["123456789011"],
    "hermes": ["09133131530724"],
    "ups": [
        "1Z999AA10123456784",
        "1Z5R89390357567127",
        "1Z879E930346834440",
        "1Z410E7W0392751591",
        "1Z8V92A70367203024",
    ],
    "fedex": [
        "986578788855",
        "477179081230",
        "799531274483",
        "790535312317",
        "974367662710",
        "1001921334250001000300779017972697",
        "61299998820821171811",
        "0414 4176 0228 964",
        "5682 8361 0012 000",
        "00 0123 4500 0000 0027",
        "9611020987654312345672",
        "9622001900000000000000776632517510",
    ],
    "usps": [
        "9400111899223197428497",
        "0307 1790 0005 2348 3741",
        "7112 3456 7891 2345 6787",
        "4201002334249200190132607600833457",
        "420 22153 9101026837331000039521",
        "9505 5110 6960 5048 6006 24",
        "9400 1112 0108 0805 4830 16",
        "9405803699300124287899",
    ],
    "royal_mail": ["EE123456785GB", "RB123456785GB"],
}
# Formats without a check digit: recognised, check_digit_ok is None.
WITHOUT_CHECK = {
    "dpd": ["01015026003653"],
    "gls": ["12345678901"],
    "hermes": ["1234567890123456"],  # built: 16 digits, no published check digit
    "postnl": ["3SDEVC201611210", "3SABCD1234567"],
    "dhl_paket": ["JJD1410302937991", "JJD0099999999", "JVGL0999999990"],
}
# One character changed (or a published "invalid" example); the shipping model names the carrier
# because a plain run of digits that fails one carrier's check may pass another's.
CHECK_FAILS = [
    ("1Z999AA10123456785", "UPS Standard", "UPS"),
    ("1Z999AA1012345678A", "UPS", "UPS"),
    ("3318810010", "DHL Express", "DHL Express"),
    ("996578788855", "FedEx International", "FedEx"),
    ("9400111899223197428490", "USPS Priority Mail", "USPS"),
    ("RA123456784DE", "Deutsche Post Brief", "Deutsche Post"),
    ("EE123456784GB", "Royal Mail Tracked 48", "Royal Mail"),
    ("RA123456784CH", "", "International post (UPU S10)"),
    ("00340433836442636598", "DHL Paket", "DHL Paket"),
    ("201298452278", "DHL Paket", "DHL Paket"),
    ("01015026003653D", "DPD Classic", "DPD"),
    ("008182709980000020033350276A", "DPD", "DPD"),
    ("09133131530725", "Hermes", "Hermes"),
    ("123456789012", "GLS", "GLS"),
]


def codes(warnings):
    return [w.code for w in warnings]


@pytest.mark.parametrize(("carrier", "number"), [(c, n) for c, ns in VALID.items() for n in ns])
def test_published_example_is_recognised_with_its_check_digit(carrier, number):
    recognition = recognise(number)
    assert recognition is not None
    assert (recognition.carrier, recognition.check_digit_ok) == (carrier, True)
    assert recognition.carrier_name == CARRIERS[carrier].name
    assert warnings_for(number) == []


@pytest.mark.parametrize(("carrier", "number"), [(c, n) for c, ns in WITHOUT_CHECK.items() for n in ns])
def test_format_without_check_digit_is_recognised_with_check_unknown(carrier, number):
    recognition = recognise(number)
    assert (recognition.carrier, recognition.check_digit_ok) == (carrier, None)
    assert warnings_for(number, shipping_model=CARRIERS[carrier].name) == []


@pytest.mark.parametrize(("number", "shipping_model", "carrier_name"), CHECK_FAILS)
def test_one_changed_character_is_flagged_as_check_digit_failure(number, shipping_model, carrier_name):
    recognition = recognise(number, shipping_model=shipping_model)
    assert recognition.check_digit_ok is False
    [warning] = [w for w in warnings_for(number, shipping_model=shipping_model) if w.code == "check_digit"]
    assert carrier_name in warning.message and number in warning.message


def test_published_invalid_examples_are_not_recognised_as_valid():
    # Wrong prefix, or a service type / country code no carrier issues.
    for number in ["2Z5R89390357567127", "1A5R89390357567127", "1Z1111111111111111", "RA123456785XX"]:
        assert all(r.carrier != "ups" or r.check_digit_ok is not True for r in candidates(number))
        assert recognise(number) is None or recognise(number).carrier != "ups"


def test_s10_number_goes_to_the_post_of_its_country():
    assert recognise("RA123456785DE").carrier == "deutsche_post"
    assert recognise("EE123456785GB").carrier == "royal_mail"
    assert recognise("RA123456785NL").carrier == "postnl"
    assert recognise("EE123456785US").carrier == "usps"
    other = recognise("RA123456785CH")
    assert (other.carrier, other.check_digit_ok, other.tracking_url) == ("upu_s10", True, "")


def test_ambiguous_digits_are_resolved_by_the_shipping_model():
    # 201298452277 passes DHL Paket's, GLS's and FedEx's check digits alike.
    assert {r.carrier for r in candidates("201298452277")} >= {"dhl_paket", "gls", "fedex"}
    assert recognise("201298452277").carrier == "dhl_paket"
    assert recognise("201298452277", shipping_model="GLS Business Parcel").carrier == "gls"
    assert recognise("201298452277", shipping_model="FedEx Economy").carrier == "fedex"
    assert recognise("01015026003653", shipping_model="Hermes").carrier == "hermes"
    for model in ("DHL Paket", "GLS", "FedEx"):
        assert warnings_for("201298452277", shipping_model=model) == []


def test_tracking_url_is_the_carriers_public_page_for_the_number():
    assert (
        recognise("1Z999AA10123456784").tracking_url
        == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )
    assert tracking_url("0034 0433 8364 4263 6597") == (
        "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340433836442636597"
    )
    assert tracking_url("RR123456785DE").startswith("https://www.deutschepost.de/")
    assert tracking_url("RR123456785DE").endswith("piececode=RR123456785DE")
    # The DPD label barcode is tracked by the 14-digit parcel number inside it.
    assert (
        tracking_url("%008182709980000020033350276C")
        == "https://tracking.dpd.de/status/de_DE/parcel/09980000020033"
    )
    assert tracking_url("201298452277", shipping_model="GLS") == (
        "https://gls-group.com/DE/de/paketverfolgung?match=201298452277"
    )
    assert tracking_url("not a number") == ""
    assert all(c.url == "" or c.url.startswith("https://") for c in CARRIERS.values())


def test_number_that_is_the_order_number_is_flagged():
    for number in ["12345", "0000012345", "#12345", "FR-12345", "order12345"]:
        assert "order_number" in codes(warnings_for(number, order_id=12345)), number
    assert "order_number" in codes(warnings_for("12345", order_id="12345"))
    for number in ["123456", "1234", "1Z999AA10123456784", "99912345"]:
        assert "order_number" not in codes(warnings_for(number, order_id=12345)), number
    assert "order_number" not in codes(warnings_for("0", order_id=0))
    assert "order_number" not in codes(warnings_for("12345", order_id=None))


def test_product_barcode_is_flagged_as_gtin():
    for ean in ["4006381333931", "73513537", "036000291452", "4006 3813 3393 1"]:
        assert "gtin" in codes(warnings_for(ean)), ean
    # A GTIN-14 has the check digit of a 14-digit Hermes number: only the order's own GTINs tell.
    assert "gtin" not in codes(warnings_for("04006381333931"))
    [warning] = warnings_for("04006381333931", gtins=["4006381333931", ""])
    assert warning.code == "gtin" and "item in this order" in warning.message
    assert "gtin" not in codes(warnings_for("1Z999AA10123456784", gtins=["4006381333931"]))
    assert "gtin" not in codes(warnings_for("00340433836442636597"))


def test_number_of_another_carrier_than_the_shipping_model_is_flagged():
    [warning] = warnings_for("1Z999AA10123456784", shipping_model="DHL Paket")
    assert warning.code == "carrier_mismatch"
    assert "UPS" in warning.message and "“DHL Paket”" in warning.message
    assert codes(warnings_for("00340433836442636597", shipping_model="DHL Express")) == ["carrier_mismatch"]
    assert codes(warnings_for("RA123456785DE", shipping_model="hermes päckchen")) == ["carrier_mismatch"]
    for number, model in [
        ("1Z999AA10123456784", "UPS Standard"),
        ("1Z999AA10123456784", "ups express saver"),
        ("RR123456785DE", "Deutsche Post Brief"),
        ("RR123456785DE", "DHL Paket International"),  # Deutsche Post S10 numbers ride DHL parcels
        ("JJD1410302937991", "DHL Express Worldwide"),
        ("01015026003653C", "DPD Classic"),
        ("1Z999AA10123456784", "Standardversand"),  # unknown model: no opinion
        ("1Z999AA10123456784", ""),
    ]:
        assert warnings_for(number, shipping_model=model) == [], (number, model)


def test_shipping_model_names_map_to_carriers_case_insensitively():
    assert carriers_for_shipping_model("DHL Paket") == ("dhl_paket", "deutsche_post")
    assert carriers_for_shipping_model("  dhl   EXPRESS worldwide ") == ("dhl_express",)
    assert "dhl_express" in carriers_for_shipping_model("Versand mit DHL")
    assert carriers_for_shipping_model("UPS Standard") == ("ups",)
    assert carriers_for_shipping_model("DPD Classic") == ("dpd",)
    assert carriers_for_shipping_model("Deutsche Post Brief")[0] == "deutsche_post"
    assert carriers_for_shipping_model("Hermes") == ("hermes",)
    for unknown in ["", "Standard", "Österreichische Post", "Upsala Kurier", None]:
        assert carriers_for_shipping_model(unknown) == (), unknown


def test_comma_separated_tracking_text_is_checked_number_by_number():
    checks = check_tracking_numbers(
        "1Z999AA10123456784, RA123456784DE,12345", order_id=12345, shipping_model="UPS"
    )
    assert [c.number for c in checks] == ["1Z999AA10123456784", "RA123456784DE", "12345"]
    assert checks[0].recognition.carrier == "ups" and checks[0].warnings == []
    assert codes(checks[1].warnings) == ["check_digit"]
    assert codes(checks[2].warnings) == ["order_number"]
    # FlickRocket's own example: neither is a known format, so nothing to say.
    checks = check_tracking_numbers("122ur4538ef29, 122fr4539gh27")
    assert [(c.number, c.recognition, c.warnings) for c in checks] == [
        ("122ur4538ef29", None, []),
        ("122fr4539gh27", None, []),
    ]
    single = check_number(" 1Z999AA10123456784 ", shipping_model="DHL Paket")
    assert single.number == "1Z999AA10123456784" and single.recognition.carrier == "ups"
    assert codes(single.warnings) == ["carrier_mismatch"]
    assert split_tracking_numbers(" a ,, b ,") == ["a", "b"]
    assert split_tracking_numbers("") == [] and split_tracking_numbers(None) == []
    assert len(split_tracking_numbers("," * 10_000 + "x," * 10_000)) == 0  # only the first 32 parts
    assert len(split_tracking_numbers("x," * 10_000)) == 32


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        None,
        12345,
        "\x00\x01\x1b[31m",
        "\u200b1Z999AA10123456784",
        "🙂" * 50,
        "x" * 100_000,
        "٠١٢٣٤٥٦٧٨٩٠١٢",
        "１２３４５６７８９０１２",
        "ß" * 20,
        "RA12345678５DE",
        "%",
        "1Z",
        ",,,",
        "\ud800",
        "0" * 14,
        "9" * 64,
    ],
)
def test_garbage_never_raises(garbage):
    recognise(garbage)
    candidates(garbage)
    tracking_url(garbage, shipping_model=garbage if isinstance(garbage, str) else "")
    for warning in warnings_for(
        garbage,
        order_id=garbage if isinstance(garbage, str) else None,
        gtins=[garbage, None],
        shipping_model="DHL Paket",
    ):
        assert warning.message
    check_tracking_numbers(garbage if isinstance(garbage, str) else "", order_id=1)
    gtin_is_valid(garbage)
    normalise_gtin(garbage)


def test_non_ascii_digits_are_not_tracking_numbers_or_gtins():
    assert recognise("٢٠١٢٩٨٤٥٢٢٧٧") is None  # 201298452277 in Arabic-Indic digits
    assert not gtin_is_valid("４００６３８１３３３９３１")  # fullwidth EAN-13
    assert normalise_gtin("٤٠٠٦٣٨١٣٣٣٩٣١") == ""


def test_warning_messages_are_lazy_translations_filled_when_read():
    [warning] = warnings_for("1Z999AA10123456784", shipping_model="DHL Paket")
    assert isinstance(warning.template, Promise)
    assert "%(carrier)s" in str(warning.template)
    with translation.override("de"):
        assert warning.message == str(warning)
        assert "1Z999AA10123456784" in warning.message


def test_gtin_helpers_accept_ean8_upca_ean13_gtin14():
    for code in [
        "73513537",
        "036000291452",
        "4006381333931",
        "98412345678908",
        "4006 3813 3393 1",
        "400-6381-33393-1",
    ]:
        assert gtin_is_valid(code), code
    for code in ["4006381333932", "7351353", "1234567890123456", "", None, "abcdefghijklm", "0"]:
        assert not gtin_is_valid(code), code
    assert normalise_gtin("036000291452") == "00036000291452"
    assert normalise_gtin(" 73513537 ") == "00000073513537"
    assert normalise_gtin("4006381333932") == "04006381333932"  # a misread still compares
    assert same_gtin("036000291452", "0036000291452")
    assert same_gtin("4006381333931", "04006381333931")
    assert not same_gtin("4006381333931", "4006381333948")
    assert not same_gtin("", "") and not same_gtin("junk", "junk")


def test_fast_enough_for_every_row_of_a_csv_preview():
    numbers = [
        "1Z999AA10123456784",
        "00340433836442636597",
        "201298452277",
        "RA123456785DE",
        "4006381333931",
        "122ur4538ef29",
        "3318810025",
        "008182709980000020033350276C",
    ]
    started = time.perf_counter()
    for i in range(1000):
        warnings_for(
            numbers[i % len(numbers)], order_id=12345, gtins=["4006381333931"], shipping_model="DHL Paket"
        )
    # About 30 ms on a laptop; the bound only catches a regression by orders of magnitude.
    assert time.perf_counter() - started < 2
