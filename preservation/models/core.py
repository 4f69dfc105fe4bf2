"""Core data model: agencies, their users, preservation requests, device serials and history.

Computed deadlines are stored on the request row (and indexed) so dashboards and reminder
sweeps read them instead of recomputing; ``services.request_recompute`` is the only writer.
"""
import datetime
import unicodedata
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F, Value
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from preservation.core.scoping import AgencyScopedQuerySet, GlobalUniqueChecks, all_agencies
from preservation.rules import catalogue, deadlines, identifiers, references, serials

__all__ = [
    "Agency", "LEGAL_BASIS_CHOICES", "bump_requests_version", "count_block", "COUNT_BLOCK", "ALL_BLOCKS", "bump_requests_versions_after_commit", "User", "Role", "RequestState", "OPEN_STATES", "CLOCK_STATES", "Outcome",
    "LegalProcessType", "DeadlineKind", "URGENCY_CHOICES", "NO_URGENCY_RANK",
    "PreservationRequest", "DeviceSerial", "RequestEvent", "validate_time_zone", "validate_country",
    "KNOWN_TIME_ZONES", "TEXT_LIMITS", "validate_single_line", "RECOMPUTE_AT_ONCE",
]

# The ``recompute_at`` of a request never computed (or whose rules changed under it): long past,
# so the next urgency refresh recomputes it.
RECOMPUTE_AT_ONCE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)

# Length caps of the long text fields (docs/security.md "Bounded work"): the models carry them,
# so model forms, the API's model serializers and full_clean refuse longer text; the plain form
# and serializer fields for reasons use the same numbers.
TEXT_LIMITS = {
    "notes": 10_000,
    "legal_basis": 5_000,
    "postal_address": 1_000,
    "text": 5_000,  # the login banner
    "reason": 2_000,
}


# Reading the zone database takes tens of milliseconds; the set cannot change while we run.
KNOWN_TIME_ZONES = frozenset(zoneinfo.available_timezones())


def validate_time_zone(value):
    if value not in KNOWN_TIME_ZONES:
        raise ValidationError(
            _("“%(zone)s” is not a known IANA time zone, for example Europe/Berlin."),
            code="invalid_time_zone",
            params={"zone": value},
        )


validate_country = RegexValidator(
    r"^[A-Z]{2}$",
    _("Enter a two-letter ISO country code, for example US or DE."),
    code="invalid_country",
)

# CRIM#: up to 64 printable characters (no control characters, no line breaks).
validate_case_number = RegexValidator(
    r"^[^\x00-\x1f\x7f-\x9f]*$",
    _("The case number may only contain printable characters."),
    code="invalid_case_number",
)


