"""Blink Device Serial Numbers (DSN): normalise, validate, hint the device model.

Pure rules, no ORM (see docs/blink.md §1 and §2). Serials arrive typed, pasted from labels, QR scans
or Home Assistant; anything that is clearly not a DSN is rejected with a message that says what
was expected and what was found, while facts of low confidence (prefixes, model hints,
ambiguous letters) only ever produce warnings or hints.
"""
from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import Promise

AMAZON = "amazon"
LEGACY = "legacy"

DEVICE_MODELS: tuple[tuple[str, Promise], ...] = (
    ("sync_module_1", _("Sync Module (gen 1)")),
    ("sync_module_2", _("Sync Module 2")),
    ("sync_module_core", _("Sync Module Core")),
    ("sync_module_xr", _("Sync Module XR")),
    ("indoor_gen1", _("Indoor (gen 1)")),
    ("xt", _("XT")),
    ("xt2", _("XT2")),
    ("outdoor_3", _("Outdoor (3rd gen) / Indoor (gen 2/3)")),
    ("outdoor_4", _("Outdoor 4")),
    ("mini", _("Mini")),
    ("mini_2", _("Mini 2")),
    ("doorbell", _("Video Doorbell")),
    ("floodlight", _("Wired Floodlight")),
    ("camera_unknown", _("Camera (model unknown)")),
    ("unknown", _("Unknown device")),
)
_MODEL_LABELS = dict(DEVICE_MODELS)

# These cameras share 7,200 s of cloud video per Sync Module: clips roll off within days.
LEGACY_POOL_MODELS = frozenset({"indoor_gen1", "xt", "xt2"})
# Only the Sync Module 2 takes a USB drive (Local Storage / Clip Backup) to seize on site.
SYNC_MODULE_2_MODELS = frozenset({"sync_module_2"})

# Far above any real serial, low enough that a pasted document is refused before any work.
MAX_INPUT_LENGTH = 200
_ECHO_LENGTH = 64

BLINK_PREFIX = "G8T1"
UNCONFIRMED_PREFIX = "G8V1"  # seen once; kept valid but flagged
_AMAZON_SHAPE = re.compile(r"G[A-Z0-9]{15}")
_LEGACY_SHAPE = re.compile(r"[0-9]{9}")
_SERIAL_CHARACTERS = frozenset(string.ascii_uppercase + string.digits)
# Integrations synthesise "<network id>-<sync module id>" when the API has no serial.
_NETWORK_ID_SHAPE = re.compile(r"\d+\s*[-\u2010-\u2015\u2212]\s*\d+")
# Home Assistant entity ids: "camera.g8t1_sj02_3294_01vr". Underscores are gone by the time
# this runs; upper case is left alone so that normalising twice strips nothing more.
_ENTITY_DOMAIN = re.compile(r"^[a-z]+\.")
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_DROPPED = frozenset(
    "_"
    "\u00ad"  # soft hyphen: invisible, comes with text copied from web pages
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
    "\u2212"  # minus sign (a math symbol, not in category Pd)
)

# Amazon-era characters 5-6 [L]: a hint the user may override, never a rule.
_AMAZON_MODEL_HINTS = {
    "94": "mini",
    "90": "mini",
    "SJ": "doorbell",
    "SK": "doorbell",
    "LP": "sync_module_2",
    "V7": "sync_module_2",
    "K0": "camera_unknown",
    "GJ": "camera_unknown",
}
_LEGACY_MODEL_HINTS = {"1": "indoor_gen1", "2": "sync_module_1", "6": "xt", "8": "xt2"}


def model_label(code: str) -> str:
    """The translated label of a device model code; an unknown code is shown as it is."""
    return str(_MODEL_LABELS.get(code, code))


def is_legacy_pool_model(code: str | None) -> bool:
    return code in LEGACY_POOL_MODELS


@dataclass(frozen=True)
class SerialWarning:
    code: str
    message: str


@dataclass(frozen=True)
class SerialResult:
    """What was read from one typed serial.

    ``normalized`` and ``display`` are empty unless the serial is valid, so that nothing
    unusable is stored or compared as a serial.
    """

    input: str
    valid: bool
    normalized: str
    display: str
    generation: str | None
    model_hint: str | None
    warnings: tuple[SerialWarning, ...]
    error: str | None
    error_code: str | None

    @property
    def model_hint_label(self) -> str | None:
        return model_label(self.model_hint) if self.model_hint else None

    def as_dict(self) -> dict:
        return {
            "input": self.input,
            "valid": self.valid,
            "normalized": self.normalized,
            "display": self.display,
            "generation": self.generation,
            "model_hint": self.model_hint,
            "model_hint_label": self.model_hint_label,
            "warnings": [{"code": w.code, "message": str(w.message)} for w in self.warnings],
            "error": None if self.error is None else str(self.error),
            "error_code": self.error_code,
        }


