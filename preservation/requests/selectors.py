"""Reads for pages and exports. Case data is always read through an agency."""
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preservation.core import permissions
from preservation.models import (
    ALL_BLOCKS,
    COUNT_BLOCK,
    OPEN_STATES,
    DeviceSerial,
    LegalBasis,
    PreservationRequest,
    Provider,
    RequestApproval,
    RequestEvent,
    RequestState,
    User,
)
from preservation.rules import catalogue, deadlines, next_step, references, serials

S = RequestState


def requests_for_user(user):
    """The requests a signed-in user may see: their agency's, nobody else's."""
    if not user.is_authenticated or user.agency_id is None:
        return PreservationRequest.objects.none()
    return PreservationRequest.objects.for_agency(user.agency_id)


def agency_members(user):
    """Everyone in the user's agency, former members included (their requests stay listed),
    with what a name and a filter need."""
    return (
        User.objects.filter(agency_id=user.agency_id)
        .only("first_name", "last_name", "username", "is_active", "public_id")
        .order_by("first_name", "last_name", "username")
    )


def user_names(pks):
    """Names of the given users: creators of the agency's requests who have left it since."""
    return {u.pk: u.get_full_name() or u.username
            for u in User.objects.filter(pk__in=pks).only("first_name", "last_name", "username")}


def agency_today(user):
    zone = user.agency.time_zone if user.agency_id else "UTC"
    return deadlines.local_date(timezone.now(), zone)


# The dashboard's groups that depend only on a request's state or urgency, as (field, values):
# the one definition both the filter (bucket_conditions) and the counts (bucket_counts) read.
# "due_week" depends on today and is defined in bucket_conditions.
FIELD_BUCKETS = {
    "lost_losing": ("urgency", (deadlines.Urgency.LOST, deadlines.Urgency.LOSING)),
    "critical": ("urgency", (deadlines.Urgency.CRITICAL,)),
    "preserving": ("state", (S.PRESERVING, S.EXTENSION_REQUESTED)),
    "extended": ("state", (S.EXTENDED,)),
    "closed": ("state", (S.CLOSED, S.WITHDRAWN, S.LAPSED)),
}


def bucket_conditions(today):
    """The dashboard's groups (they may overlap: a critical request can be due this week)."""
    conditions = {name: Q(**{field + "__in": values}) for name, (field, values) in FIELD_BUCKETS.items()}
    conditions["due_week"] = Q(next_deadline_on__isnull=False, next_deadline_on__lte=today + timedelta(days=7))
    return conditions


# Counts of a day's groups stay valid for that day until a request of the agency changes.
BUCKET_COUNTS_TTL = 24 * 60 * 60


def bucket_counts(user, today):
    """How many of the agency's requests are in each group.

    Counting 100,000 requests took 20 ms of index reads, and the answer only changes when a
    request does or the day turns. So the counts are cached per block of COUNT_BLOCK request
    ids, each under the version at which a request of that block last changed
    (Agency.count_versions, moved on after every committed change, signals.py), the agency's
    "all" version (writes whose requests are not known one by one) and the agency's date: a
    change or a new day makes a new key for its block, never a stale answer, and only that
    block is counted again (a new request: the newest block). The cache is only counts, no case
    data. Which blocks exist is a hint in the cache (the highest counted): a block above it is
    counted when count_versions names one, and everything when the hint is lost, so a lost
    hint costs a count, never a wrong one.
    """
    if user.agency_id is None:
        return _no_counts()
    versions = user.agency.count_versions or {}  # read with the user, before anything is counted
    every = versions.get(ALL_BLOCKS, 0)
    prefix = "preserve:bucket-counts:%d:%s:%s" % (user.agency_id, today.isoformat(), every)
    # The highest block counted since the last "all" change. A request in a block above it was
    # either saved, and its block is in count_versions, or written in bulk, and "all" moved on.
    top_key = "preserve:bucket-counts-top:%d:%s" % (user.agency_id, every)
    top = cache.get(top_key, -1)
    keys = {block: "%s:%d:%s" % (prefix, block, versions.get(str(block), 0)) for block in range(top + 1)}
    cached = cache.get_many(list(keys.values())) if keys else {}
    missing = [block for block, key in keys.items() if key not in cached]
    highest_changed = max((int(block) for block in versions if block != ALL_BLOCKS), default=-1)
    above = top if top < 0 or highest_changed > top else None
    counted = _count_buckets(user, today, missing, above=above) if missing or above is not None else {}
    new_top = max([top, *counted])
    fresh = {}
    # Every block asked for is known now, and every block above ``above`` up to the highest
    # with requests; one with none is cached as nothing.
    for block in [*missing, *(range(above + 1, new_top + 1) if above is not None else ())]:
        fresh["%s:%d:%s" % (prefix, block, versions.get(str(block), 0))] = counted.get(block) or _no_counts()
    if fresh:
        cache.set_many(fresh, BUCKET_COUNTS_TTL)
    if new_top > top:
        cache.set(top_key, new_top, BUCKET_COUNTS_TTL)
    counts = _no_counts()
    for part in [*cached.values(), *fresh.values()]:
        for name in counts:
            counts[name] += part[name]
    return counts


