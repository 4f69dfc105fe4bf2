"""One error format for every API response that is not a success.

    {"code": "invalid", "detail": "…", "fields": {"window_end": [{"code": "end_in_future", "message": "…"}]}}

``fields`` is keyed by field (``non_field_errors`` for the request as a whole, dotted paths such
as ``serials.0.raw`` inside lists); it is empty for errors that are not about the input. The
services' Django ValidationErrors arrive here unchanged, so their codes reach the client.

Errors raised outside DRF's views (a body over the size limit read by middleware, an unknown
path under /api/, a server error) get the same format from ``error_response`` and the
``handler*`` views (config/urls.py). The hooks below document each operation's errors in the
schema (docs/api.md §3).
"""
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework import views as drf_views
from rest_framework.response import Response
from rest_framework.settings import api_settings

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
_INVALID_DETAIL = _("The request has errors; see “fields”.")


def field_problem(error):
    """One Django ValidationError as ``{"code", "message"}``, plus the serial's ``index`` (from 0)
    and ``value`` as typed when the error is about one serial of a list (rules/validation)."""
    problem = {"code": error.code or "invalid", "message": str(next(iter(error)))}
    params = error.params or {}
    if "index" in params:
        problem["index"] = params["index"]
        problem["value"] = params["value"]
    return problem


def django_fields(errors_by_field):
    """A ``{field: [ValidationError, …]}`` mapping in the error format's ``fields`` shape."""
    return {
        (NON_FIELD if field == NON_FIELD_ERRORS else field): [field_problem(error) for error in errors]
        for field, errors in errors_by_field.items()
    }


def _django_fields(exc):
    pairs = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.error_list}
    return django_fields(pairs)


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


_TOO_LARGE = _("The request body is too large.")
_BAD_REQUEST = _("The request could not be read.")
_NOT_FOUND = _("Not found.")
_SERVER_ERROR = _("Something went wrong on our side; the error was logged. Try again later.")


def _body(code, detail, fields=None):
    return {"code": code, "detail": str(detail), "fields": fields or {}}


def error_response(status, code, detail, fields=None):
    """An error in the API's format from plain Django code (middleware, error handlers), where
    DRF's exception handler does not run."""
    return JsonResponse(_body(code, detail, fields), status=status)


def too_large_response():
    """413 for a body over the size limit (docs/api.md §3)."""
    return error_response(413, "too_large", _TOO_LARGE)


def is_api_path(request):
    return request.path_info.startswith("/api/")


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        drf_views.set_rollback()
        return Response(_body("invalid", _INVALID_DETAIL, _django_fields(exc)), status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response(_body("too_large", _TOO_LARGE), status=413)
    if isinstance(exc, SuspiciousOperation):
        # Django answers these with a bare 400 page; same status, in the API's format.
        return Response(_body("bad_request", _BAD_REQUEST), status=400)
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
    "400": _("The input is invalid, or the action is not possible in the request's state; "
             "“fields” says which field and why."),
    "401": _("No token, or an invalid, expired or revoked token."),
    "403": _("Your role (or an account without an agency) does not allow this."),
    "404": _("No such object in your agency (or no such page of results)."),
    "413": _("The request body is too large."),
    "415": _("The body is not JSON: send Content-Type: application/json."),
    "422": _("The Idempotency-Key was already used with a different body."),
    "429": _("Too many calls; retry after the seconds in Retry-After."),
}
ERROR_EXAMPLES = {
    "400": {"code": "invalid", "detail": "The request has errors; see “fields”.",
            "fields": {"window_end": [{"code": "end_before_start", "message": "The window must end after it starts."}]}},
    "401": {"code": "invalid_token", "detail": "The API token is invalid, expired or revoked.", "fields": {}},
    "403": {"code": "permission_denied", "detail": "Your role does not allow changing this request.", "fields": {}},
    "404": {"code": "not_found", "detail": "Not found.", "fields": {}},
    "413": {"code": "too_large", "detail": "The request body is too large.", "fields": {}},
    "415": {"code": "unsupported_media_type", "detail": "Unsupported media type \"text/plain\" in request.",
            "fields": {}},
    "422": {"code": "idempotency_key_reused", "detail": "This Idempotency-Key was used with a different body.",
            "fields": {}},
    "429": {"code": "throttled", "detail": "Request was throttled. Expected available in 12 seconds.", "fields": {}},
}
# Paths whose views check the caller's agency and role (views.HasAgency, views.CanChangeRequest).
_ROLE_CHECKED_PREFIXES = ("/api/v1/requests/", "/api/v1/documents/")
_IDEMPOTENT_CREATES = {("/api/v1/requests/", "post")}


