"""Tests for preservation.rules.serials: Blink Device Serial Numbers (docs/blink.md §1)."""
import json
import string

import pytest
from django.utils import translation
from hypothesis import example, given
from hypothesis import strategies as st

from preservation.rules import serials
from preservation.rules.serials import (
    AMAZON,
    DEVICE_MODELS,
    LEGACY,
    LEGACY_POOL_MODELS,
    SYNC_MODULE_2_MODELS,
    SerialResult,
    SerialWarning,
    find_duplicates,
    is_legacy_pool_model,
    model_label,
    normalize_serial,
    parse_serial,
    split_serials,
)


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted by their English text, whatever translations exist.
    with translation.override("en"):
        yield


def warning_codes(result: SerialResult) -> list[str]:
    return [warning.code for warning in result.warnings]


# --- valid serials ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "normalized", "display", "generation", "model_hint"),
    [
        ("G8T1-9412-3135-0JD5", "G8T1941231350JD5", "G8T1-9412-3135-0JD5", AMAZON, "mini"),
        ("G8T1941231350JD5", "G8T1941231350JD5", "G8T1-9412-3135-0JD5", AMAZON, "mini"),
        ("G8T1-SJ02-3294-01VR", "G8T1SJ02329401VR", "G8T1-SJ02-3294-01VR", AMAZON, "doorbell"),
        ("G8T1LPFFF4023S6S", "G8T1LPFFF4023S6S", "G8T1-LPFF-F402-3S6S", AMAZON, "sync_module_2"),
        ("camera.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR", "G8T1-SJ02-3294-01VR", AMAZON,
         "doorbell"),
        ("604900975", "604900975", "604900975", LEGACY, "xt"),
        ("638241420", "638241420", "638241420", LEGACY, "xt"),
        ("283010330", "283010330", "283010330", LEGACY, "sync_module_1"),
        ("120040563", "120040563", "120040563", LEGACY, "indoor_gen1"),
    ],
)
def test_real_samples_from_the_domain_notes_are_valid(raw, normalized, display, generation,
                                                      model_hint):
    result = parse_serial(raw)

    assert result.valid is True
    assert result.input == raw
    assert result.normalized == normalized
    assert result.display == display
    assert result.generation == generation
    assert result.model_hint == model_hint
    assert result.warnings == ()
    assert result.error is None
    assert result.error_code is None


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("g8t1-sj02-3294-01vr", "G8T1SJ02329401VR"),
        ("g8T1sJ02329401Vr", "G8T1SJ02329401VR"),
        ("G8T1 SJ02 3294 01VR", "G8T1SJ02329401VR"),
        ("  G8T1SJ02329401VR\n", "G8T1SJ02329401VR"),
        ("G-8T1S--J023 2940-1VR", "G8T1SJ02329401VR"),
        ("G8T1\tSJ02_3294_01VR", "G8T1SJ02329401VR"),
        ("G8T1\u2013SJ02\u20143294\u221201VR", "G8T1SJ02329401VR"),  # en dash, em dash, minus
        ("G8T1\u2011SJ02\u00a03294\u00ad01VR", "G8T1SJ02329401VR"),  # nb hyphen, nbsp, soft hyphen
        ("638 241 420", "638241420"),
        ("638-24-1420", "638241420"),
        ("camera.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR"),
        ("sensor.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR"),
        ("binary_sensor.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR"),
        ("switch.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR"),
        ("alarm_control_panel.g8t1_sj02_3294_01vr", "G8T1SJ02329401VR"),
        (" camera.638241420 ", "638241420"),
        ("ｇ８ｔ１－ｓｊ０２－３２９４－０１ｖｒ", "G8T1SJ02329401VR"),  # full-width
        ("Ｇ８Ｔ１ＳＪ０２３２９４０１ＶＲ", "G8T1SJ02329401VR"),
        ("٦٣٨٢٤١٤٢٠", "638241420"),  # Arabic-Indic
        ("۶۳۸۲۴۱۴۲۰", "638241420"),  # Eastern Arabic (Persian)
        ("६३८२४१४२०", "638241420"),  # Devanagari
        ("G8T1SJ٠٢٣٢٩٤٠١VR", "G8T1SJ02329401VR"),  # mixed scripts
        ("G8T1\u200bSJ02\u200c3294\u200d01VR", "G8T1SJ02329401VR"),  # zero-width (non-)joiners
        ("\ufeffG8T1SJ02\u2060329401VR", "G8T1SJ02329401VR"),  # byte-order mark, word joiner
    ],
)
def test_serials_written_in_other_ways_normalise_to_the_stored_form(raw, normalized):
    result = parse_serial(raw)

    assert normalize_serial(raw) == normalized
    assert result.valid is True
    assert result.normalized == normalized
    assert result.input == raw


