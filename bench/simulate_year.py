"""A simulated year: does every reminder go out once, on time, through outages and clock changes?

    .venv/bin/python bench/simulate_year.py [--requests 5000] [--seed 2027]
        [--database postgres://postgres@127.0.0.1:5432/preserve_simulate | sqlite:////tmp/sim.sqlite3]

Method and figures: docs/simulation.md. On its own database (dropped and re-created), a seeded
population of agencies in four zones files requests over 365 days; each request lives through
events drawn from fixed distributions (drafting, sending, receipt 0-10 days later or never,
extension on time, late or never, corrections of receipt dates, legal process, withdrawal,
closing), under four legal bases. Frozen time goes straight to every whole minute at which a tick
has something to do (a reminder or a reclaim due, a zone's reminder hour, a fault, a moment an
event made due; at least once a day): a tick in between would send nothing. There the embedded
runner (``preservation.jobs.runner.Runner``) calls the real jobs of
``preservation.jobs.definitions`` on the production schedule, delivering mail over SMTP to a
local sink. Faults come on a fixed schedule: the runner stopped over a weekend, killed in the
middle of a sweep, the database connection dropped during a sweep, the mail server refusing for
two hours, two runners at once for a day. An oracle that knows only the rules
(``preservation.reminders.rules.plan`` on the facts the simulation itself applied, never the
reminder table) lists every reminder each request should have had and when, and compares it
with what the sink received.
"""
import argparse
import heapq
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/preserve_simulate"
START = datetime(2027, 1, 1, tzinfo=UTC)
DAYS = 365
END = START + timedelta(days=DAYS)
MINUTE = timedelta(minutes=1)
# The zones of the agencies: two with clock changes in the northern spring and autumn, one in
# the southern hemisphere (its changes in April and September), one without any.
ZONES = (
    ("America/New_York", "US", "en"),
    ("Europe/Berlin", "DE", "de"),
    ("Pacific/Auckland", "NZ", "en"),
    ("Asia/Kolkata", "IN", "en"),
)
# The legal basis each agency acts under (docs/providers.md), by its place in ZONES: New York
# under § 2703(f) (90 days, one extension of 90), Berlin under the EU preservation order (60,
# one of 30), Auckland under a national order of its own (45, one renewal of 45), Kolkata by a
# voluntary request under Blink's policy (90, one of 90). (days, renewals) of a national order.
BASES = ("us_2703f", "eu_epoc_pr", "national_order", "voluntary")
NATIONAL_ORDER = (45, 1)


def clock_terms(agency):
    """(days, extensions, extension days) of the agency's basis, from the rules."""
    from preservation.rules import catalogue, deadlines

    terms = deadlines.clock_terms(catalogue.legal_basis(BASES[agency % len(BASES)]), catalogue.BLINK,
                                  deadlines.NationalOrder(*NATIONAL_ORDER))
    return terms.days, terms.extensions, terms.extension_days


FAULT_KINDS = ("runner_stopped", "kill", "db_drop", "mail_refused", "two_runners")
ARMED = ("kill", "db_drop")  # armed from their start until a sweep fires them


class Killed(BaseException):
    """The worker process died (SIGKILL): nothing in the sweep may catch it."""


# --- The population and its events (pure, seeded) ---------------------------------------------


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    request: int = field(compare=False)
    action: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


def local(day, hour, minute, zone):
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def business_moment(rng, day, zone):
    return local(day, rng.randint(9, 17), rng.randint(0, 59), zone)


def local_day(instant, zone):
    return instant.astimezone(ZoneInfo(zone)).date()