def _no_counts():
    return dict.fromkeys(["total", "due_week", *FIELD_BUCKETS], 0)


def _block_ranges(blocks):
    """Consecutive blocks as (first, last) pairs: one range condition each."""
    ranges = []
    for block in sorted(blocks):
        if ranges and ranges[-1][1] == block - 1:
            ranges[-1][1] = block
        else:
            ranges.append([block, block])
    return ranges


def _count_buckets(user, today, blocks, above):
    """The groups' counts of the given blocks of ids and of every block above ``above`` (if not
    None), per block, in one query: PostgreSQL counts per (block, state, urgency), a few rows per block
    summed here into the groups, and "due this week" alongside."""
    condition = Q(pk__gte=(above + 1) * COUNT_BLOCK) if above is not None else Q(pk__in=[])
    for first, last in _block_ranges(blocks):
        condition |= Q(pk__gte=first * COUNT_BLOCK, pk__lt=(last + 1) * COUNT_BLOCK)
    due = bucket_conditions(today)["due_week"]
    rows = (
        requests_for_user(user).filter(condition).order_by()
        .annotate(block=F("pk") / COUNT_BLOCK).values("block", "state", "urgency")
        .annotate(n=Count("*"), due=Count("next_deadline_on", filter=due))
    )
    per_block = {}
    for row in rows:
        counts = per_block.setdefault(row["block"], _no_counts())
        counts["total"] += row["n"]
        counts["due_week"] += row["due"]
        for name, (field, values) in FIELD_BUCKETS.items():
            if row[field] in values:
                counts[name] += row["n"]
    return per_block


# A search term this short matches too much to mean anything; a serial needs four characters.
MIN_PARTIAL = 3
MIN_SERIAL_PART = 4


def search_condition(text):
    """What a typed search finds (docs/workday.md §5): part of a CRIM#, of a serial in
    any formatting (4 characters or more), of the account email, the requester's name or
    Blink's reference, or the request's own reference, whole (PR-7KQ4-M2XD, 7kq4m2xd; an old
    PR-000123, or 123) or four characters of it or more (M2XD)."""
    text = text.strip()
    condition = Q(case_number__iexact=text)
    if len(text) >= MIN_PARTIAL:
        condition |= (Q(case_number__icontains=text) | Q(account_email__icontains=text)
                      | Q(requester_name__icontains=text) | Q(blink_reference__icontains=text))
    reference = references.canonical(text)
    if reference:
        condition |= Q(reference=reference)
    part = references.partial(text)
    if len(part) >= references.GROUP:
        condition |= Q(reference__contains=part)
    part = serials.normalize_serial(text)
    if len(part) >= MIN_SERIAL_PART:
        condition |= Exists(DeviceSerial.objects.filter(request=OuterRef("pk"), normalized__contains=part))
    return condition