def test_an_entity_id_domain_is_stripped_only_when_lower_case_as_home_assistant_writes_it():
    assert normalize_serial("camera.g8t1") == "G8T1"
    assert normalize_serial("CAMERA.G8T1") == "CAMERA.G8T1"
    assert normalize_serial("a.b.c") == "B.C"


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "error_code", "fragments"),
    [
        ("", "empty", ["Enter a serial number", "16 letters and digits", "9 digits"]),
        ("   \t\n", "empty", ["Enter a serial number"]),
        ("\u200b", "empty", ["Enter a serial number"]),
        ("- - -", "empty", ["Enter a serial number"]),
        ("camera.", "empty", ["Enter a serial number"]),
        ("G8T1#J02329401VR", "bad_characters", ['character 5 is "#"', "A-Z", "0-9"]),
        ("G8T1-SJ0#-3294-01VR", "bad_characters", ['character 8 is "#"']),
        ("G8T1.SJ02.3294.01VR", "bad_characters", ['character 5 is "."']),
        ("G8T1SJ0232940Ä1V", "bad_characters", ['character 14 is "Ä"']),
        ("63824142\x00", "bad_characters", ['character 9 is "U+0000"']),
        ("G8T1ßJ02329401V", "bad_characters", ['character 5 is "ß"']),
        ("g8t1sj02329401vı", "bad_characters", ['character 16 is "ı"']),
        ("G8T1SJ02329401V", "wrong_length", ["Expected 16 letters and digits", "9 digits",
                                             "found 15 characters"]),
        ("G8T1SJ02329401VRX", "wrong_length", ["found 17 characters"]),
        ("63824142", "wrong_length", ["found 8 characters"]),
        ("6382414200", "wrong_length", ["found 10 characters"]),
        ("G", "wrong_length", ["found 1 character."]),
        ("A8T1SJ02329401VR", "not_blink_prefix", ["start with G", "found A"]),
        ("8T1SJ02329401VRG", "not_blink_prefix", ["found 8"]),
        ("1234567890123456", "not_blink_prefix", ["found 1"]),
        ("63824142O", "legacy_not_digits", ["only digits", 'character 9 is "O"']),
        ("G38241420", "legacy_not_digits", ['character 1 is "G"']),
        ("12345-67890", "not_a_dsn_network_id", ["network id", "not a device serial number",
                                                 "16 letters and digits", "9 digits"]),
        ("1234-5678", "not_a_dsn_network_id", ["network id"]),
        (" 12345 \u2013 67890 ", "not_a_dsn_network_id", ["network id"]),
        ("１２３４５－６７８９０", "not_a_dsn_network_id", ["network id"]),
        ("12345678-90123456", "not_a_dsn_network_id", ["network id"]),
    ],
)
def test_invalid_input_says_what_was_expected_and_what_was_found(raw, error_code, fragments):
    result = parse_serial(raw)

    assert result.valid is False
    assert result.error_code == error_code
    for fragment in fragments:
        assert fragment in str(result.error)
    assert result.input == raw
    assert (result.normalized, result.display) == ("", "")
    assert (result.generation, result.model_hint, result.warnings) == (None, None, ())


def test_network_id_shape_that_is_also_nine_digits_is_read_as_a_legacy_serial():
    # The rule only applies where the value is not a DSN once normalised.
    result = parse_serial("12345-6789")

    assert result.valid is True
    assert result.normalized == "123456789"
    assert result.generation == LEGACY


def test_a_10_kb_paste_is_refused_before_any_normalisation(monkeypatch):
    def fail(text):
        raise AssertionError("normalised a 10 KB input")

    monkeypatch.setattr(serials, "normalize_serial", fail)
    raw = "G8T1" * 2500

    result = parse_serial(raw)

    assert result.valid is False
    assert result.error_code == "too_long"
    assert "10000 characters" in str(result.error)
    assert "at most 200" in str(result.error)
    assert result.input == "G8T1" * 16 + "…"
    assert result.normalized == ""


@pytest.mark.parametrize(("length", "error_code"), [(200, "wrong_length"), (201, "too_long")])
def test_the_length_limit_is_200_characters(length, error_code):
    assert parse_serial("x" * length).error_code == error_code


# --- warnings --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("G8T1SJ02329401VR", []),
        ("G8V1SJ02329401VR", ["unconfirmed_prefix"]),
        ("G000000000000000", ["unknown_prefix"]),
        ("GABC123456789012", ["unknown_prefix"]),
        ("G8T1SJ02329401VO", ["ambiguous_letters"]),
        ("G8V1OJ02329401VR", ["unconfirmed_prefix", "ambiguous_letters"]),
        ("GIOI123456789012", ["unknown_prefix", "ambiguous_letters"]),
        ("120040563", []),
    ],
)
def test_doubtful_but_possible_serials_are_valid_with_warnings(raw, codes):
    result = parse_serial(raw)

    assert result.valid is True
    assert warning_codes(result) == codes