def population(requests, seed, agencies):
    """Requests and their intended events, reproducible from the seed.

    Events are intentions: one the request's state no longer allows when its moment comes (a
    receipt recorded after the request lapsed) is refused by the services and counted."""
    rng = random.Random(seed)
    events, specs, seq = [], [], 0

    def add(at, index, action, **data):
        nonlocal seq
        seq += 1
        events.append(Event(at, seq, index, action, data))

    for index in range(requests):
        agency = rng.randrange(agencies)
        zone = ZONES[agency % len(ZONES)][0]
        days, extensions, extension_days = clock_terms(agency)
        created_day = (START + timedelta(days=rng.randrange(0, DAYS - 20))).date()
        created = business_moment(rng, created_day, zone)
        # The clips: from an hour to eight weeks old when the draft is written; some are near
        # their deletion, so the daily "file now" reminder runs while the draft waits.
        end = created - timedelta(hours=rng.uniform(1, 24 * 56))
        specs.append({"agency": agency, "zone": zone, "window_end": end,
                      "window_start": end - timedelta(minutes=rng.randint(5, 120))})
        add(created, index, "draft")
        draw = rng.random()
        if draw < 0.04:
            add(created + timedelta(days=rng.randint(1, 12), hours=rng.random()), index, "withdraw")
            continue
        if draw < 0.06:
            continue  # left as a draft
        wait = (timedelta(minutes=rng.randint(5, 300)) if draw < 0.75
                else timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600)))
        sent = created + wait
        add(sent, index, "send")
        sent_day = local_day(sent, zone)
        # Blink's receipt: 0-10 days after sending (most within 3), or never recorded.
        if rng.random() < 0.12:
            expiry = sent_day + timedelta(days=days)
            _end_of_clock(rng, add, index, zone, sent_day, expiry, served=0.3)
            continue
        received = sent_day + timedelta(days=min(rng.choices(range(11), weights=[5, 20, 20, 15, 10, 8, 6, 5, 4, 4, 3])[0], 10))
        recorded = business_moment(rng, received + timedelta(days=rng.choice([0, 0, 0, 1, 1, 2, 4])), zone)
        add(max(recorded, sent + MINUTE), index, "receipt", received_on=received)
        expiry = received + timedelta(days=days)
        if rng.random() < 0.08:
            # The receipt date was typed wrong and is corrected some days later (docs/corrections.md):
            # the clock moves by the difference.
            fix = received + timedelta(days=rng.choice([-3, -2, -1, 1, 2, 3]))
            add(business_moment(rng, received + timedelta(days=rng.randint(2, 20)), zone), index,
                "correct", field="received_on", value=max(fix, sent_day))
        fate = rng.random()
        if fate < 0.10:
            add(business_moment(rng, received + timedelta(days=rng.randint(5, 80)), zone), index,
                "withdraw")
            continue
        if fate < 0.35:
            served = received + timedelta(days=rng.randint(min(10, days - 5), days - 5))
            add(business_moment(rng, served, zone), index, "legal_process", served_on=served)
            add(business_moment(rng, served + timedelta(days=rng.randint(5, 40)), zone), index,
                "close", outcome="produced")
            continue
        if fate < 0.45 or not extensions:
            _end_of_clock(rng, add, index, zone, received, expiry, served=0 if fate < 0.45 else 0.5)
            continue
        send_by = expiry - timedelta(days=7)
        # The extension: mostly on time, some after the "send by" date but before expiry.
        ext_day = (send_by - timedelta(days=rng.randint(0, 20)) if rng.random() < 0.8
                   else send_by + timedelta(days=rng.randint(1, 7)))
        ext_sent = business_moment(rng, ext_day, zone)
        add(ext_sent, index, "send_extension")
        if rng.random() < 0.15:
            _end_of_clock(rng, add, index, zone, ext_day, expiry, served=0)
            continue
        ext_received = ext_day + timedelta(days=rng.choices(range(11), weights=[5, 20, 20, 15, 10, 8, 6, 5, 4, 4, 3])[0])
        recorded = ext_received + timedelta(days=rng.choice([0, 0, 1, 3]))
        add(business_moment(rng, recorded, zone), index, "extension_receipt", received_on=ext_received)
        if rng.random() < 0.08:
            fix = ext_received + timedelta(days=rng.choice([-2, -1, 1, 2]))
            add(business_moment(rng, recorded + timedelta(days=rng.randint(1, 15)), zone), index,
                "correct", field="extension_received_on", value=max(fix, ext_day))
        final = expiry + timedelta(days=extension_days)
        _end_of_clock(rng, add, index, zone, ext_received, final, served=0.6)
    events.sort()
    return specs, events


def _end_of_clock(rng, add, index, zone, since, expiry, served):
    """Legal process before ``expiry`` (with probability ``served``), otherwise the lapse the
    jobs detect, then closing the lapsed request some days later (or never)."""
    if rng.random() < served and (expiry - since).days > 2:
        day = since + timedelta(days=rng.randint(1, (expiry - since).days - 1))
        add(business_moment(rng, day, zone), index, "legal_process", served_on=day)
        return
    if rng.random() < 0.7:
        add(business_moment(rng, expiry + timedelta(days=rng.randint(2, 20)), zone), index,
            "close", outcome="lapsed")


# --- Faults on a schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    kind: str  # runner_stopped, kill, db_drop, mail_refused, two_runners
    start: datetime
    end: datetime
    after: int = 0  # kill / db_drop: after this many reminders of the sweep were mailed


def fault_schedule():
    def at(month, day, hour=0, minute=0):
        return datetime(2027, month, day, hour, minute, tzinfo=UTC)

    return [
        # A weekend: Friday 18:00 UTC to Monday 06:00 UTC.
        Fault("runner_stopped", at(6, 11, 18), at(6, 14, 6)),
        # Killed in the middle of a sweep: armed from a morning sweep of New York (13:00 UTC in
        # winter, 12:00 in summer), Berlin (07:00 / 06:00 UTC) or Auckland (19:00 / 20:00 UTC)
        # until the first sweep that mails ``after`` reminders (a few days at most), which
        # then dies after mailing the last of them and before marking it sent.
        Fault("kill", at(2, 16, 12, 59), at(2, 23), after=1),
        Fault("kill", at(4, 20, 5, 59), at(5, 4), after=2),
        Fault("kill", at(7, 21, 11, 59), at(7, 28), after=1),
        Fault("kill", at(9, 8, 19, 59), at(9, 15), after=1),
        Fault("kill", at(11, 10, 12, 59), at(11, 17), after=1),
        # The database server drops the sweep's connection (pg_terminate_backend) the same way.
        Fault("db_drop", at(3, 10, 12, 59), at(3, 17), after=1),
        Fault("db_drop", at(8, 25, 5, 59), at(9, 1), after=1),
        # Two hours of 451 from the mail server across New York's morning.
        Fault("mail_refused", at(5, 5, 11, 30), at(5, 5, 13, 30)),
        # Two runners for a whole day (and across Auckland's spring clock change).
        Fault("two_runners", at(9, 25, 0), at(9, 26, 0)),
    ]