def local_start(day, zone):
    """The instant the agency's day begins (a clock change at midnight moves it, never skips it)."""
    return datetime.combine(day, time()).replace(tzinfo=ZoneInfo(zone))


def next_step_rules():
    return next_step.Rules(
        ack_missing_days=settings.PRESERVE["ACK_MISSING_DAYS"],
        extension_ack_missing_days=settings.PRESERVE["EXTENSION_ACK_MISSING_DAYS"],
    )


def group_conditions(today, zone, rules=None):
    """The rows next_step.next_step puts in each group, as conditions: waiting on Blink (an
    acknowledgement not yet overdue), on a supervisor (approval asked for) or on Amazon (legal
    process served); done once closed or withdrawn; everything else is the agency's move."""
    rules = rules or next_step_rules()
    ack_from = local_start(today - timedelta(days=rules.ack_missing_days - 1), zone)
    extension_ack_from = local_start(today - timedelta(days=rules.extension_ack_missing_days - 1), zone)
    done = Q(state__in=[S.CLOSED, S.WITHDRAWN])
    waiting = (
        Q(state=S.SUBMITTED, sent_at__gte=ack_from)
        | Q(state=S.EXTENSION_REQUESTED, extension_sent_at__gte=extension_ack_from)
        | Q(state=S.LEGAL_PROCESS_SERVED)
        | Q(state=S.DRAFT, approval_requested_at__isnull=False, first_loss_at__isnull=False,
            total_loss_at__isnull=False, agency__requires_supervisor_approval=True)
    )
    return {"yours": ~done & ~waiting, "waiting": waiting, "done": done, "open": Q(state__in=OPEN_STATES)}


def awaiting_approval_condition(user):
    """Drafts asked for approval that this user may approve (not their own)."""
    return (Q(state=S.DRAFT, approval_requested_at__isnull=False, agency__requires_supervisor_approval=True)
            & ~Q(created_by_id=user.pk))


def emergency_review_condition(user):
    return Q(emergency_reason__gt="", emergency_reviewed_at__isnull=True) & ~Q(created_by_id=user.pk)


def inbox_counts(user):
    """How many drafts wait for this user's approval and emergency sends for their review;
    cached like the groups' counts, under the agency's requests_version."""
    if user.agency_id is None or user.role not in permissions.APPROVERS:
        return {"approval": 0, "review": 0}
    key = "preserve:inbox-counts:%d:%d:%d" % (user.agency_id, user.agency.requests_version, user.pk)
    counts = cache.get(key)
    if counts is None:
        counts = requests_for_user(user).aggregate(
            approval=Count("pk", filter=awaiting_approval_condition(user)),
            review=Count("pk", filter=emergency_review_condition(user)),
        )
        cache.set(key, counts, BUCKET_COUNTS_TTL)
    return counts


def with_row_facts(queryset):
    """What next_step needs beyond the row's own columns, in the same query: whether a draft is
    approved as it stands (requests.services.request_is_approved). Whether a device is from the
    legacy pool is read for the page's rows afterwards (with_legacy_flags)."""
    last_edit = RequestEvent.objects.filter(
        request=OuterRef("pk"), action__in=[RequestEvent.Action.CREATED, RequestEvent.Action.UPDATED],
    ).order_by("-at", "-pk").values("at")[:1]
    approved = Exists(RequestApproval.objects.filter(
        request=OuterRef("pk"), at__gte=Coalesce(Subquery(last_edit), Value(datetime.min.replace(tzinfo=ZoneInfo("UTC"))))))
    return queryset.annotate(approved=approved)


def with_legacy_flags(rows):
    """The page's rows (dicts with "pk"), each with "legacy": a device of the legacy pool is
    listed. One query by the serials' request index for the page. As an EXISTS in the rows' query,
    PostgreSQL hashed every legacy serial of the database for each page instead (bench/
    _profile_pages.py: two thirds of the dashboard's database time at 100,000 requests)."""
    rows = list(rows)
    legacy = set(DeviceSerial.objects.filter(
        Q(generation=serials.LEGACY) | Q(model__in=serials.LEGACY_POOL_MODELS),
        request__in=[row["pk"] for row in rows],
    ).order_by().values_list("request_id", flat=True)) if rows else set()
    return [{**row, "legacy": row["pk"] in legacy} for row in rows]


