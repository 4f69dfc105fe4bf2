from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


def _check_text(value):
    """Refuse strings PostgreSQL cannot store: lone surrogates (JSON allows "\\ud800") and NUL."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise exceptions.ParseError(_("The request contains text that is not valid Unicode."))
        if "\x00" in value:
            raise exceptions.ParseError(_("The request contains a null character."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_text(data)
        return data