# --- Running the year -------------------------------------------------------------------------


@dataclass
class Applied:
    """What the simulation did to one request, as facts at moments (the oracle's input)."""

    pk: int = 0
    zone: str = ""
    basis: str = ""
    corrections: int = 0
    timeline: list = field(default_factory=list)  # (at, facts dict)


class Simulation:
    def __init__(self, *, requests, seed, agencies=4, refresh_hours=1, faults=None, progress=False, digests=True,
                 analyze="never"):
        self.requests, self.seed, self.agencies = requests, seed, agencies
        self.digests = digests
        self.analyze = analyze
        self.refresh_hours = refresh_hours
        self.faults = fault_schedule() if faults is None else faults
        self.progress = progress
        self.now = START
        self.counts = Counter()
        self.window_pks = set()  # reminders mailed, then the worker died before marking them
        self.fired = []  # (fault, the minute it fired): what explains a delay
        self.fault_counts = Counter()  # kind: faults that fired
        self.two_runner_ticks = 0

    # Setup -------------------------------------------------------------------------------------

    def build_agencies(self):
        from preservation.models import Agency, ReminderPreference, Role, User
        from preservation.rules import catalogue

        self.officers, self.agency_rows = [], []
        for n in range(self.agencies):
            zone, country, language = ZONES[n % len(ZONES)]
            agency = Agency.objects.create(
                name="Sim agency %d" % n, country=country, time_zone=zone,
                default_legal_basis=catalogue.legal_basis(BASES[n % len(BASES)]).code,
                national_order_days=NATIONAL_ORDER[0], national_order_renewals=NATIONAL_ORDER[1])
            self.agency_rows.append(agency)
            officers = []
            for k, role in enumerate([Role.REQUESTER, Role.REQUESTER, Role.PARALEGAL, Role.SUPERVISOR]):
                user = User.objects.create(
                    username="sim%d_%d" % (n, k), email="sim%d_%d@agency%d.example" % (n, k, n),
                    agency=agency, role=role, language=language,
                )
                if role == Role.REQUESTER:
                    officers.append(user)
                elif not self.digests:
                    # The morning digest is not what the oracle checks (the sweep still runs).
                    ReminderPreference.objects.create(user=user, digest_enabled=False)
            self.officers.append(officers)

    # The clock ---------------------------------------------------------------------------------

    def move_to(self, instant):
        self.now = instant
        self.sink.now = instant  # the time the mail server stamps on what it receives
        self.traveller.move_to(instant)

    def run(self):
        import time_machine
        from django.conf import settings

        from preservation.jobs.runner import Runner
        from preservation.jobs.schedule import SCHEDULE, Periodic

        self.specs, events = population(self.requests, self.seed, self.agencies)
        self.applied = [Applied(zone=spec["zone"], basis=BASES[spec["agency"] % len(BASES)]) for spec in self.specs]
        schedule = tuple(Periodic(p.name, self.refresh_hours * 3600.0) if p.name == "refresh_urgency" else p
                         for p in SCHEDULE)
        self.stuck = timedelta(seconds=settings.PRESERVE["REMINDER_STUCK_SECONDS"])
        from django.db import connections
        from django.db.backends.signals import connection_created

        connection_created.connect(_fast_commits)
        # Production's connection age (settings/production.py): the runner's loop keeps its
        # connection across ticks for a minute of wall time, instead of one per tick.
        database = connections["default"].settings_dict
        conn_max_age = database.get("CONN_MAX_AGE", 0)
        database["CONN_MAX_AGE"] = 60
        self.started = started = time.perf_counter()
        travel = time_machine.travel(START - timedelta(days=1), tick=False)
        self.traveller = travel.start()
        try:
            self.build_agencies()
            clock = lambda: self.now.timestamp()
            self.runner = Runner(schedule=schedule, clock=clock)
            self.second = Runner(schedule=schedule, clock=clock)
            self._loop(events, schedule, clock)
        finally:
            travel.stop()
            connection_created.disconnect(_fast_commits)
            database["CONN_MAX_AGE"] = conn_max_age
        self.elapsed = time.perf_counter() - started

    def _landmarks(self, day):
        """Each zone's reminder hour on ``day``, as UTC instants (lapses found after the local
        midnight are acted on by then: the lapsed reminder is due at that hour)."""
        from django.conf import settings

        hour = settings.PRESERVE["REMINDER_HOUR"]
        return [local(day, hour, 0, zone) for zone, _c, _l in ZONES]

    def _next_due(self):
        """(the earliest scheduled reminder's moment, the moment the oldest "sending" row
        becomes reclaimable), each None if there is none."""
        from preservation.models import DeliveryState as D

        due, stuck = _earliest(
            "SELECT (SELECT MIN(due_at) FROM {table} WHERE state = %s),"
            " (SELECT MIN(claimed_at) FROM {table} WHERE state = %s)", [D.SCHEDULED, D.SENDING])
        return due, (stuck + self.stuck + timedelta(seconds=1)) if stuck else None

    def _loop(self, events, schedule, clock):
        heap = list(events)
        heapq.heapify(heap)
        marks = []
        for d in range(-1, DAYS + 2):
            marks += self._landmarks((START + timedelta(days=d)).date())
        marks += [f.start for f in self.faults] + [f.end for f in self.faults]
        marks = sorted(m for m in marks if m >= START)
        t = START
        last_day = None
        month = None
        while t < END:
            if self.analyze == "monthly" and t.month != month:
                month = t.month
                self._analyze()
            self.move_to(t)
            self.counts["landings"] += 1
            self.tick(t)
            _close_old_connections()  # as the runner's loop does after each tick
            if self.progress and t.date() != last_day and t.day == 1:
                last_day = t.date()
                print("  %s: %d events, %d messages, %.0f s" % (
                    t.date(), self.counts["events"], self.sink.delivered, time.perf_counter() - self.started),
                    flush=True)
            t = self._next_landing(t, heap, marks)

    def _analyze(self):
        """Planner statistics, as autovacuum keeps them in production: these machines run
        PostgreSQL with autovacuum off (docs/simulation.md §2). SQLite plans without them."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.counts["planner statistics gathered (ANALYZE)"] += 1

    def _next_landing(self, t, heap, marks):
        """The next whole minute at which a tick has something to do, applying on the way every
        event before it, each at its own moment. A tick where nothing is due does nothing, so
        the clock goes straight to the next moment one is: a reminder's (from the table), a
        "sending" row becoming reclaimable, a zone's reminder hour (lapses and digests), a
        fault's start or end, a moment an event made due, and at least once a day."""
        stopped = bool(self.active("runner_stopped", t))
        due, stuck = (None, None) if stopped else self._next_due()
        candidates = [t + timedelta(days=1)]
        for moment in (due, stuck):
            if moment is not None:
                candidates.append(moment)
        index = _bisect(marks, t)
        if index < len(marks):
            candidates.append(marks[index])
        nxt = _landing(t, min(candidates))
        while heap and heap[0].at <= nxt:
            event = heapq.heappop(heap)
            self.move_to(event.at)
            made_due = self.apply(event)
            if made_due is not None and not self.active("runner_stopped", event.at):
                # Due now (a catch-up, a moved deadline's notice) or before the next landing:
                # the runner ticking every minute would send it at the next minute.
                nxt = min(nxt, _landing(t, max(made_due, event.at)))
        return nxt

    def active(self, kind, t):
        return [f for f in self.faults if f.kind == kind and f.start <= t < f.end]

    def tick(self, t):
        from django.db import connections

        self.sink.refusing = bool(self.active("mail_refused", t))
        stopped = self.active("runner_stopped", t)
        if stopped:
            self.counts["ticks skipped (runner stopped)"] += 1
            self._fired(stopped[0], t)
            return
        for fault in self.active("kill", t) + self.active("db_drop", t):
            if fault not in self.fault_counts:
                self._arm(fault)
        refused = self.sink.refused
        if self.active("two_runners", t):
            errors = []

            def second():
                try:
                    self.second.tick()
                except BaseException as error:
                    errors.append(error)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=second)
            thread.start()
            self._tick_one(self.runner)
            thread.join()
            self.two_runner_ticks += 1
            self._fired(self.active("two_runners", t)[0], t)
            if errors:
                raise errors[0]
        else:
            self._tick_one(self.runner)
        if self.sink.refused > refused:
            self._fired(self.active("mail_refused", t)[0], t)

    def explaining(self):
        """The faults a delay may be blamed on: those with a fixed window as scheduled, a kill
        or dropped connection only at the minute it actually fired."""
        return ([f for f in self.faults if f.kind not in ARMED]
                + [replace(f, start=t, end=t + MINUTE) for f, t in self.fired if f.kind in ARMED])

    def _fired(self, fault, t):
        if fault not in self.fault_counts:
            self.fault_counts[fault] = 1
            self.fired.append((fault, t))
            self.counts["faults fired: %s" % fault.kind] += 1

    def _tick_one(self, runner):
        from django.db import connection

        from preservation.jobs.runner import Runner

        try:
            runner.tick()
        except Killed:
            # The process died; a new one starts with a fresh connection and an empty memory.
            connection.close()
            self.runner = Runner(schedule=runner.schedule, clock=runner.clock)
        finally:
            self._disarm()

    def _arm(self, fault):
        """Make this sweep fail after ``fault.after`` reminders were mailed (a sweep that mails
        fewer leaves it armed for the next)."""
        from preservation.reminders import emails

        original = emails.send_reminder
        mailed = []

        def send_reminder(reminder, recipients, *, late, connection):
            original(reminder, recipients, late=late, connection=connection)
            mailed.append(reminder.pk)
            if len(mailed) < fault.after:
                return
            self.window_pks.add(reminder.pk)
            self._fired(fault, self.now)
            emails.send_reminder = original
            if fault.kind == "kill":
                raise Killed()
            _drop_connection()  # the server went away under the open connection

        emails.send_reminder = send_reminder
        self._original_send = original

    def _disarm(self):
        from preservation.reminders import emails

        if getattr(self, "_original_send", None) is not None:
            emails.send_reminder = self._original_send
            self._original_send = None

    # Events ------------------------------------------------------------------------------------

    def apply(self, event):
        from django.core.exceptions import ValidationError

        from preservation.core import scoping
        from preservation.models import PreservationRequest
        from preservation.requests import services

        spec, record = self.specs[event.request], self.applied[event.request]
        officer = self.officers[spec["agency"]][event.request % 2]
        now = self.now
        self.counts["events"] += 1
        try:
            with scoping.all_agencies():
                if event.action == "draft":
                    request = services.request_save_draft(
                        agency=self.agency_rows[spec["agency"]], actor=officer, now=now, fields=_draft_fields(spec, officer, event.request),
                        serial_rows=[{"raw": "G8T1-SJ02-3294-01VR"}],
                    )
                    record.pk = request.pk
                else:
                    # Every service locks and reads the row afresh before anything else: it
                    # needs only which row, and whose.
                    request = PreservationRequest(pk=record.pk, agency_id=self.agency_rows[spec["agency"]].pk)
                    request = self._transition(services, request, event, officer, now)
                    if request is None:
                        return None
        except ValidationError:
            self.counts["events refused (state moved on)"] += 1
            return None
        self.counts["event: %s" % event.action] += 1
        facts = _facts_of(request)
        if event.action == "correct":
            record.corrections += 1
            facts["corrected"] = record.corrections  # the how-manyth correction of the request
        record.timeline.append((now, facts))
        return self._request_next_due(record.pk)

    def _request_next_due(self, pk):
        from preservation.models import DeliveryState as D

        return _earliest("SELECT MIN(due_at) FROM {table} WHERE request_id = %s AND state = %s", [pk, D.SCHEDULED])[0]

    def _transition(self, services, request, event, officer, now):
        data = event.data
        if event.action == "send":
            return services.request_send(preservation_request=request, actor=officer, now=now)
        if event.action == "receipt":
            return services.request_record_receipt(preservation_request=request, actor=officer, received_on=data["received_on"], now=now)
        if event.action == "correct":
            return services.request_correct(preservation_request=request, actor=officer,
                                            changes={data["field"]: data["value"]}, reason="Typed the wrong day",
                                            now=now)
        if event.action == "send_extension":
            return services.request_send_extension(preservation_request=request, actor=officer, now=now)
        if event.action == "extension_receipt":
            return services.request_record_extension_receipt(preservation_request=request, actor=officer, received_on=data["received_on"], now=now)
        if event.action == "legal_process":
            return services.request_record_legal_process(preservation_request=request, actor=officer, process_type="search_warrant", served_on=data["served_on"], now=now)
        if event.action == "withdraw":
            return services.request_withdraw(preservation_request=request, actor=officer, reason="Case closed", now=now)
        if event.action == "close":
            return services.request_close(preservation_request=request, actor=officer, outcome=data["outcome"], now=now)
        raise ValueError(event.action)