def test_an_unknown_prefix_warning_names_the_prefix_and_mentions_other_amazon_products():
    (warning,) = parse_serial("GABC123456789012").warnings

    assert "GABC is not a known Blink prefix" in str(warning.message)
    assert "G8T1" in str(warning.message)
    assert "Echo" in str(warning.message)


def test_an_unconfirmed_prefix_warning_names_the_prefix():
    (warning,) = parse_serial("G8V1SJ02329401VR").warnings

    assert "G8V1" in str(warning.message)
    assert "check the label" in str(warning.message)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("G8T1SJ02329401VO", "character 16 (O) is a letter that looks like a digit"),
        ("G8T1-OJ02-3294-0IVR", "characters 5 (O), 14 (I) are letters that look like digits"),
    ],
)
def test_the_ambiguous_letters_warning_names_each_position_and_letter(raw, fragment):
    (warning,) = parse_serial(raw).warnings

    assert warning.code == "ambiguous_letters"
    assert fragment in str(warning.message)
    assert "O and 0, I and 1" in str(warning.message)


# --- model hints -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "model_hint", "label"),
    [
        ("G8T1940000000000", "mini", "Mini"),
        ("G8T1900000000000", "mini", "Mini"),
        ("G8T1SJ0000000000", "doorbell", "Video Doorbell"),
        ("G8T1SK0000000000", "doorbell", "Video Doorbell"),
        ("G8T1LP0000000000", "sync_module_2", "Sync Module 2"),
        ("G8T1V70000000000", "sync_module_2", "Sync Module 2"),
        ("G8T1K00000000000", "camera_unknown", "Camera (model unknown)"),
        ("G8T1GJ0000000000", "camera_unknown", "Camera (model unknown)"),
        ("G8T1000000000000", None, None),
        ("G8T1S00000000000", None, None),
        ("G894000000000000", None, None),  # the hint reads characters 5-6 only
        ("100000000", "indoor_gen1", "Indoor (gen 1)"),
        ("200000000", "sync_module_1", "Sync Module (gen 1)"),
        ("600000000", "xt", "XT"),
        ("800000000", "xt2", "XT2"),
        ("300000000", None, None),
        ("000000000", None, None),
    ],
)
def test_the_serial_hints_at_the_device_model(raw, model_hint, label):
    result = parse_serial(raw)

    assert result.valid is True
    assert result.model_hint == model_hint
    assert result.model_hint_label == label


def test_device_model_codes_are_unique_and_cover_the_hints_and_groups():
    codes = [code for code, _label in DEVICE_MODELS]
    hinted = {parse_serial(raw).model_hint for raw in ["G8T194" + "0" * 10, "G8T1SJ" + "0" * 10,
                                                        "G8T1LP" + "0" * 10, "G8T1K0" + "0" * 10,
                                                        "100000000", "200000000", "600000000",
                                                        "800000000"]}

    assert len(codes) == len(set(codes)) == 15
    assert hinted | LEGACY_POOL_MODELS | SYNC_MODULE_2_MODELS <= set(codes)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("sync_module_1", "Sync Module (gen 1)"),
        ("outdoor_3", "Outdoor (3rd gen) / Indoor (gen 2/3)"),
        ("floodlight", "Wired Floodlight"),
        ("unknown", "Unknown device"),
        ("no_such_model", "no_such_model"),
    ],
)
def test_model_label_gives_the_label_or_the_code_it_does_not_know(code, label):
    assert model_label(code) == label
    assert type(model_label(code)) is str


@pytest.mark.parametrize(
    ("code", "expected"),
    [("indoor_gen1", True), ("xt", True), ("xt2", True), ("mini", False),
     ("sync_module_1", False), ("", False), (None, False)],
)
def test_only_indoor_gen1_xt_and_xt2_share_the_legacy_pool(code, expected):
    assert is_legacy_pool_model(code) is expected


def test_only_the_sync_module_2_has_usb_storage():
    assert SYNC_MODULE_2_MODELS == frozenset({"sync_module_2"})


# --- JSON ------------------------------------------------------------------------------------

def test_as_dict_is_json_ready_with_plain_string_messages():
    data = parse_serial("g8v1-oj02-3294-01vr").as_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["normalized"] == "G8V1OJ02329401VR"
    assert data["display"] == "G8V1-OJ02-3294-01VR"
    assert data["generation"] == AMAZON
    assert data["model_hint"] is None
    assert data["model_hint_label"] is None
    assert [w["code"] for w in data["warnings"]] == ["unconfirmed_prefix", "ambiguous_letters"]
    assert all(type(w["message"]) is str for w in data["warnings"])
    assert (data["error"], data["error_code"]) == (None, None)