def validate_single_line(value):
    """A name printed in letterheads and email subjects: one line, no control characters
    (a line break in a subject is a header injection; docs/security.md "Bad input")."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in str(value)):
        raise ValidationError(_("Use one line of text, without line breaks or control characters."),
                              code="not_single_line")

LEGAL_BASIS_CHOICES = [(basis.code, basis.name) for basis in catalogue.LEGAL_BASES]


class Agency(models.Model):
    name = models.CharField(_("name"), max_length=200, validators=[validate_single_line])
    country = models.CharField(_("country"), max_length=2, validators=[validate_country])
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    postal_address = models.TextField(_("postal address"), blank=True, max_length=TEXT_LIMITS["postal_address"],
                                      validators=[MaxLengthValidator(TEXT_LIMITS["postal_address"])])
    phone = PhoneNumberField(_("phone"), blank=True)
    legal_basis = models.TextField(
        _("default legal-basis text"),
        blank=True, max_length=TEXT_LIMITS["legal_basis"], validators=[MaxLengthValidator(TEXT_LIMITS["legal_basis"])],
        help_text=_("Printed on preservation requests; leave empty for the standard text."),
    )
    requires_supervisor_approval = models.BooleanField(
        _("supervisor approval required before sending"), default=False
    )
    # docs/providers.md §1: empty means the default for the agency's country.
    default_legal_basis = models.CharField(
        _("default legal basis"), max_length=30, blank=True, choices=LEGAL_BASIS_CHOICES,
        help_text=_("Empty: § 2703(f) for US agencies, the EPOC-PR in EU member states except "
                    "Denmark, otherwise a voluntary request."),
    )
    national_order_days = models.PositiveSmallIntegerField(
        _("national preservation order (days)"), default=catalogue.NATIONAL_ORDER_DEFAULT_DAYS
    )
    national_order_renewals = models.PositiveSmallIntegerField(
        _("national preservation order renewals"), default=catalogue.NATIONAL_ORDER_DEFAULT_RENEWALS
    )
    allows_emergency_send = models.BooleanField(
        _("emergency sending without approval allowed"), default=False,
        help_text=_("Where approval is required: whether a request may be sent without it in an "
                    "emergency, with a written reason that supervisors review afterwards."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Moves on after every committed change to one of the agency's requests (signals.py), so
    # what is cached about those requests (selectors.bucket_counts) is keyed by it and a change
    # is never served stale, in any process. Only bump_requests_version() writes it.
    requests_version = models.PositiveBigIntegerField(_("requests version"), default=0, editable=False)
    # The same, per block of COUNT_BLOCK request ids: {"17": the requests_version at which a
    # request with an id in block 17 last changed, "all": the last change whose requests are not
    # known one by one}. The dashboard's counts are cached per block under it, so a change has
    # only its own block counted again (selectors.bucket_counts). Only bump_requests_version()
    # writes it.
    count_versions = models.JSONField(default=dict, editable=False)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # A form or the admin saving an agency it read earlier must not write back the
        # requests_version it read: that would bring back counts cached for an older version.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in ("requests_version", "count_versions")
            ]
        super().save(*args, **kwargs)

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def default_basis_code(self):
        return self.default_legal_basis or catalogue.default_basis_code(self.country)

    @property
    def national_order(self):
        return deadlines.NationalOrder(self.national_order_days, self.national_order_renewals)


class Role(models.TextChoices):
    REQUESTER = "requester", _("Requester (officer or detective)")
    PARALEGAL = "paralegal", _("Paralegal")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENCY_ADMIN = "agency_admin", _("Agency administrator")


# Requests per block of the dashboard's cached counts (Agency.count_versions).
COUNT_BLOCK = 4096
ALL_BLOCKS = "all"


def count_block(pk):
    """The block of the dashboard's counts a request id belongs to ("all" when not known)."""
    return ALL_BLOCKS if pk is None else str(pk // COUNT_BLOCK)


def bump_requests_version(agency_id, blocks=(ALL_BLOCKS,)):
    """One of the agency's requests changed: what was cached about them is out of date. The
    agency's version moves on, and each block of ids named takes the new version as its own
    ("all" for writes whose requests are not known one by one), in one statement."""
    blocks = sorted({str(block) for block in blocks}) or [ALL_BLOCKS]
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        pairs = ", ".join(["%s::text, \"requests_version\" + 1"] * len(blocks))
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE "preservation_agency" SET "requests_version" = "requests_version" + 1, '
                '"count_versions" = "count_versions" || jsonb_build_object(' + pairs + ') WHERE "id" = %s',
                [*blocks, agency_id])
        return
    with transaction.atomic():  # SQLite serialises writers: read, then write
        row = Agency.objects.filter(pk=agency_id).values("requests_version", "count_versions").first()
        if row is not None:
            version = row["requests_version"] + 1
            Agency.objects.filter(pk=agency_id).update(
                requests_version=version, count_versions={**(row["count_versions"] or {}),
                                                          **dict.fromkeys(blocks, version)})


class _VersionBump:
    """One agency's bump after the commit. Every write of the transaction registers its own (so
    that a savepoint rolled back takes only its own away), and the writes of one agency in one
    transaction share ``once``: the first of them to run bumps, the others have nothing left to
    do. A request created then saved again moves the version on once, not twice. It has a
    ``__qualname__``, as a function has: Django names a failed robust callback by it (a
    ``functools.partial`` has none, so its failure raised AttributeError instead of being logged)."""

    def __init__(self, agency_id, once):
        self.agency_id, self.once = agency_id, once
        self.__qualname__ = "bump_requests_version"

    def __call__(self):
        if self.once["done"]:
            return
        self.once["done"] = True
        bump_requests_version(self.agency_id, self.once["blocks"])