def _earliest(sql, params):
    """The driver's own reads of the reminder table, one row of moments: in plain SQL, as they
    run after every event and at every landing, and are not the product's (the jobs and
    services use the ORM)."""
    from django.db import connection
    from django.utils.dateparse import parse_datetime

    from preservation.models import Reminder

    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(Reminder._meta.db_table)), params)
        row = cursor.fetchone()
    # SQLite hands back text in UTC.
    return [parse_datetime(v).replace(tzinfo=UTC) if isinstance(v, str) else v for v in row]


def _close_old_connections():
    """Django's ``close_old_connections``, which the runner's loop calls after each tick. It
    closes a connection that had errors only if it is no longer usable, and Django holds a
    SQLite connection always usable: the one a dropped-connection fault closed under it
    (``_drop_connection``) is found closed here, as Django finds a PostgreSQL connection the
    server ended, so the next query opens a new one."""
    import sqlite3

    from django.db import close_old_connections, connection

    if connection.vendor == "sqlite" and connection.connection is not None:
        try:
            connection.connection.total_changes  # noqa: B018 - raises once the connection is closed
        except sqlite3.ProgrammingError:
            connection.close()
    close_old_connections()


def _drop_connection():
    """The database server ends this process's connection, as a restart does: on PostgreSQL
    ``pg_terminate_backend`` from another connection, on SQLite (no server) the connection
    closed under Django, which the end of the tick notices (``_close_old_connections``)."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        connection.connection.close()
        return
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def _fast_commits(sender, connection, **kwargs):
    """A commit need not wait for the disk: the simulation's database is thrown away, and the
    server crashing is not among the faults simulated (a dropped connection is)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit TO off")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")