def test_as_dict_of_an_invalid_serial_carries_the_error():
    data = parse_serial("G8T1SJ02").as_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["valid"] is False
    assert data["error_code"] == "wrong_length"
    assert type(data["error"]) is str
    assert "found 8 characters" in data["error"]


def test_as_dict_of_a_model_hint_gives_its_label():
    data = parse_serial("G8T1-SJ02-3294-01VR").as_dict()

    assert (data["model_hint"], data["model_hint_label"]) == ("doorbell", "Video Doorbell")


def test_results_cannot_be_changed_after_parsing():
    result = parse_serial("638241420")

    with pytest.raises(AttributeError):
        result.valid = False
    with pytest.raises(AttributeError):
        SerialWarning(code="ambiguous_letters", message="").code = "other"


# --- paste many ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        (" \n\n , ; ", []),
        ("638241420\n283010330\r\n120040563", ["638241420", "283010330", "120040563"]),
        ("638241420,283010330, 120040563", ["638241420", "283010330", "120040563"]),
        ("638241420; 283010330;;120040563", ["638241420", "283010330", "120040563"]),
        ("638241420 283010330\t120040563", ["638241420", "283010330", "120040563"]),
        ("G8T1-SJ02-3294-01VR, 638241420\nG8T1LPFFF4023S6S; camera.g8t1_sj02_3294_01vr",
         ["G8T1-SJ02-3294-01VR", "638241420", "G8T1LPFFF4023S6S",
          "camera.g8t1_sj02_3294_01vr"]),
        ("G8T1 SJ02 3294 01VR", ["G8T1 SJ02 3294 01VR"]),  # one serial copied with spaces
        ("G8T1 SJ02 3294 01VR\n638 241 420", ["G8T1 SJ02 3294 01VR", "638 241 420"]),
        ("G8T1 SJ02 3294 01VR 638241420", ["G8T1 SJ02 3294 01VR", "638241420"]),  # groups rejoined
        ("zzz, 638241420, zzz", ["zzz", "638241420", "zzz"]),  # order and repeats kept
    ],
)
def test_split_serials_separates_a_pasted_list_in_order(text, expected):
    assert split_serials(text) == expected


def test_find_duplicates_groups_the_inputs_that_are_the_same_serial():
    raws = ["G8T1-SJ02-3294-01VR", "638241420", "camera.g8t1_sj02_3294_01vr",
            "g8t1sj02329401vr", "638 241 420", "283010330"]

    duplicates = find_duplicates(parse_serial(raw) for raw in raws)

    assert duplicates == {
        "G8T1SJ02329401VR": ["G8T1-SJ02-3294-01VR", "camera.g8t1_sj02_3294_01vr",
                             "g8t1sj02329401vr"],
        "638241420": ["638241420", "638 241 420"],
    }


@pytest.mark.parametrize(
    "raws",
    [[], ["638241420"], ["638241420", "283010330"], ["", ""], ["zzz", "zzz"]],
)
def test_find_duplicates_reports_nothing_without_a_valid_serial_given_twice(raws):
    assert find_duplicates(parse_serial(raw) for raw in raws) == {}


# --- properties ------------------------------------------------------------------------------

SERIAL_CHARACTERS = string.ascii_uppercase + string.digits
amazon_serials = st.text(SERIAL_CHARACTERS, min_size=15, max_size=15).map("G".__add__)
legacy_serials = st.text(string.digits, min_size=9, max_size=9)
separators = st.sampled_from(["", "", "", "-", " ", "_", "\u200b", "\u2013", "\u00a0"])


@st.composite
def typed_serials(draw):
    """A valid serial as someone might type it: any case, separators anywhere."""
    serial = draw(st.one_of(amazon_serials, legacy_serials))
    return "".join(draw(st.sampled_from([ch, ch.lower()])) + draw(separators) for ch in serial)


@given(st.text())
@example("e\u200b\u0301")  # dropping a separator joins a letter and its accent
@example("\u0390")  # full Unicode upper-casing yields a decomposed form
@example("ｃａｍｅｒａ.ｓｗｉｔｃｈ.ｘ")  # an entity domain is stripped only once
def test_normalising_twice_changes_nothing(text):
    once = normalize_serial(text)

    assert normalize_serial(once) == once


@given(typed_serials())
def test_the_display_form_of_a_valid_serial_parses_back_to_the_same_serial(raw):
    result = parse_serial(raw)
    again = parse_serial(result.display)

    assert result.valid is True
    assert again.valid is True
    assert again.normalized == result.normalized
    assert again.display == result.display


@given(st.text())
def test_parse_serial_never_raises_and_always_explains_an_invalid_result(text):
    result = parse_serial(text)

    assert result.valid is (result.error_code is None)
    assert result.valid is (result.error is None)
    assert result.valid is bool(result.normalized)
