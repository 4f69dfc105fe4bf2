"""Account and device identifiers, one check per type (docs/providers.md §6).

Pure rules, no ORM. A Blink serial is ``serials.parse_serial``, unchanged; a MAC address in any
common notation becomes 12 hex digits; an account email is checked by Django's validator; a phone
number is read in international format by the phonenumbers library; free text only has to be
printable. Every result says what was expected when the input does not fit.
"""

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from preservation.rules import catalogue, serials

MAX_INPUT_LENGTH = 254
_MAC_SEPARATORS = re.compile(r"[\s:\-.]")
_HEX12 = re.compile(r"[0-9A-F]{12}")


@dataclass(frozen=True)
class IdentifierResult:
    kind: str
    input: str
    valid: bool
    normalized: str
    display: str
    error: str | None = None
    error_code: str | None = None
    warnings: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "input": self.input, "valid": self.valid, "normalized": self.normalized,
            "display": self.display, "warnings": list(self.warnings), "error": self.error,
            "error_code": self.error_code,
        }


def check_identifier(kind: str, raw: str) -> IdentifierResult:
    """Normalise and check `raw` as an identifier of `kind` (catalogue.IDENTIFIER_TYPES)."""
    try:
        check = _CHECKS[kind]
    except KeyError:
        raise ValueError(f"unknown identifier type {kind!r}") from None
    if kind == catalogue.BLINK_SERIAL:
        return check(raw)  # serials.parse_serial reads the raw input its own way
    text = (raw or "").strip()
    if not text:
        return _invalid(kind, raw, _("Enter a value."), "empty")
    if len(text) > MAX_INPUT_LENGTH:
        return _invalid(kind, raw[:64], _("That is too long for an identifier."), "too_long")
    return check(text)


def _invalid(kind, raw, message, code):
    return IdentifierResult(kind, raw, False, "", "", str(message), code)


def _blink_serial(text):
    result = serials.parse_serial(text)
    warnings = tuple({"code": w.code, "message": str(w.message)} for w in result.warnings)
    return IdentifierResult(catalogue.BLINK_SERIAL, result.input, result.valid, result.normalized or "",
                            result.display or "", None if result.error is None else str(result.error),
                            result.error_code, warnings)


def _mac(text):
    digits = _MAC_SEPARATORS.sub("", text).upper()
    if not _HEX12.fullmatch(digits):
        return _invalid(catalogue.MAC, text, _(
            "A MAC address has 12 hexadecimal digits (0-9, A-F), for example 00:1A:2B:3C:4D:5E or "
            "001A2B3C4D5E."), "invalid_mac")
    display = ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return IdentifierResult(catalogue.MAC, text, True, digits, display)


def _email(text):
    try:
        validate_email(text)
    except ValidationError:
        return _invalid(catalogue.EMAIL, text, _("Enter the account's email address, for example "
                                                 "name@example.com."), "invalid_email")
    local, _at, domain = text.rpartition("@")
    normalized = "%s@%s" % (local, domain.lower())
    return IdentifierResult(catalogue.EMAIL, text, True, normalized, normalized)


def _phone(text):
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return _invalid(catalogue.PHONE, text, _("Enter the phone number in international format, "
                                                 "starting with + and the country code, for example "
                                                 "+49 30 1234567."), "invalid_phone")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return IdentifierResult(catalogue.PHONE, text, True, e164, display)


def _text(text):
    if any(unicodedata.category(character) in ("Cc", "Cf") for character in text):
        return _invalid(catalogue.TEXT, text, _("The identifier may only contain printable "
                                                "characters."), "invalid_text")
    return IdentifierResult(catalogue.TEXT, text, True, text, text)


_CHECKS = {
    catalogue.BLINK_SERIAL: _blink_serial,
    catalogue.MAC: _mac,
    catalogue.EMAIL: _email,
    catalogue.PHONE: _phone,
    catalogue.TEXT: _text,
}