def _landing(t, moment):
    """The whole minute a runner ticking every minute first sees ``moment`` (after ``t``)."""
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + MINUTE
    return max(moment, t + MINUTE)


def _bisect(marks, t):
    import bisect

    return bisect.bisect_right(marks, t)


def _draft_fields(spec, officer, index):
    return {
        "requester_name": officer.username, "requester_email": officer.email,
        "case_number": "SIM-%05d" % index, "data_types": ["video_clips", "subscriber"],
        "window_start": spec["window_start"], "window_end": spec["window_end"],
        "window_zone": spec["zone"], "account_email": "owner%d@example.com" % index,
        "account_country": "US" if index % 3 else "DE",
    }


def _facts_of(request):
    """The facts the simulation applied (what a person typed and the state reached); the
    oracle derives every date from these with the rules."""
    return {
        "state": request.state, "sent_at": request.sent_at, "received_on": request.received_on,
        "extension_sent_at": request.extension_sent_at,
        "extension_received_on": request.extension_received_on,
        "window_start": request.window_start, "window_end": request.window_end,
        "country": request.account_country, "data_types": list(request.data_types or []),
    }


# --- The oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    request: int  # index in the population
    key: tuple
    at: datetime  # when it should go out
    due_at: datetime  # its moment by the rules (``at`` is later for a catch-up)
    zone: str
    until: datetime = END  # the facts it follows from held until then