def bump_requests_versions_after_commit(agency_ids, blocks=(ALL_BLOCKS,)):
    """After the commit, not inside the transaction: holding the agencies' rows until then
    would queue every writer of the agency behind it (and could deadlock with the audit chain's
    lock). Until then readers see the previous version, as they see the previous data. robust: a
    failed bump is logged; the change itself is already committed."""
    agency_ids = sorted(set(agency_ids))
    connection = transaction.get_connection()
    pending = {}
    if connection.in_atomic_block:
        pending = {callback.agency_id: callback.once for _sids, callback, _robust in connection.run_on_commit
                   if isinstance(callback, _VersionBump) and not callback.once["done"]}
    for agency_id in agency_ids:
        # The blocks of every write of the transaction are bumped together (a write rolled back
        # with its savepoint may leave its block in: counted again once, never stale).
        once = pending.get(agency_id) or {"done": False, "blocks": set()}
        once["blocks"].update(blocks)
        transaction.on_commit(_VersionBump(agency_id, once), robust=True)


class User(AbstractUser):
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.REQUESTER)
    # Pages, filters and audit records name a person by this, never by the global row number
    # (docs/security.md "Opaque identifiers").
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    rank_title = models.CharField(_("rank or title"), max_length=100, blank=True)
    badge_number = models.CharField(_("badge or ID number"), max_length=50, blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    unit = models.CharField(_("unit or department"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    # Moves on after every committed change to the user's notifications (models/reminders.py):
    # the bell's unread count is cached under it (reminders/views.py), read with the user at the
    # start of each request, so a cached count is never older than what the request can see.
    notifications_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class RequestState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Sent to Blink")
    PRESERVING = "preserving", _("Preserving")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENDED = "extended", _("Extended")
    LEGAL_PROCESS_SERVED = "legal_process_served", _("Legal process served")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CLOSED = "closed", _("Closed")


OPEN_STATES = frozenset(
    {
        RequestState.DRAFT,
        RequestState.SUBMITTED,
        RequestState.PRESERVING,
        RequestState.EXTENSION_REQUESTED,
        RequestState.EXTENDED,
        RequestState.LEGAL_PROCESS_SERVED,
    }
)
# States whose preservation clock runs and can lapse.
CLOCK_STATES = frozenset(
    {RequestState.PRESERVING, RequestState.EXTENSION_REQUESTED, RequestState.EXTENDED}
)


class Outcome(models.TextChoices):
    PRODUCED = "produced", _("Data produced")
    NO_DATA = "no_data", _("No data")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LegalProcessType(models.TextChoices):
    SUBPOENA = "subpoena", _("Subpoena")
    COURT_ORDER = "court_order", _("Court order")
    SEARCH_WARRANT = "search_warrant", _("Search warrant")


class DeadlineKind(models.TextChoices):
    FIRST_LOSS = "first_loss", _("Oldest clip deleted")
    TOTAL_LOSS = "total_loss", _("Newest clip deleted")
    EXTENSION_SEND_BY = "extension_send_by", _("Send extension by")
    EXPIRES = "expires", _("Preservation expires")
    FINAL_EXPIRES = "final_expires", _("Extended preservation expires")
    PRODUCTION_DUE = "production_due", _("Production order due")


URGENCY_CHOICES = [(u.value, u.label) for u in deadlines.Urgency]
# Requests with no urgency (finished) sort after every open one.
NO_URGENCY_RANK = 99


class WritesTold(models.QuerySet):
    """A queryset whose bulk writes tell ``_written`` what they wrote, as keys of the rows:
    ``_keys_of_rows`` reads them for an update (before it, across agencies: only the rows this
    very write is about to change), ``_keys_of`` takes them from the objects of a bulk_update or
    bulk_create. A cache keyed by versions these move on stays right (docs/architecture.md §5);
    save() and delete() tell through the model's signals. Subclasses define the three."""

    def update(self, **kwargs):
        with all_agencies():
            keys = list(self._keys_of_rows().distinct().order_by())
        rows = super().update(**kwargs)
        self._written(keys)
        return rows

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        self._written(self._keys_of(objs))
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        self._written(self._keys_of(created))
        return created


class PreservationRequestQuerySet(WritesTold, AgencyScopedQuerySet):
    # Tenancy guard (preservation/core/scoping.py): reads must filter on the agency.
    scope_fields = ("agency",)

    def for_agency(self, agency):
        return self.filter(agency=agency)

    def open(self):
        return self.filter(state__in=OPEN_STATES)

    # Every write path moves the agencies' requests_version on, so no cache keyed by it (the
    # dashboard's counts) can outlive a change: save() and delete() through the model's signals
    # (preservation/core/signals.py), the bulk paths through WritesTold. Each names the blocks of
    # the rows it writes, so that the dashboard counts those blocks again, not every request.
    def _keys_of_rows(self):
        return self.annotate(_count_block=F("pk") / Value(COUNT_BLOCK)).values_list("agency_id", "_count_block")

    def _keys_of(self, objs):
        return [(obj.agency_id, None if obj.pk is None else obj.pk // COUNT_BLOCK) for obj in objs]

    def _written(self, keys):
        _bump_blocks_after_commit(keys)


def _bump_blocks_after_commit(written):
    """``written``: (agency id, block number or None) pairs, None meaning "all"."""
    blocks = {}
    for agency_id, block in written:
        blocks.setdefault(agency_id, set()).add(ALL_BLOCKS if block is None else str(block))
    for agency_id, named in blocks.items():
        bump_requests_versions_after_commit([agency_id], blocks=named)


def new_request_reference():
    """A random reference for a new request (preservation/rules/references.py)."""
    return references.new_reference()


# A drawn reference that is already taken is drawn again, this many times in all.
REFERENCE_DRAWS = 5


class PreservationRequest(GlobalUniqueChecks, models.Model):
    public_id = models.UUIDField(_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    # Shown to people and quoted by providers: random, so it counts nothing (docs/security.md
    # "Opaque identifiers"); requests filed before keep their PR-000123.
    reference = models.CharField(_("reference"), max_length=references.MAX_LENGTH, unique=True,
                                 default=new_request_reference, editable=False)
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="requests"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="created_requests",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Who moves the request on (its creator until someone reassigns it): docs/workday.md §3.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_requests",
    )
    # Asked for a supervisor's approval (cleared by the approval); sent without one in an
    # emergency (the written reason), and when a supervisor reviewed that afterwards.
    approval_requested_at = models.DateTimeField(_("approval asked for"), null=True, blank=True)
    emergency_reason = models.TextField(_("sent without approval because"), blank=True)
    emergency_reviewed_at = models.DateTimeField(_("emergency send reviewed"), null=True, blank=True)

    # Requester contact and affiliation.
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    requester_title = models.CharField(_("rank or title"), max_length=100, blank=True)
    requester_badge = models.CharField(_("badge or ID number"), max_length=50, blank=True)
    requester_email = models.EmailField(_("requester email"), blank=True)
    requester_phone = PhoneNumberField(_("requester phone"), blank=True)
    unit = models.CharField(_("unit or department"), max_length=200, blank=True)

    # The case and what is asked for.
    case_number = models.CharField(
        _("CRIM#"),
        max_length=64,
        blank=True,
        validators=[validate_case_number],
        help_text=_("The case number, if one exists (up to 64 characters)."),
    )
    data_types = models.JSONField(_("data types"), default=list, blank=True)
    window_start = models.DateTimeField(_("window start"), null=True, blank=True)
    window_end = models.DateTimeField(_("window end"), null=True, blank=True)
    window_zone = models.CharField(
        _("time zone of the window"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    account_email = models.EmailField(_("account email"), blank=True)
    account_country = models.CharField(
        _("account country"), max_length=2, blank=True, validators=[validate_country]
    )
    auto_delete_days = models.PositiveSmallIntegerField(
        _("known auto-delete setting (days)"),
        null=True,
        blank=True,
        choices=[(d, d) for d in deadlines.AUTO_DELETE_CHOICES],
    )
    notes = models.TextField(_("notes"), blank=True, max_length=TEXT_LIMITS["notes"],
                             validators=[MaxLengthValidator(TEXT_LIMITS["notes"])])
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    # docs/providers.md: a code of the provider catalogue and of the legal bases.
    provider = models.CharField(_("provider"), max_length=30, default=catalogue.BLINK.code)
    provider_other_name = models.CharField(
        _("provider name"), max_length=200, blank=True,
        help_text=_("For “Other provider”: the provider's name."),
    )
    legal_basis = models.CharField(
        _("legal basis"), max_length=30, choices=LEGAL_BASIS_CHOICES, default=catalogue.US_2703F
    )
    # The catalogue's rows of these two codes (no column, no constraint: a code without a row is
    # the shipped catalogue's), for reading them in the request's own query with
    # ``select_related`` (selectors.request_policies). Never set: the codes above are the facts.
    provider_row = models.ForeignObject(
        "preservation.Provider", on_delete=models.DO_NOTHING, from_fields=["provider"], to_fields=["code"],
        null=True, editable=False, related_name="+",
    )
    basis_row = models.ForeignObject(
        "preservation.LegalBasis", on_delete=models.DO_NOTHING, from_fields=["legal_basis"], to_fields=["code"],
        null=True, editable=False, related_name="+",
    )

    # Lifecycle (docs/deadlines.md "Request states").
    state = models.CharField(
        _("state"), max_length=30, choices=RequestState.choices, default=RequestState.DRAFT
    )
    sent_at = models.DateTimeField(_("sent to Blink"), null=True, blank=True)
    received_on = models.DateField(_("received by Blink on"), null=True, blank=True)
    blink_reference = models.CharField(_("Blink's reference"), max_length=100, blank=True)
    extension_sent_at = models.DateTimeField(_("extension sent"), null=True, blank=True)
    extension_received_on = models.DateField(
        _("extension received by Blink on"), null=True, blank=True
    )
    legal_process_type = models.CharField(
        _("legal process"), max_length=20, choices=LegalProcessType.choices, blank=True
    )
    legal_process_served_on = models.DateField(_("legal process served on"), null=True, blank=True)
    production_confirmed_on = models.DateField(
        _("production order confirmed on"), null=True, blank=True,
        help_text=_("EPOC-PR: the day the issuing authority confirmed a production order was issued."),
    )
    production_order_received_at = models.DateTimeField(
        _("production order received by the provider"), null=True, blank=True
    )
    production_order_emergency = models.BooleanField(_("emergency production order"), default=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)

    # Computed by services.request_recompute; never edited by hand.
    retention_days = models.PositiveSmallIntegerField(
        _("retention (days)"), null=True, blank=True, editable=False
    )
    first_loss_at = models.DateTimeField(_("oldest clip deleted"), null=True, blank=True, editable=False)
    total_loss_at = models.DateTimeField(_("newest clip deleted"), null=True, blank=True, editable=False)
    expires_on = models.DateField(_("preservation expires"), null=True, blank=True, editable=False)
    extension_send_by = models.DateField(_("send extension by"), null=True, blank=True, editable=False)
    final_expires_on = models.DateField(
        _("extended preservation expires"), null=True, blank=True, editable=False
    )
    deadlines_provisional = models.BooleanField(_("provisional"), default=False, editable=False)
    preserved_until_production = models.BooleanField(
        _("preserved until production"), default=False, editable=False
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=URGENCY_CHOICES, blank=True, editable=False
    )
    urgency_rank = models.PositiveSmallIntegerField(
        _("urgency rank"), default=NO_URGENCY_RANK, editable=False
    )
    next_deadline_on = models.DateField(_("next deadline"), null=True, blank=True, editable=False)
    next_deadline_kind = models.CharField(
        _("kind of the next deadline"),
        max_length=20, choices=DeadlineKind.choices, blank=True, editable=False
    )
    # The next moment its computed fields or reminder rows change with time alone (an urgency
    # threshold, a deadline passing, a daily "file now" reminder's moment): the urgency refresh
    # recomputes only requests whose moment came (docs/deadlines.md "Urgency refresh"). Null:
    # nothing changes until a fact does. A row never computed is due at once.
    recompute_at = models.DateTimeField(
        _("next recomputation"), null=True, blank=True, editable=False, default=RECOMPUTE_AT_ONCE
    )

    objects = PreservationRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("preservation request")
        verbose_name_plural = _("preservation requests")
        ordering = ["urgency_rank", "next_deadline_on", "-created_at"]
        indexes = [
            # The dashboard's whole ORDER BY, so its first page reads 25 index entries, not
            # every request of the agency (bench/dashboard.py).
            models.Index(fields=["agency", "urgency_rank", "next_deadline_on", "-created_at", "-id"],
                         name="request_dashboard_order"),
            # Also covers the dashboard's group counts (an index-only scan of one agency).
            models.Index(fields=["agency", "state", "urgency", "next_deadline_on"],
                         name="request_dashboard_groups"),
            models.Index(fields=["agency", "assigned_to"], name="request_assignee"),
            # The dashboard's counts of a block of ids (selectors.bucket_counts): an index-only
            # scan of the block's range, or of every request when all are counted again.
            models.Index(fields=["agency", "id"], include=["state", "urgency", "next_deadline_on"],
                         name="request_count_blocks"),
            models.Index(fields=["next_deadline_on"]),
            models.Index(fields=["recompute_at"], name="request_recompute_at"),
            models.Index(fields=["case_number"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True)
                | models.Q(window_end__isnull=True)
                | models.Q(window_start__lt=models.F("window_end")),
                name="window_start_before_end",
            ),
        ]

    def __str__(self):
        return self.reference

    def save(self, *args, **kwargs):
        if not self._state.adding:
            return super().save(*args, **kwargs)
        for draw in range(REFERENCE_DRAWS):
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                taken = PreservationRequest.objects.across_agencies().filter(reference=self.reference).exists()
                if not taken or draw == REFERENCE_DRAWS - 1:
                    raise
                self.reference = new_request_reference()

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    @property
    def requests_content(self):
        return bool(set(self.data_types) & deadlines.CONTENT_DATA_TYPES)

    @property
    def has_legacy_device(self):
        return any(s.is_legacy for s in self.serials.all())

    @property
    def provider_name(self):
        if self.provider == catalogue.OTHER.code and self.provider_other_name:
            return self.provider_other_name
        known = catalogue.PROVIDERS_BY_CODE.get(self.provider)
        return str(known.name) if known else self.provider


class RequestRowQuerySet(AgencyScopedQuerySet):
    """Rows of a request: scoped by their request (read through its agency) or its agency."""

    scope_fields = ("request", "preservation.PreservationRequest.agency")


class DeviceSerial(models.Model):
    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="serials"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # docs/providers.md §6: a Blink serial, or another provider's identifier.
    kind = models.CharField(
        _("identifier type"), max_length=20, choices=catalogue.IDENTIFIER_TYPES, default=catalogue.BLINK_SERIAL
    )
    raw = models.CharField(_("serial as typed"), max_length=254)
    normalized = models.CharField(_("serial"), max_length=254, blank=True, db_index=True)
    generation = models.CharField(
        _("generation"),
        max_length=10,
        blank=True,
        choices=[(serials.AMAZON, _("Amazon-era")), (serials.LEGACY, _("Legacy"))],
    )
    model = models.CharField(
        _("device model"), max_length=30, blank=True, choices=serials.DEVICE_MODELS
    )
    warnings_acknowledged = models.BooleanField(_("warnings checked"), default=False)
    # No model was entered: ``model`` is the serial's model hint (rules/serials), kept apart so
    # the API can tell the two (docs/api.md §6).
    model_from_hint = models.BooleanField(_("model taken from the serial's hint"), default=False)

    objects = RequestRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("device serial")
        verbose_name_plural = _("device serials")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.display

    @property
    def parsed(self):
        return serials.parse_serial(self.raw)

    @property
    def display(self):
        if self.kind != catalogue.BLINK_SERIAL:
            return identifiers.check_identifier(self.kind, self.raw).display or self.raw
        return self.parsed.display or self.raw

    @property
    def is_legacy(self):
        return self.generation == serials.LEGACY or serials.is_legacy_pool_model(self.model)


class RequestEvent(models.Model):
    """The history of a request: every state change (who, when, from, to, why) and
    other events worth keeping in the case file (documents generated or downloaded)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        STATE_CHANGED = "state_changed", _("State changed")
        DOCUMENT_GENERATED = "document_generated", _("Document generated")
        DOCUMENT_DOWNLOADED = "document_downloaded", _("Document downloaded")
        APPROVED = "approved", _("Approved for sending")
        APPROVAL_REQUESTED = "approval_requested", _("Approval asked for")
        EMERGENCY_SENT = "emergency_sent", _("Sent without approval (emergency)")
        EMERGENCY_REVIEWED = "emergency_reviewed", _("Emergency send reviewed")
        ASSIGNED = "assigned", _("Assigned")
        CORRECTED = "corrected", _("Recorded fact corrected")

    request = models.ForeignKey(
        PreservationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=30, choices=RequestState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=30, choices=RequestState.choices, blank=True)
    reason = models.TextField(_("why"), blank=True, max_length=TEXT_LIMITS["reason"],
                              validators=[MaxLengthValidator(TEXT_LIMITS["reason"])])
    data = models.JSONField(_("data"), default=dict, blank=True)

    objects = RequestRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "pk"]

    def __str__(self):
        return "%s %s" % (self.request, self.get_action_display())