def normalize_serial(text: str) -> str:
    """Reduce any way of writing a serial to its stored form; idempotent."""
    text = unicodedata.normalize("NFKC", text)  # full-width and other compatibility forms
    text = "".join(_ascii_digit(ch) for ch in text)
    text = "".join(ch for ch in text if not _is_separator(ch))
    text = _ENTITY_DOMAIN.sub("", text)
    # Only ASCII is upper-cased: full case mapping would turn characters that are not in
    # any serial into ones that are (ß -> SS, ı -> I).
    text = text.translate(_ASCII_UPPER)
    # Dropping separators can bring a letter next to a combining mark; compose them now
    # so that a second normalisation finds nothing left to do.
    return unicodedata.normalize("NFKC", text)


def _ascii_digit(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch in _DROPPED or unicodedata.category(ch) == "Pd"


def parse_serial(text: str) -> SerialResult:
    if len(text) > MAX_INPUT_LENGTH:
        return _invalid(_shorten(text), "too_long", _too_long_message(len(text)))
    normalized = normalize_serial(text)
    if _AMAZON_SHAPE.fullmatch(normalized):
        return _valid(text, normalized, AMAZON, _amazon_model_hint(normalized),
                      _amazon_warnings(normalized) + _lowercase_l_warning(text))
    if _LEGACY_SHAPE.fullmatch(normalized):
        return _valid(text, normalized, LEGACY, _LEGACY_MODEL_HINTS.get(normalized[0]), ())
    error_code, message = _diagnose(text, normalized)
    return _invalid(text, error_code, message)


def _valid(
    text: str,
    normalized: str,
    generation: str,
    model_hint: str | None,
    warnings: tuple[SerialWarning, ...],
) -> SerialResult:
    return SerialResult(
        input=text,
        valid=True,
        normalized=normalized,
        display=_display(normalized, generation),
        generation=generation,
        model_hint=model_hint,
        warnings=warnings,
        error=None,
        error_code=None,
    )


def _invalid(text: str, error_code: str, message: str) -> SerialResult:
    return SerialResult(
        input=text,
        valid=False,
        normalized="",
        display="",
        generation=None,
        model_hint=None,
        warnings=(),
        error=message,
        error_code=error_code,
    )


def _shorten(text: str) -> str:
    return text[:_ECHO_LENGTH] + "…"


def _display(normalized: str, generation: str) -> str:
    if generation == LEGACY:
        return normalized
    return "-".join(normalized[i:i + 4] for i in range(0, 16, 4))


def _amazon_model_hint(normalized: str) -> str | None:
    return _AMAZON_MODEL_HINTS.get(normalized[4:6])


def _amazon_warnings(normalized: str) -> tuple[SerialWarning, ...]:
    warnings = []
    prefix = normalized[:4]
    if prefix == UNCONFIRMED_PREFIX:
        warnings.append(SerialWarning("unconfirmed_prefix", _(
            "Serials starting with %(prefix)s have been seen only once on a Blink device; "
            "check the label."
        ) % {"prefix": prefix}))
    elif prefix != BLINK_PREFIX:
        warnings.append(SerialWarning("unknown_prefix", _(
            "%(prefix)s is not a known Blink prefix (Blink serials start with %(blink)s). "
            "Other Amazon products, such as Echo speakers, also have serials starting with G: "
            "check that this is the Blink device."
        ) % {"prefix": prefix, "blink": BLINK_PREFIX}))
    ambiguous = [(i, ch) for i, ch in enumerate(normalized, start=1) if ch in "OI"]
    if ambiguous:
        warnings.append(SerialWarning("ambiguous_letters", _ambiguous_message(ambiguous)))
    return tuple(warnings)


def _lowercase_l_warning(text: str) -> tuple[SerialWarning, ...]:
    # "l" is read as the letter L, but on a label it is as often the digit 1: say so.
    if "l" not in unicodedata.normalize("NFKC", text):
        return ()
    return (SerialWarning("lowercase_l", _(
        "A lowercase l was read as the letter L. If the label shows the digit 1, type 1."
    )),)


def _ambiguous_message(ambiguous: list[tuple[int, str]]) -> str:
    positions = ", ".join("%d (%s)" % pair for pair in ambiguous)
    return ngettext_lazy(
        "Check the label: character %(positions)s is a letter that looks like a digit "
        "(O and 0, I and 1).",
        "Check the label: characters %(positions)s are letters that look like digits "
        "(O and 0, I and 1).",
        "count",
    ) % {"count": len(ambiguous), "positions": positions}


_EMPTY_MESSAGE = _(
    "Enter a serial number: 16 letters and digits starting with G "
    "(such as G8T1-9412-3135-0JD5), or 9 digits on older devices."
)
_NETWORK_ID_MESSAGE = _(
    "This looks like a network id and a Sync Module id joined by a hyphen, which "
    "integrations make up when they have no serial; it is not a device serial number. "
    "Expected 16 letters and digits starting with G, or 9 digits."
)


def _diagnose(text: str, normalized: str) -> tuple[str, str]:
    """The error code and message for a value that is neither serial shape."""
    if not normalized:
        return "empty", _EMPTY_MESSAGE
    if _NETWORK_ID_SHAPE.fullmatch(unicodedata.normalize("NFKC", text).strip()):
        return "not_a_dsn_network_id", _NETWORK_ID_MESSAGE
    if not _SERIAL_CHARACTERS.issuperset(normalized):
        return "bad_characters", _bad_character_message(normalized)
    if len(normalized) == 16:
        return "not_blink_prefix", _(
            "Blink's 16-character serials start with G (found %(first)s)."
        ) % {"first": normalized[0]}
    if len(normalized) == 9:
        return "legacy_not_digits", _legacy_letter_message(normalized)
    return "wrong_length", _wrong_length_message(len(normalized))


def _bad_character_message(normalized: str) -> str:
    position, ch = next((i, ch) for i, ch in enumerate(normalized, 1)
                        if ch not in _SERIAL_CHARACTERS)
    return _(
        "A serial number has only letters A-Z and digits 0-9, but character %(position)d "
        "is \"%(character)s\" (spaces and hyphens are not counted)."
    ) % {"position": position, "character": _visible(ch)}


def _wrong_length_message(count: int) -> str:
    return ngettext_lazy(
        "Expected 16 letters and digits (Amazon-era serial) or 9 digits (older serial); "
        "found %(count)d character.",
        "Expected 16 letters and digits (Amazon-era serial) or 9 digits (older serial); "
        "found %(count)d characters.",
        "count",
    ) % {"count": count}


def _legacy_letter_message(normalized: str) -> str:
    position, letter = next((i, ch) for i, ch in enumerate(normalized, 1) if not ch.isdigit())
    return _(
        "A 9-character serial (older Blink devices) has only digits, but character "
        "%(position)d is \"%(character)s\"."
    ) % {"position": position, "character": letter}


def _visible(ch: str) -> str:
    # Control and format characters would vanish or garble the message: name their code point.
    return ch if ch.isprintable() else "U+%04X" % ord(ch)


def _too_long_message(length: int) -> str:
    return _(
        "Too long for a serial number: %(count)d characters, where at most %(limit)d are "
        "accepted (a serial has 16 letters and digits, or 9 digits)."
    ) % {"count": length, "limit": MAX_INPUT_LENGTH}


def split_serials(text: str) -> list[str]:
    """Split a "paste many" box into serials, in order, one per serial.

    Lines, tabs (spreadsheet cells), commas and semicolons always separate. Spaces and hyphens
    may also sit inside a serial ("G8T1 SJ02 3294 01VR" copied from a label): the words of a
    piece are joined into the longest run that reads as one valid serial, and two valid
    serials can never join into one (9 + 9, 9 + 16 and 16 + 16 characters). Words that make
    no valid serial stay together as one row while they look like the groups of one label
    (short groups, 16 characters at most), so a typo gives one row to fix, not four.
    """
    serials = []
    for piece in re.split(r"[\n\r\t,;]+", text):
        serials.extend(_serials_in(piece.split()))
    return serials


_MAX_GROUPS = 8  # "G8T1 - SJ02 - 3294 - 01VR" is seven words


def _serials_in(words: list[str]) -> list[str]:
    found, start = [], 0
    while start < len(words):
        end = _longest_serial(words, start) or start + _label_groups(words[start:start + _MAX_GROUPS])
        found.append(" ".join(words[start:end]))
        start = end
    return found


def _longest_serial(words: list[str], start: int) -> int | None:
    """The end of the longest run of words from ``start`` that is one valid serial, if any.
    Only runs of 9 or 16 characters can be one, so few are parsed (pastes stay linear)."""
    best, length = None, 0
    for end in range(start + 1, min(len(words), start + _MAX_GROUPS) + 1):
        length += len(normalize_serial(words[end - 1]))
        if length > 16:
            break
        if length in (9, 16) and parse_serial(" ".join(words[start:end])).valid:
            best = end
    return best


def _label_groups(words: list[str]) -> int:
    """How many words, from the first, look like the groups of one label (at least one)."""
    count, length = 0, 0
    for word in words:
        length += len(normalize_serial(word))
        if len(word) > 5 or length > 16:
            break
        count += 1
    return max(count, 1)


def find_duplicates(results: Iterable[SerialResult]) -> dict[str, list[str]]:
    """Serials given more than once: normalized form -> the inputs as typed, in order."""
    inputs_by_serial: dict[str, list[str]] = {}
    for result in results:
        if result.normalized:
            inputs_by_serial.setdefault(result.normalized, []).append(result.input)
    return {serial: inputs for serial, inputs in inputs_by_serial.items() if len(inputs) > 1}