def rule_facts(facts, zone, settings, basis=BASES[0]):
    """rules.Facts from the applied facts, every date computed by the rules module under the
    agency's legal basis."""
    from preservation.reminders.rules import Facts
    from preservation.rules import catalogue, deadlines

    sent_on = local_day(facts["sent_at"], zone) if facts["sent_at"] else None
    content = "video_clips" in facts["data_types"] or not facts["data_types"]
    report = deadlines.compute_report(
        start=facts["window_start"], end=facts["window_end"], now=START, country=facts["country"],
        content=content, received_on=facts["received_on"], sent_on=sent_on, zone=zone,
        extended=bool(facts["extension_received_on"]), lead_days=settings.PRESERVE["EXTENSION_LEAD_DAYS"],
        provider=catalogue.BLINK, basis=catalogue.legal_basis(basis), national=deadlines.NationalOrder(*NATIONAL_ORDER))
    clock = report.clock
    return Facts(
        state=facts["state"], zone=zone, sent_on=sent_on,
        extension_sent_on=local_day(facts["extension_sent_at"], zone) if facts["extension_sent_at"] else None,
        extension_send_by=clock.extension_send_by if clock else None,
        expires_on=clock.expires_on if clock else None,
        final_expires_on=clock.final_expires_on if clock else None,
        first_loss_at=report.retention.first_loss_at, total_loss_at=report.retention.total_loss_at,
        content=content, legacy=False,
    )


def _moving(facts):
    """The dates a correction can move (a notice goes out when one of them does)."""
    return (facts.first_loss_at, facts.total_loss_at, facts.extension_send_by, facts.expires_on,
            facts.final_expires_on)


def expected_reminders(applied, settings):
    """Every reminder each request should have had, and when, from the rules alone."""
    from preservation.models import CLOCK_STATES, ReminderKind, RequestState
    from preservation.reminders.rules import Rules, plan

    p = settings.PRESERVE
    rules = Rules(hour=p["REMINDER_HOUR"], lead_days=tuple(p["REMINDER_LEAD_DAYS"]),
                  ack_missing_days=p["ACK_MISSING_DAYS"], extension_ack_missing_days=p["EXTENSION_ACK_MISSING_DAYS"],
                  escalation_days=p["ESCALATION_DAYS"], high_days=p["URGENCY_HIGH_DAYS"])
    DEADLINE_MOVED = ReminderKind.DEADLINE_MOVED
    expected, states = [], {}
    for index, record in enumerate(applied):
        segments = [(at, rule_facts(f, record.zone, settings, record.basis)) for at, f in record.timeline]
        # A correction that moved a deadline is announced to everyone on the request at once
        # (docs/corrections.md), numbered by the corrections made so far.
        for i, (at, f) in enumerate(record.timeline):
            if f.get("corrected") and i and _moving(segments[i][1]) != _moving(segments[i - 1][1]):
                expected.append(Expected(index, (DEADLINE_MOVED, f["corrected"]), at, at, record.zone))
        segments = _with_lapse(segments, record.zone, CLOCK_STATES, RequestState.LAPSED)
        states[index] = [(at, facts.state) for at, facts in segments]
        done, pending = set(), set()
        for i, (at, facts) in enumerate(segments):
            until = segments[i + 1][0] if i + 1 < len(segments) else END
            still = set()
            for item in plan(facts, now=at, rules=rules):
                if item.key in done:
                    continue
                if item.due_at > at:
                    moment = item.due_at
                elif item.catch_up or item.key in pending:
                    moment = at
                else:
                    continue
                if moment < until:
                    done.add(item.key)
                    if moment < END:
                        expected.append(Expected(index, item.key, moment, item.due_at, record.zone, until))
                else:
                    still.add(item.key)
            pending = still
    return expected, states


def _with_lapse(segments, zone, clock_states, lapsed):
    """Add the lapse the jobs must detect: at the local midnight after the expiry of a request
    still on its clock then."""
    out = []
    for i, (at, facts) in enumerate(segments):
        out.append((at, facts))
        until = segments[i + 1][0] if i + 1 < len(segments) else END
        expiry = facts.final_expires_on or facts.expires_on
        if facts.state in clock_states and expiry is not None:
            moment = local(expiry + timedelta(days=1), 0, 0, zone)
            if at <= moment < until:
                out.append((moment, replace(facts, state=lapsed)))
    return out


MESSAGE_ID = re.compile(r"<preserve\.reminder\.(\d+)\.")


def reminder_pks_by_message_id(rows):
    """Message-ID -> reminder pk. Message-IDs are opaque (docs/security.md "Opaque identifiers"):
    each reminder's is worked out for every possible recipient; older code put the pk in it."""
    from django.contrib.auth import get_user_model

    from preservation.reminders.emails import message_id

    keys = ["requester"] + ["u%d" % pk for pk in get_user_model().objects.values_list("pk", flat=True)]
    return {message_id("reminder", pk, key): pk for pk in rows for key in keys}


def _reminder_pk(mid, known):
    if mid in known:
        return known[mid]
    match = MESSAGE_ID.match(mid or "")
    return int(match.group(1)) if match else None  # None: a digest


