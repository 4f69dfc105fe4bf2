"""What a request needs before it can be sent to Blink.

Drafts may be saved incomplete so that nothing typed is lost; these checks run when the
request is sent (from the web, the API or a service call) and name every problem by field.
"""
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from preservation.rules import catalogue, deadlines, identifiers, serials

LONG_WINDOW = timedelta(days=365)


def _required(preservation_request, errors, field, message):
    if not getattr(preservation_request, field):
        errors.setdefault(field, []).append(ValidationError(message, code="required"))


def _check_contact(preservation_request, errors):
    _required(preservation_request, errors, "requester_name", _("Enter the requester's name."))
    _required(preservation_request, errors, "requester_email", _("Enter the requester's email address."))
    if preservation_request.requester_email:
        try:
            validate_email(preservation_request.requester_email)
        except ValidationError as exc:
            errors.setdefault("requester_email", []).append(exc)


WINDOW_IN_FUTURE = _("The window cannot end in the future: preservation covers data that already exists.")


def _check_window(preservation_request, errors, now):
    start, end = preservation_request.window_start, preservation_request.window_end
    _required(preservation_request, errors, "window_start", _("Enter when the time window starts."))
    _required(preservation_request, errors, "window_end", _("Enter when the time window ends."))
    if start and end and end <= start:
        errors.setdefault("window_end", []).append(
            ValidationError(_("The window must end after it starts."), code="end_before_start")
        )
    if end and end > now:
        errors.setdefault("window_end", []).append(
            ValidationError(WINDOW_IN_FUTURE, code="end_in_future")
        )


def _check_data_types(preservation_request, errors):
    known = {code for code, _label, _help in deadlines.DATA_TYPES}
    chosen = set(preservation_request.data_types or [])
    if not chosen:
        errors.setdefault("data_types", []).append(
            ValidationError(_("Choose at least one type of data to preserve."), code="required")
        )
    elif chosen - known:
        errors.setdefault("data_types", []).append(
            ValidationError(
                _("Unknown data type: %(codes)s."),
                code="invalid_choice",
                params={"codes": ", ".join(sorted(chosen - known))},
            )
        )


def serial_errors(raw_values):
    """Errors for a list of typed serials: each invalid one, and any duplicates by name."""
    errors = []
    results = [serials.parse_serial(raw) for raw in raw_values]
    # ``index`` (from 0) and ``value`` say which serial of the list a problem is about; the
    # messages do not use them (the API reports them, docs/api.md §6).
    for index, result in enumerate(results):
        if not result.valid:
            errors.append(
                ValidationError(
                    _("“%(serial)s”: %(problem)s"),
                    code=result.error_code,
                    params={"serial": result.input, "problem": result.error, "index": index, "value": result.input},
                )
            )
    seen, repeats = set(), {}
    for index, result in enumerate(results):
        if result.valid and result.normalized in seen:
            repeats.setdefault(result.normalized, index)
        seen.add(result.normalized)
    for normalized, inputs in serials.find_duplicates(r for r in results if r.valid).items():
        first_repeat = repeats[normalized]
        errors.append(
            ValidationError(
                _("The serial %(serial)s is listed more than once (typed as %(inputs)s)."),
                code="duplicate_serial",
                params={
                    "serial": serials.parse_serial(normalized).display,
                    "inputs": ", ".join("“%s”" % raw for raw in inputs),
                    "index": first_repeat, "value": results[first_repeat].input,
                },
            )
        )
    return errors


def identifier_errors(rows):
    """Errors for (kind, raw) identifiers other than Blink serials (docs/providers.md)."""
    errors = []
    for kind, raw in rows:
        result = identifiers.check_identifier(kind, raw)
        if not result.valid:
            errors.append(ValidationError(_("“%(serial)s”: %(problem)s"), code=result.error_code,
                                          params={"serial": raw, "problem": result.error}))
    return errors


def _check_identifiers(preservation_request, errors, raw_serials, other_identifiers):
    if not raw_serials and not other_identifiers and not preservation_request.account_email:
        errors.setdefault("__all__", []).append(
            ValidationError(
                _("Give at least one account identifier: a device serial number or the account email."),
                code="no_identifier",
            )
        )
    found = serial_errors(raw_serials) + identifier_errors(other_identifiers)
    if found:
        errors.setdefault("serials", []).extend(found)


def _check_provider(preservation_request, errors, kinds):
    policy = catalogue.PROVIDERS_BY_CODE.get(preservation_request.provider)
    if preservation_request.provider == catalogue.OTHER.code and not preservation_request.provider_other_name.strip():
        errors.setdefault("provider_other_name", []).append(
            ValidationError(_("Enter the provider's name."), code="required"))
    if policy is None:
        return  # a provider platform staff added: it accepts what they entered
    refused = sorted(set(kinds) - set(policy.identifier_types))
    if refused:
        errors.setdefault("serials", []).append(ValidationError(
            _("%(provider)s does not take this kind of identifier: %(kinds)s."), code="identifier_not_accepted",
            params={"provider": policy.name,
                    "kinds": ", ".join(str(catalogue.IDENTIFIER_LABELS[kind]) for kind in refused)}))


def sending_errors(preservation_request, *, now, raw_serials=None, other_identifiers=None):
    """Every reason the request cannot be sent yet, keyed by field (empty when ready).
    ``raw_serials`` are Blink serials; ``other_identifiers`` (kind, raw) pairs of other types."""
    if raw_serials is None:
        rows = list(preservation_request.serials.all())
        raw_serials = [s.raw for s in rows if s.kind == catalogue.BLINK_SERIAL]
        other_identifiers = [(s.kind, s.raw) for s in rows if s.kind != catalogue.BLINK_SERIAL]
    other_identifiers = other_identifiers or []
    errors = {}
    try:
        # Every caller checks a stored row, as loaded: its unique and check constraints are the
        # database's to hold. full_clean's checks of them cost a query each on every read of a
        # draft's page (and of its API detail), to learn what the database already guarantees;
        # so would the assignee's (a foreign key the database holds to an existing user). The
        # catalogue rows are no fields of the request (no column: a join on its codes).
        preservation_request.full_clean(exclude=["created_by", "agency", "assigned_to", "provider_row", "basis_row"],
                                        validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
    _check_contact(preservation_request, errors)
    _check_window(preservation_request, errors, now)
    _check_data_types(preservation_request, errors)
    _check_identifiers(preservation_request, errors, raw_serials, other_identifiers)
    kinds = ([catalogue.BLINK_SERIAL] if raw_serials else []) + [kind for kind, _raw in other_identifiers]
    _check_provider(preservation_request, errors, kinds)
    return errors


def sending_warnings(preservation_request):
    """Things worth a second look that do not stop sending."""
    warnings = []
    if preservation_request.window_start and preservation_request.window_end:
        if preservation_request.window_end - preservation_request.window_start > LONG_WINDOW:
            warnings.append(
                _("The time window is longer than a year; Blink may ask you to narrow it.")
            )
    return warnings