def dashboard_requests(user, filters=None, today=None):
    """The agency's requests, most urgent first, then by the next deadline."""
    filters = filters or {}
    today = today or agency_today(user)
    queryset = requests_for_user(user)
    if filters.get("q"):
        queryset = queryset.filter(search_condition(filters["q"]))
    if filters.get("bucket"):
        queryset = queryset.filter(bucket_conditions(today)[filters["bucket"]])
    if filters.get("group"):
        queryset = queryset.filter(group_conditions(today, user.agency.time_zone)[filters["group"]])
    if filters.get("inbox") == "approval":
        queryset = queryset.filter(awaiting_approval_condition(user))
    if filters.get("inbox") == "review":
        queryset = queryset.filter(emergency_review_condition(user))
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("urgency"):
        queryset = queryset.filter(urgency=filters["urgency"])
    if filters.get("owner"):
        queryset = (queryset.filter(assigned_to_id=user.pk) if filters["owner"] == "me"
                    else queryset.filter(assigned_to__public_id=filters["owner"]))
    if filters.get("requester"):
        queryset = queryset.filter(created_by__public_id=filters["requester"])
    if filters.get("due_within") is not None:
        limit = today + timedelta(days=filters["due_within"])
        queryset = queryset.filter(next_deadline_on__isnull=False, next_deadline_on__lte=limit)
    return queryset.select_related("created_by").order_by(
        "urgency_rank", "next_deadline_on", "-created_at", "-pk"
    )


def open_requests_of(user):
    """The open requests assigned to a user (to hand over when they leave)."""
    return (PreservationRequest.objects.for_agency(user.agency_id).open()
            .filter(assigned_to=user).order_by("urgency_rank", "next_deadline_on", "pk"))


def request_for_page(user, public_id):
    """One request with what its page shows, or DoesNotExist for another agency's."""
    return (
        requests_for_user(user)
        .select_related("agency", "created_by", "assigned_to", *CATALOGUE_ROWS)
        .prefetch_related("serials")
        .get(public_id=public_id)
    )


def request_history(preservation_request):
    return preservation_request.events.select_related("actor").order_by("at", "pk")


# --- The catalogue (docs/providers.md) --------------------------------------------------------


def provider_policy(code, other_name=""):
    """The live catalogue's provider (the shipped one if the row is gone), named as typed for
    "Other provider"."""
    row = Provider.objects.filter(code=code).first()
    return _provider_named(row.as_policy() if row else None, code, other_name)


def _provider_named(policy, code, other_name):
    policy = policy or catalogue.PROVIDERS_BY_CODE.get(code, catalogue.OTHER)
    return replace(policy, name=other_name) if other_name and code == catalogue.OTHER.code else policy


def provider_choices():
    """(code, name) of every provider: the shipped catalogue's, as corrected in the database,
    then any that platform staff added."""
    rows = {row.code: row.name for row in Provider.objects.all()}
    shipped = [(p.code, _(rows.pop(p.code)) if p.code in rows else p.name) for p in catalogue.PROVIDERS]
    return shipped + [(code, name) for code, name in rows.items()]


def basis_policy(code):
    row = LegalBasis.objects.filter(code=code).first()
    return row.as_policy() if row else catalogue.legal_basis(code)


@dataclass(frozen=True)
class Policies:
    """The providers and legal bases of many requests, read in two queries (a page of the API
    answers in the same number of queries however many rows it has); the same answers as
    ``provider_policy`` and ``basis_policy``."""

    providers: dict
    bases: dict

    def provider(self, code, other_name=""):
        return _provider_named(self.providers.get(code), code, other_name)

    def basis(self, code):
        return self.bases.get(code) or catalogue.legal_basis(code)