def _statuses(path, method, operation):
    """The error statuses one operation can answer with (docs/api.md §3)."""
    statuses = set()
    if operation.get("security") != [{}]:
        statuses |= {"401", "429"}
    if path.startswith(_ROLE_CHECKED_PREFIXES):
        statuses.add("403")
    has_body = "requestBody" in operation
    # Every change can be refused by the services' rules (state, four eyes), with the reasons.
    if method != "get" or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses.add("400")
    if has_body:
        statuses |= {"413", "415"}
    if "{" in path or _paged(operation):  # an object by its id, or a page past the end
        statuses.add("404")
    if (path, method) in _IDEMPOTENT_CREATES:
        statuses.add("422")
    return statuses


def _paged(operation):
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1].startswith("Paginated")


def document_error_responses(result, generator, request, public):
    """drf-spectacular hook: each operation lists the error statuses it can answer with, all in
    the one error format, and no catch-all (so a client's "unexpected status" check works)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    error_ref = {"$ref": "#/components/schemas/Error"}
    schemas.setdefault("Error", _error_schema())
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            for status in sorted(_statuses(path, method, operation)):
                responses.setdefault(status, {
                    "description": str(ERROR_STATUSES[status]),
                    "content": {"application/json": {
                        "schema": error_ref,
                        "examples": {status: {"value": ERROR_EXAMPLES[status]}},
                    }},
                })
    return result


def _error_schema():
    field_error = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": str(_("Stable, for programs."))},
            "message": {"type": "string", "description": str(_("For people, in the token user's language."))},
            "index": {"type": "integer", "minimum": 0,
                      "description": str(_("Only for a problem with one serial: its position in “serials”, from 0."))},
            "value": {"type": "string", "description": str(_("Only for a problem with one serial: the serial as typed."))},
        },
        "required": ["code", "message"],
    }
    return {
        "type": "object",
        "description": str(_("Every error the API returns, whatever the status.")),
        "properties": {
            "code": {"type": "string", "description": str(_("Stable, for programs, such as “invalid” or “not_found”."))},
            "detail": {"type": "string", "description": str(_("For people."))},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": field_error},
                       "description": str(_("Errors per field (“non_field_errors” for the whole input); "
                                            "empty when the error is not about the input."))},
        },
        "required": ["code", "detail", "fields"],
        "examples": [ERROR_EXAMPLES["400"]],
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


def require_response_fields(result, generator, request, public):
    """drf-spectacular hook: a response carries every field of its serializer, null where the
    schema allows it, so every property of a response component is required (request bodies
    have their own components, COMPONENT_SPLIT_REQUEST)."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in _response_components(result):
        schema = schemas[name]
        if schema.get("type") == "object" and schema.get("properties"):
            schema["required"] = sorted(schema["properties"])
    return result


def _refs(node, found):
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _response_components(result):
    schemas = result.get("components", {}).get("schemas", {})
    todo = set()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            _refs(operation.get("responses", {}), todo)
    todo.discard("Error")
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo |= _refs(schemas[name], set()) - seen
    return seen


def drop_unused_components(result, generator, request, public):
    """drf-spectacular hook: drop component schemas no operation reaches (it leaves request
    variants of read-only nested serializers behind)."""
    schemas = result.get("components", {}).get("schemas", {})
    used, todo = set(), _refs(result.get("paths", {}), set())
    while todo:
        name = todo.pop()
        if name not in used and name in schemas:
            used.add(name)
            todo |= _refs(schemas[name], set()) - used
    for name in set(schemas) - used - {"Error"}:
        del schemas[name]
    return result


def add_servers(result, generator, request, public):
    """drf-spectacular hook: the installation's own address (SITE_URL) as the one server."""
    result["servers"] = [{"url": settings.SITE_URL.rstrip("/"), "description": str(_("This installation"))}]
    return result


# --- Django's own error views, for paths under /api/ (config/urls.py) --------------------------


def handler400(request, exception=None):
    if not is_api_path(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return too_large_response()
    return error_response(400, "bad_request", _BAD_REQUEST)


def handler404(request, exception=None):
    if not is_api_path(request):
        return defaults.page_not_found(request, exception)
    return error_response(404, "not_found", _NOT_FOUND)


def handler500(request):
    if not is_api_path(request):
        return defaults.server_error(request)
    return error_response(500, "server_error", _SERVER_ERROR)