def compare(sim, expected, states, settings):
    """The figures: what the sink received against what the rules call for."""
    from preservation.core import scoping
    from preservation.models import Reminder, RequestState

    S = RequestState
    by_pk = {record.pk: index for index, record in enumerate(sim.applied)}
    with scoping.all_agencies():
        rows = {r.pk: r for r in Reminder.objects.all()}
        known = reminder_pks_by_message_id(rows)
    copies = Counter((mid, rcpt) for mid, rcpt, _at, _s in sim.sink.received)
    first = {}
    for mid, _rcpt, at, _subject in sim.sink.received:
        pk = _reminder_pk(mid, known)
        if pk is None:
            continue  # a digest
        row = rows[pk]
        key = (by_pk[row.request_id], (row.kind, row.lead_days))
        if key not in first or at < first[key][0]:
            first[key] = (at, row)
    duplicated = window = 0
    for (mid, _rcpt), n in copies.items():
        if n > 1:
            pk = _reminder_pk(mid, known)
            if pk is not None and pk in sim.window_pks:
                window += n - 1
            else:
                duplicated += n - 1
    fig = Counter()
    late, wrong_hour, longest, unexplained, unmarked = [], 0, timedelta(0), 0, 0
    late_after = timedelta(hours=settings.PRESERVE["REMINDER_LATE_HOURS"])
    hour = settings.PRESERVE["REMINDER_HOUR"]
    expected_keys = set()
    for item in expected:
        expected_keys.add((item.request, item.key))
        got = first.get((item.request, item.key))
        if got is None:
            if _superseded(sim.faults, item):
                fig["superseded"] += 1
            else:
                fig["missed"] += 1
                sim.misses.append(item)
            continue
        at, row = got
        delay = at - item.at
        if delay > MINUTE:
            late.append(delay)
            longest = max(longest, delay)
            if not _explained(sim.explaining(), item.at, at, sim.stuck):
                unexplained += 1
                sim.unexplained.append((item, at))
            if at - item.due_at > late_after and row.state != "late":
                unmarked += 1
        elif item.at == item.due_at and item.key[0] != "deadline_moved":  # that one goes at once
            wall = at.astimezone(ZoneInfo(item.zone))
            if (wall.hour, wall.minute) != (hour, 0) or wall.date() != item.due_at.astimezone(ZoneInfo(item.zone)).date():
                wrong_hour += 1
        if item.at == item.due_at and item.key[0] != "deadline_moved" and _clock_change_day(item.due_at, item.zone):
            fig["on clock-change days"] += 1
    unexpected = after_over = 0
    over = {S.EXTENDED: {"extension_due", "escalation", "ack_missing", "extension_ack_missing"},
            S.LEGAL_PROCESS_SERVED: None, S.CLOSED: None, S.WITHDRAWN: None}
    for key, (at, row) in first.items():
        if key in expected_keys:
            continue
        unexpected += 1
        sim.unexpected.append((key, at))
        state = _state_at(states.get(key[0], []), at)
        kinds = over.get(state, set())
        if kinds is None or row.kind in kinds:
            after_over += 1
    return {
        "expected": len(expected) - fig["superseded"], "superseded": fig["superseded"],
        "sent": len(expected) - fig["missed"] - fig["superseded"], "missed": fig["missed"],
        "duplicated": duplicated, "window": window, "late": len(late),
        "longest_h": longest.total_seconds() / 3600, "unexplained": unexplained,
        "unmarked": unmarked, "wrong_hour": wrong_hour, "after_over": after_over,
        "unexpected": unexpected, "clock_change": fig["on clock-change days"],
        "messages": len(sim.sink.received), "refused": sim.sink.refused,
        "faults_scheduled": Counter(f.kind for f in sim.faults),
        "faults_fired": Counter(f.kind for f in sim.fault_counts),
    }


def _superseded(faults, item):
    """Due while the runner was stopped, and moot before it came back: someone acted on the
    request meanwhile (sent the draft, recorded the extension's receipt before the lapse was
    detected), so the rules no longer call for it and sending it late would be wrong."""
    return any(f.kind == "runner_stopped" and f.start <= item.at < f.end and item.until <= f.end
               for f in faults)


def _explained(faults, due, sent, stuck):
    """A late reminder is explained by a fault it fell in, and sent at most one stuck delay
    (the reclaim) and one sweep after the fault ended."""
    for fault in faults:
        if fault.start - MINUTE <= due <= fault.end and sent <= fault.end + stuck + 2 * MINUTE:
            return True
    return False


def _clock_change_day(instant, zone):
    tz = ZoneInfo(zone)
    day = instant.astimezone(tz).date()
    start = datetime.combine(day, dtime(0), tzinfo=tz)
    return start.utcoffset() != datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=tz).utcoffset()


def _state_at(timeline, at):
    state = None
    for moment, value in timeline:
        if moment <= at:
            state = value
    return state


# --- Entry points -----------------------------------------------------------------------------


