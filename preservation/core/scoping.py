"""Tenancy guard: case data is read through an agency, or the read fails loudly.

A query of a guarded model (``PreservationRequest`` and the rows hanging off it) raises
``UnscopedQueryError`` when it is evaluated without a filter on the agency (or on one request,
which was itself read through its agency). Forgetting ``for_agency`` therefore breaks a test
instead of leaking another agency's cases. Code that must work across agencies (reminder and
lapse sweeps, management commands, the platform admin) says so where it queries:

    PreservationRequest.objects.across_agencies().filter(...)     # one queryset
    with scoping.all_agencies():                                  # a whole block
        ...

Rows that belong to one user (notifications, API tokens, calendar feed tokens) use the same
guard with the user as the scope: a read must name the user, so a view that looks one up by id
alone fails instead of reaching a colleague's or another agency's row. The audit log and
invitations are scoped by their agency. Finding a credential by the secret presented (API token
authentication, the calendar feed, an invitation link) happens before any user is known: those
lookups opt out where they query.

A filter scopes a query only when it pins the field (``=`` or ``__in`` with given values);
``agency__isnull=False``, ``agency__gt=0``, ``agency=F(...)`` or ``agency__in=<subquery>`` do not.

Writes (create, save, bulk_create) and reads through a loaded object (``request.agency``,
``refresh_from_db``) are not guarded: they cannot reach another agency's rows.
"""
import contextlib
import contextvars

from django.db import models
from django.db.models.expressions import Col
from django.db.models.sql.where import AND

_all_agencies = contextvars.ContextVar("preserve_all_agencies", default=False)


class UnscopedQueryError(Exception):
    pass


@contextlib.contextmanager
def all_agencies():
    """Allow unscoped reads of case data in this block (system code only)."""
    token = _all_agencies.set(True)
    try:
        yield
    finally:
        _all_agencies.reset(token)


# Lookups that pin a field to given values. ``agency__isnull=False``, ``agency__gt=0``,
# ``agency=F("...")`` or ``agency__in=Agency.objects.all()`` filter on the agency too, yet read
# every agency: they do not scope a query.
_PINNING_LOOKUPS = {"exact", "in"}


def _pins(lookup):
    return lookup.lookup_name in _PINNING_LOOKUPS and not hasattr(lookup.rhs, "resolve_expression")


def _scoping_fields(where):
    """Fields pinned by plain AND-ed lookups of a WHERE tree (OR and NOT branches do not
    scope a query: ``agency=a OR state=x`` reads every agency)."""
    if where.connector != AND or where.negated:
        return
    for child in where.children:
        if hasattr(child, "children"):
            yield from _scoping_fields(child)
        elif isinstance(getattr(child, "lhs", None), Col) and _pins(child):
            yield child.lhs.target


class AgencyScopedQuerySet(models.QuerySet):
    """Subclasses list in ``scope_fields`` the fields whose filter scopes a query: a name of
    this model's field, or "app_label.Model.field" for a field reached through a join."""

    scope_fields = ()
    # How to read this model properly, for the error message (default: case data).
    scope_hint = (
        "Read case data through selectors.requests_for_user(user) or "
        "PreservationRequest.objects.for_agency(agency) (rows of one request: request.serials / "
        "request.events)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._across_agencies = False

    def across_agencies(self):
        """Opt out of the guard, visibly: for system code that works on every agency."""
        clone = self._chain()
        clone._across_agencies = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._across_agencies = self._across_agencies
        return clone

    def _check_scoped(self):
        if self._across_agencies or _all_agencies.get():
            return
        wanted = {_resolve(self.model, name) for name in self.scope_fields}
        if wanted.isdisjoint(_scoping_fields(self.query.where)):
            model = self.model.__name__
            raise UnscopedQueryError(
                "%s was queried without a filter on %s, which could read another agency's (or "
                "user's) rows. %s System code that must see every agency opts out visibly: "
                "%s.objects.across_agencies()... or `with preservation.core.scoping.all_agencies():`."
                % (model, " or ".join(self.scope_fields), self.scope_hint, model)
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._check_scoped()
        super()._fetch_all()

    def _guarded(name):
        def method(self, *args, **kwargs):
            self._check_scoped()
            return getattr(super(AgencyScopedQuerySet, self), name)(*args, **kwargs)

        method.__name__ = name
        return method

    count = _guarded("count")
    exists = _guarded("exists")
    aggregate = _guarded("aggregate")
    update = _guarded("update")
    delete = _guarded("delete")
    iterator = _guarded("iterator")
    in_bulk = _guarded("in_bulk")
    contains = _guarded("contains")
    explain = _guarded("explain")
    del _guarded


def _resolve(model, name):
    from django.apps import apps

    if "." not in name:
        return model._meta.get_field(name)
    app_model, field = name.rsplit(".", 1)
    return apps.get_model(app_model)._meta.get_field(field)


class GlobalUniqueChecks:
    """Model mixin: uniqueness is global, so ``full_clean``'s unique checks look at every
    agency's rows (they only ask "does another row hold this value?")."""

    def validate_unique(self, exclude=None):
        with all_agencies():
            super().validate_unique(exclude=exclude)
