"""One error format for every API response that is not a success.

    {"code": "invalid", "detail": "…", "fields": {"window_end": [{"code": "end_in_future", "message": "…"}]}}

``fields`` is keyed by field (``non_field_errors`` for the request as a whole, dotted paths such
as ``serials.0.raw`` inside lists); it is empty for errors that are not about the input. The
services' Django ValidationErrors arrive here unchanged, so their codes reach the client.
"""
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework import views as drf_views
from rest_framework.response import Response
from rest_framework.settings import api_settings

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
_INVALID_DETAIL = _("The request has errors; see “fields”.")


def _django_fields(exc):
    pairs = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD, exc.error_list)]
    fields = {}
    for field, errors in pairs:
        key = NON_FIELD if field == NON_FIELD_ERRORS else field
        fields.setdefault(key, []).extend(
            {"code": error.code or "invalid", "message": str(next(iter(error)))} for error in errors
        )
    return fields


def _flatten(details, path, fields):
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        key = ".".join(path) or NON_FIELD
        fields.setdefault(key, []).append({"code": details["code"], "message": str(details["message"])})
    elif isinstance(details, dict):
        for key, value in details.items():
            _flatten(value, path + [str(key)], fields)
    elif isinstance(details, list):
        leaves = all(isinstance(item, dict) and set(item) == {"message", "code"} for item in details)
        for index, item in enumerate(details):
            _flatten(item, path if leaves else path + [str(index)], fields)
    return fields


def _body(code, detail, fields=None):
    return {"code": code, "detail": str(detail), "fields": fields or {}}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        drf_views.set_rollback()
        return Response(_body("invalid", _INVALID_DETAIL, _django_fields(exc)), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_views.exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.get_full_details(), [], {})
        response.data = _body("invalid", _INVALID_DETAIL, fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = _body(code, exc.detail if isinstance(exc.detail, str) else exc.default_detail)
    return response


ERROR_STATUSES = {
    "400": _("The input is invalid, or the action is not possible in the request's state."),
    "401": _("No token, or an invalid, expired or revoked token."),
    "404": _("No such object in your agency."),
    "429": _("Too many calls with this token; retry after the seconds in Retry-After."),
    "default": _("Any other error, in the same format."),
}


def document_error_responses(result, generator, request, public):
    """drf-spectacular hook: every operation may answer with the error format."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    error_ref = {"$ref": "#/components/schemas/Error"}
    schemas.setdefault("Error", _error_schema())
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {
                    "description": str(description),
                    "content": {"application/json": {"schema": error_ref}},
                })
    return result


def _error_schema():
    field_error = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"],
    }
    return {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": field_error}},
        },
        "required": ["code", "detail", "fields"],
    }


_BLANK = {"type": "string", "maxLength": 0}


def blank_strings_any_of(result, generator, request, public):
    """drf-spectacular hook: it writes an optional patterned text as oneOf(pattern, blank), which
    rejects "" whenever the pattern also accepts it (CRIM#); anyOf says what is meant."""

    def walk(node):
        if isinstance(node, dict):
            if _BLANK in node.get("oneOf", []):
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