def all_policies():
    """Every provider and legal basis of the live catalogue, in two queries: the hourly
    urgency refresh reads them once, not twice a request."""
    return Policies(providers={row.code: row.as_policy() for row in Provider.objects.all()},
                    bases={row.code: row.as_policy() for row in LegalBasis.objects.all()})


def policies_for(requests):
    requests = list(requests)
    return Policies(
        providers={row.code: row.as_policy()
                   for row in Provider.objects.filter(code__in={r.provider for r in requests})},
        bases={row.code: row.as_policy()
               for row in LegalBasis.objects.filter(code__in={r.legal_basis for r in requests})},
    )


# Read the catalogue's rows of a request in its own query: ``queryset.select_related(*CATALOGUE_ROWS)``.
CATALOGUE_ROWS = ("provider_row", "basis_row")


def request_policies(preservation_request):
    """The request's provider and legal basis from the live catalogue, read once per loaded
    request: its page asks several times (its deadlines, its documents' checks), two queries
    each, or none when the request was read with its catalogue rows (``CATALOGUE_ROWS``: the
    services' locked read is). Read again when the request's provider or basis changes;
    services work on a request read afresh (locked), so they read the catalogue afresh."""
    key = (preservation_request.provider, preservation_request.provider_other_name, preservation_request.legal_basis)
    memo = preservation_request.__dict__.get("_catalogue_policies")
    if memo is None or memo[0] != key:
        provider_row, basis_row = _joined_rows(preservation_request)
        memo = (key,
                _provider_named(provider_row.as_policy(), key[0], key[1]) if provider_row
                else provider_policy(key[0], key[1]),
                basis_row.as_policy() if basis_row else basis_policy(key[2]))
        preservation_request.__dict__["_catalogue_policies"] = memo
    return memo[1], memo[2]


def _joined_rows(preservation_request):
    """The catalogue rows read with the request (``select_related``), while they are still its
    codes' (a code changed on the object since, or a code without a row, is read afresh)."""
    cache = preservation_request._state.fields_cache
    provider_row, basis_row = cache.get("provider_row"), cache.get("basis_row")
    return (provider_row if provider_row and provider_row.code == preservation_request.provider else None,
            basis_row if basis_row and basis_row.code == preservation_request.legal_basis else None)


def keep_policies(source, preservation_request):
    """The request read again within the same HTTP request (the API answers a change with the
    request as stored): the catalogue ``source``, the copy just saved, read for it, instead of
    two queries more. ``request_policies`` still reads afresh if the provider or basis differ."""
    memo = source.__dict__.get("_catalogue_policies")
    if memo is not None and source.pk == preservation_request.pk:
        preservation_request.__dict__.setdefault("_catalogue_policies", memo)
    return preservation_request


def request_clock(preservation_request, *, extensions_received=None):
    """The preservation clock of the request's recorded receipt under its own legal basis and
    provider (None before receipt); ``extensions_received`` asks "what if" (the extension page
    shows the date an extension would reach)."""
    if preservation_request.received_on is None:
        return None
    if extensions_received is None:
        extensions_received = int(bool(preservation_request.extension_received_on))
    production_order = None
    if preservation_request.production_order_received_at:
        production_order = deadlines.ProductionOrder(preservation_request.production_order_received_at,
                                                     preservation_request.production_order_emergency)
    provider, basis = request_policies(preservation_request)
    return deadlines.basis_clock(
        basis=basis, provider=provider,
        received_on=preservation_request.received_on, sent_on=None, extensions_received=extensions_received,
        production_confirmed_on=preservation_request.production_confirmed_on, production_order=production_order,
        national=preservation_request.agency.national_order, lead_days=settings.PRESERVE["EXTENSION_LEAD_DAYS"],
    )


def request_clock_terms(preservation_request):
    """Days, extensions and extension length of the request's clock."""
    provider, basis = request_policies(preservation_request)
    return deadlines.clock_terms(basis, provider, preservation_request.agency.national_order)
