"""Our reference of a request (docs/security.md "Opaque identifiers").

A new request gets ``PR-`` and eight random Crockford base32 characters in two groups
(``PR-7KQ4-M2XD``): short, readable over the phone, and counting nothing. Requests filed before
keep the reference they were sent with, ``PR-`` and the old number (``PR-000123``), so letters
already sent and replies quoting them still match. Typed or quoted references are read the
way Crockford base32 is meant to be read: any case, with or without the dashes, ``O`` as zero
and ``I``/``L`` as one.
"""
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O or U
GROUP = 4
PREFIX = "PR-"
MAX_LENGTH = 20
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CHAR = "[0-9A-TV-Z]"  # what a person may write: the alphabet and the letters read as digits
_NEW = r"(%s{4})[\s-]?(%s{4})" % (_CHAR, _CHAR)
_OLD = r"(\d{1,9})"
# In a text (provider mail): our prefix is required and an old reference has six digits or more.
_IN_TEXT = re.compile(r"(?<![\w-])PR-(?:(\d{6,9})|%s)(?![\w-])" % _NEW, re.IGNORECASE)
# Typed into a search or a form: the prefix may be left out.
_TYPED = re.compile(r"(?:PR[\s-]?)?(?:%s|%s)" % (_OLD, _NEW), re.IGNORECASE)


def new_reference():
    """A random reference; never all digits, so it cannot be read as an old one."""
    while True:
        chars = "".join(secrets.choice(ALPHABET) for _ in range(2 * GROUP))
        if not chars.isdigit():
            return "%s%s-%s" % (PREFIX, chars[:GROUP], chars[GROUP:])


def _new(first, second):
    return "%s%s-%s" % (PREFIX, first.upper().translate(_READ_AS), second.upper().translate(_READ_AS))


def old_reference(number):
    return "%s%06d" % (PREFIX, int(number))


def canonical(typed):
    """The reference a person typed, as stored, or None if it is not one."""
    found = _TYPED.fullmatch((typed or "").strip())
    if not found:
        return None
    number, first, second = found.groups()
    return old_reference(number) if number else _new(first, second)


def references_in(text):
    """Our references in a text, as stored, in order of appearance."""
    found = (old_reference(m.group(1)) if m.group(1) else _new(m.group(2), m.group(3))
             for m in _IN_TEXT.finditer(text or ""))
    return list(dict.fromkeys(found))


def partial(typed):
    """What of a reference a search may look for inside stored ones ("7KQ4", "Q4-M2"), upper
    case and read as Crockford base32, or "" when it cannot be part of one."""
    text = (typed or "").strip().upper()
    if not re.fullmatch(r"[0-9A-Z-]+", text):
        return ""
    return text.translate(_READ_AS) if not text.startswith("PR") else "PR" + text[2:].translate(_READ_AS)
