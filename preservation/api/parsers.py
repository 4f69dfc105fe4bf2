from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


# No request of ours nests deeper than a few levels; deeper is refused, not recursed into.
MAX_DEPTH = 32


def _too_deep():
    return exceptions.ParseError(_("The JSON is nested too deeply (at most %(n)d levels).") % {"n": MAX_DEPTH})


def _check_text(value, depth=0):
    """Refuse strings PostgreSQL cannot store: lone surrogates (JSON allows "\\ud800") and NUL;
    and nesting deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise _too_deep()
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise exceptions.ParseError(_("The request contains text that is not valid Unicode."))
        if "\x00" in value:
            raise exceptions.ParseError(_("The request contains a null character."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, depth + 1)
            _check_text(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, depth + 1)


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # thousands of nested brackets: a 400, never a 500
            raise _too_deep() from None
        _check_text(data)
        return data
