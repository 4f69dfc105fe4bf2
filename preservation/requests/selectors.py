"""Reads for pages and exports. Case data is always read through an agency."""
from dataclasses import replace
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from preservation.models import DeviceSerial, LegalBasis, PreservationRequest, Provider, RequestState, User
from preservation.rules import catalogue, deadlines, serials

S = RequestState


def requests_for_user(user):
    """The requests a signed-in user may see: their agency's, nobody else's."""
    if not user.is_authenticated or user.agency_id is None:
        return PreservationRequest.objects.none()
    return PreservationRequest.objects.for_agency(user.agency_id)


def agency_members(user):
    """Everyone in the user's agency, former members included (their requests stay listed),
    with what a name needs."""
    return (
        User.objects.filter(agency_id=user.agency_id)
        .only("first_name", "last_name", "username", "is_active")
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

    Counting 10,000 requests took most of the dashboard's database time (bench/dashboard.py),
    and the answer only changes when a request does or the day turns. So it is cached per
    agency under the agency's requests_version (moved on after every committed change to one
    of its requests, signals.py) and the agency's date: a change or a new day makes a new key,
    never a stale answer. The cache is only counts, no case data.
    """
    if user.agency_id is None:
        return dict.fromkeys(["total", "due_week", *FIELD_BUCKETS], 0)
    key = "preserve:bucket-counts:%d:%d:%s" % (user.agency_id, user.agency.requests_version, today.isoformat())
    counts = cache.get(key)
    if counts is None:
        counts = _count_buckets(user, today)
        cache.set(key, counts, BUCKET_COUNTS_TTL)
    return counts


def _count_buckets(user, today):
    """The groups' counts in one query. PostgreSQL counts per (state, urgency) pair, a few dozen
    rows summed here into the groups, and counts "due this week" alongside: one aggregate per row
    instead of one per group. COUNT(*) and COUNT(next_deadline_on), not COUNT(id): every column
    read is then in request_dashboard_groups, so PostgreSQL answers from the index alone.
    """
    due = bucket_conditions(today)["due_week"]
    pairs = (
        requests_for_user(user).order_by().values("state", "urgency")
        .annotate(n=Count("*"), due=Count("next_deadline_on", filter=due))
    )
    counts = dict.fromkeys(["total", "due_week", *FIELD_BUCKETS], 0)
    for pair in pairs:
        counts["total"] += pair["n"]
        counts["due_week"] += pair["due"]
        for name, (field, values) in FIELD_BUCKETS.items():
            if pair[field] in values:
                counts[name] += pair["n"]
    return counts


def _search(queryset, text):
    """CRIM#, a serial typed in any format, or an account email."""
    text = text.strip()
    if not text:
        return queryset
    condition = Q(case_number__iexact=text)
    if "@" in text:
        condition |= Q(account_email__iexact=text)
    parsed = serials.parse_serial(text)
    if parsed.valid:
        condition |= Exists(
            DeviceSerial.objects.filter(request=OuterRef("pk"), normalized=parsed.normalized)
        )
    return queryset.filter(condition)


def dashboard_requests(user, filters=None, today=None):
    """The agency's requests, most urgent first, then by the next deadline."""
    filters = filters or {}
    queryset = requests_for_user(user)
    if filters.get("q"):
        queryset = _search(queryset, filters["q"])
    if filters.get("bucket"):
        queryset = queryset.filter(bucket_conditions(today or agency_today(user))[filters["bucket"]])
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("urgency"):
        queryset = queryset.filter(urgency=filters["urgency"])
    if filters.get("requester"):
        queryset = queryset.filter(created_by_id=filters["requester"])
    if filters.get("due_within") is not None:
        limit = (today or agency_today(user)) + timedelta(days=filters["due_within"])
        queryset = queryset.filter(next_deadline_on__isnull=False, next_deadline_on__lte=limit)
    return queryset.select_related("created_by").order_by(
        "urgency_rank", "next_deadline_on", "-created_at", "-pk"
    )


def request_for_page(user, pk):
    """One request with what its page shows, or DoesNotExist for another agency's."""
    return (
        requests_for_user(user)
        .select_related("agency", "created_by")
        .prefetch_related("serials")
        .get(pk=pk)
    )


def request_history(preservation_request):
    return preservation_request.events.select_related("actor").order_by("at", "pk")


# --- The catalogue (docs/providers.md) --------------------------------------------------------


def provider_policy(code, other_name=""):
    """The live catalogue's provider (the shipped one if the row is gone), named as typed for
    "Other provider"."""
    row = Provider.objects.filter(code=code).first()
    policy = row.as_policy() if row else catalogue.PROVIDERS_BY_CODE.get(code, catalogue.OTHER)
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


def request_clock_terms(request):
    """Days, extensions and extension length of the request's clock."""
    return deadlines.clock_terms(basis_policy(request.legal_basis),
                                 provider_policy(request.provider, request.provider_other_name),
                                 request.agency.national_order)