def simulate(*, requests, seed, refresh_hours=1, progress=False, faults=None, digests=True, analyze="never"):
    """Run the year on the configured database; returns (simulation, figures). The caller
    points Django's email at the sink: ``simulate`` does it through ``override_settings``."""
    from _smtp_sink import Sink
    from django.conf import settings
    from django.test.utils import override_settings

    sim = Simulation(requests=requests, seed=seed, refresh_hours=refresh_hours, progress=progress, faults=faults,
                     digests=digests, analyze=analyze)
    sim.misses, sim.unexplained, sim.unexpected = [], [], []
    sim.sink = Sink()
    port = sim.sink.start()
    try:
        # The audit checkpoints of the simulated year go to a file of their own, thrown away.
        with tempfile.TemporaryDirectory(prefix="simulate-year-") as scratch, override_settings(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False,
                EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="", EMAIL_TIMEOUT=10,
                AUDIT_CHECKPOINT_PATH=str(Path(scratch) / "audit-checkpoints.jsonl")):
            sim.run()
    finally:
        sim.sink.stop()
    expected, states = expected_reminders(sim.applied, settings)
    figures = compare(sim, expected, states, settings)
    figures["requests"] = requests
    figures["events"] = sim.counts["events"]
    figures["elapsed"] = sim.elapsed
    return sim, figures


def report_lines(sim, f):
    per_second = f["sent"] / f["elapsed"] if f["elapsed"] else 0
    lines = [
        "requests %d" % f["requests"],
        "events %d" % f["events"],
        "expected %d" % f["expected"],
        "sent %d" % f["sent"],
        "missed %d" % f["missed"],
        "superseded during the outage %d" % f["superseded"],
        "duplicated %d" % f["duplicated"],
        "duplicated in the send-then-mark window %d" % f["window"],
        "late %d (longest %.1f h)" % (f["late"], f["longest_h"]),
        "late beyond the outage plus one sweep %d" % f["unexplained"],
        "late by more than a day and not marked late %d" % f["unmarked"],
        "wrong local hour %d (of %d on clock-change days)" % (f["wrong_hour"], f["clock_change"]),
        "after extended/served/closed %d" % f["after_over"],
        "unexpected %d" % f["unexpected"],
        "messages delivered %d (refused by the mail server %d)" % (f["messages"], f["refused"]),
        *["fault %s fired %d of %d%s" % (kind, f["faults_fired"][kind], f["faults_scheduled"][kind], {
            "runner_stopped": " (ticks skipped %d)" % sim.counts["ticks skipped (runner stopped)"],
            "mail_refused": " (deliveries refused %d)" % f["refused"],
            "two_runners": " (ticks with two runners %d)" % sim.two_runner_ticks,
        }.get(kind, "")) for kind in FAULT_KINDS],
        "elapsed %.1f s" % f["elapsed"],
        "reminders per second %.1f" % per_second,
    ]
    lines += ["%s %d" % (name, n) for name, n in sorted(sim.counts.items())
              if name != "events" and not name.startswith(("faults fired", "ticks skipped"))]
    return lines


def prepare_database(url):
    """Drop and re-create the simulation's own database, then migrate it."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "CRITICAL")
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite://", 1)[1])
        if path.exists():
            path.unlink()
    else:
        import psycopg

        server, _slash, name = url.rpartition("/")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise SystemExit("database name must be a plain identifier: %r" % name)
        with psycopg.connect("%s/postgres" % server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS %s" % name)
            conn.execute("CREATE DATABASE %s" % name)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main():
    from _report import add_markdown_argument, append_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--database", default=DEFAULT_DATABASE,
                        help="its own database, dropped and re-created (PostgreSQL or sqlite:////path)")
    parser.add_argument("--refresh-hours", type=float, default=1,
                        help="interval of the urgency refresh in simulated hours (production's: 1)")
    parser.add_argument("--no-digests", action="store_true",
                        help="turn the morning digest off for every user (the suite's small year)")
    parser.add_argument("--analyze", choices=["never", "monthly"], default="never",
                        help="PostgreSQL: gather planner statistics at the start of each simulated month, as "
                             "autovacuum would (these machines run with it off)")
    add_markdown_argument(parser)
    args = parser.parse_args()
    prepare_database(args.database)
    import logging

    logging.disable(logging.CRITICAL)
    sim, figures = simulate(requests=args.requests, seed=args.seed, refresh_hours=args.refresh_hours, progress=True,
                            digests=not args.no_digests, analyze=args.analyze)
    for line in report_lines(sim, figures):
        print(line)
    for item in sim.misses[:10]:
        print("  missed:", item)
    for item in sim.unexplained[:10]:
        print("  late, unexplained:", item)
    for item in sim.unexpected[:10]:
        print("  unexpected:", item)
    notes = "%d requests, seed %d, 365 simulated days, %s%s" % (
        args.requests, args.seed, "SQLite" if args.database.startswith("sqlite") else "own PostgreSQL database",
        ", ANALYZE monthly" if args.analyze == "monthly" else "")
    append_rows(args.markdown, "simulate_year", [
        ("reminders expected", figures["expected"], "reminders", notes),
        ("missed", figures["missed"], "reminders", notes),
        ("duplicated (beyond the send-then-mark window)", figures["duplicated"], "reminders", notes),
        ("late", figures["late"], "reminders", notes),
        ("longest delay", round(figures["longest_h"], 1), "h", notes),
        ("wrong local hour", figures["wrong_hour"], "reminders", notes),
        ("elapsed", round(figures["elapsed"], 1), "s", notes),
        ("reminders per second", round(figures["sent"] / figures["elapsed"], 1), "reminders/s", notes),
    ])
    bad = (figures["missed"] or figures["duplicated"] or figures["wrong_hour"] or figures["after_over"]
           or figures["unexplained"] or figures["unmarked"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
