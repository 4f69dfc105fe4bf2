"""What keeps the dashboard fast without ever showing stale or unescaped data: the groups'
counts cached under the agency's requests_version, rows built once in Python, the filter form
rendered without a template per input, the signed-in user read with their agency."""
import datetime as dt
import uuid

import pytest
import time_machine
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from preservation.models import Agency, PreservationRequest, RequestState, bump_requests_version
from preservation.models.core import new_request_reference
from preservation.core import scoping
from preservation.requests import selectors, services
from preservation.templatetags.preserve_ui import light_widget
from tests.factories import AgencyFactory, UserFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)


def version(agency):
    return Agency.objects.values_list("requests_version", flat=True).get(pk=agency.pk)


def counts_for(user):
    user = type(user).objects.select_related("agency").get(pk=user.pk)  # as a page reads it
    return selectors.bucket_counts(user, selectors.agency_today(user))


# --- The version moves after every committed change, and only then ------------------------------


def test_a_new_request_moves_the_version_on_when_it_commits(make_request, agency,
                                                           django_capture_on_commit_callbacks):
    before = version(agency)
    with django_capture_on_commit_callbacks() as callbacks:
        make_request()
        assert version(agency) == before  # not inside the transaction: no lock on the agency row
    assert callbacks  # one per save of the new request (the factory saves it twice)
    for callback in callbacks:
        callback()
    assert version(agency) == before + 1  # once per transaction, however often it saved


@pytest.mark.parametrize("rolled_back", ["first", "second"])
def test_a_savepoint_rolled_back_never_takes_the_transactions_bump_with_it(
        rolled_back, make_request, agency, django_capture_on_commit_callbacks):
    from django.db import transaction

    made = make_request()
    before = version(agency)

    def save(note):
        made.notes = note
        made.save()

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            for which in ("first", "second"):
                if which == rolled_back:
                    with pytest.raises(RuntimeError), transaction.atomic():
                        save(which)
                        raise RuntimeError("rolled back")
                else:
                    save(which)
    assert version(agency) == before + 1


def test_a_rolled_back_change_leaves_the_version_alone(make_request, agency, django_capture_on_commit_callbacks):
    from django.db import transaction

    before = version(agency)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_request()
            raise RuntimeError("rolled back")
    assert version(agency) == before


def test_an_edit_and_a_deletion_move_it_on(make_request, agency, django_capture_on_commit_callbacks):
    request = make_request()
    start = version(agency)
    with django_capture_on_commit_callbacks(execute=True):
        request.notes = "edited"
        request.save()
    assert version(agency) == start + 1
    with django_capture_on_commit_callbacks(execute=True):
        PreservationRequest.objects.for_agency(agency).filter(pk=request.pk).get().delete()
    assert version(agency) == start + 2


def test_only_the_changed_requests_agency_moves_on(make_request, agency, django_capture_on_commit_callbacks):
    other = AgencyFactory()
    before = version(other)
    with django_capture_on_commit_callbacks(execute=True):
        make_request()
    assert version(other) == before


@pytest.mark.parametrize("write", ["update", "bulk_update", "bulk_create", "delete"])
def test_bulk_writes_move_the_version_on_too_so_no_path_leaves_the_counts_stale(
        write, make_request, agency, django_capture_on_commit_callbacks):
    other = AgencyFactory()
    made = make_request()
    before, before_other = version(agency), version(other)
    rows = PreservationRequest.objects.for_agency(agency).filter(pk=made.pk)
    with django_capture_on_commit_callbacks(execute=True):
        if write == "update":
            rows.update(case_number="CR-BULK")
        elif write == "bulk_update":
            made.case_number = "CR-BULK"
            with scoping.all_agencies():  # Django's bulk_update filters by pk alone
                PreservationRequest.objects.bulk_update([made], ["case_number"])
        elif write == "bulk_create":
            copy = rows.get()
            copy.pk, copy.public_id, copy.reference = None, uuid.uuid4(), new_request_reference()
            PreservationRequest.objects.bulk_create([copy])
        else:
            rows.delete()
    assert version(agency) > before
    assert version(other) == before_other


def test_the_counts_follow_a_bulk_update_at_once(make_request, user, django_capture_on_commit_callbacks):
    with time_machine.travel(NOON, tick=False):
        made = make_request()
        with django_capture_on_commit_callbacks(execute=True):
            pass
        first = counts_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            PreservationRequest.objects.for_agency(made.agency).filter(pk=made.pk).update(
                state=RequestState.WITHDRAWN)
        assert counts_for(user) != first


def test_saving_an_agency_read_earlier_never_writes_an_old_version_back(agency):
    stale = Agency.objects.get(pk=agency.pk)
    bump_requests_version(agency.pk)
    stale.name = "Renamed in the admin"
    stale.save()
    fresh = Agency.objects.get(pk=agency.pk)
    assert (fresh.name, fresh.requests_version) == ("Renamed in the admin", stale.requests_version + 1)


# --- The counts: cached per agency, version and day -------------------------------------------------


def test_counts_are_read_once_then_cached_until_a_change_commits(user, make_request,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_request(state=RequestState.DRAFT)
    with CaptureQueriesContext(connection) as first:
        assert counts_for(user)["total"] == 1
    with CaptureQueriesContext(connection) as second:
        assert counts_for(user)["total"] == 1
    assert len(first) - len(second) == 1  # the counting query, once
    with django_capture_on_commit_callbacks(execute=True):
        make_request(state=RequestState.DRAFT)
    assert counts_for(user)["total"] == 2


def test_a_service_transition_shows_in_the_groups_at_once(user, make_request, django_capture_on_commit_callbacks):
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            request = make_request(state=RequestState.SUBMITTED, sent_at=NOON - dt.timedelta(days=3))
            services.request_recompute(preservation_request=request, now=NOON)
        assert counts_for(user)["preserving"] == 0
        with django_capture_on_commit_callbacks(execute=True):
            services.request_record_receipt(preservation_request=request, actor=user, received_on=NOON.date())
        assert counts_for(user)["preserving"] == 1


def test_a_new_day_counts_afresh_without_any_change(user, make_request, django_capture_on_commit_callbacks):
    # Due in 8 days: not "due this week" today, but tomorrow it is.
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            request = make_request(state=RequestState.PRESERVING)
            request.next_deadline_on = NOON.date() + dt.timedelta(days=8)
            request.save(update_fields=["next_deadline_on"])
        assert counts_for(user)["due_week"] == 0
    with time_machine.travel(NOON + dt.timedelta(days=1), tick=False):
        assert counts_for(user)["due_week"] == 1


def test_each_agency_has_its_own_counts(user, make_request, django_capture_on_commit_callbacks):
    other_user = UserFactory(agency=AgencyFactory())
    with django_capture_on_commit_callbacks(execute=True):
        make_request()
        make_request()
        make_request(created_by=other_user)
    assert counts_for(user)["total"] == 2
    assert counts_for(other_user)["total"] == 1


def test_someone_without_an_agency_counts_nothing(db):
    loner = UserFactory(agency=None)
    assert selectors.bucket_counts(loner, NOON.date())["total"] == 0


# --- Rows and the filter form ------------------------------------------------------------------------


def test_row_values_are_escaped(signed_in, make_request):
    make_request(case_number='<script>alert("x")</script>')
    body = signed_in.get(reverse("preservation:dashboard")).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_a_row_without_a_deadline_or_urgency_shows_dashes(signed_in, make_request):
    request = make_request(state=RequestState.CLOSED, urgency="", next_deadline_on=None, case_number="")
    body = signed_in.get(reverse("preservation:dashboard")).content.decode()
    row = body[body.index(request.reference):]
    row = row[:row.index("</tr>")]
    assert row.count("\N{EM DASH}") == 2  # urgency, next deadline (no CRIM# line at all)
    assert "Nothing to do" in row


class Filters(forms.Form):
    text = forms.CharField(required=False, max_length=20, help_text="Help")
    number = forms.IntegerField(required=False, min_value=0, max_value=9)
    needed = forms.CharField(max_length=5)
    choice = forms.ChoiceField(required=False, choices=[("", "Any"), ("a", "A & co"), ("b", "B")])
    typed = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "-"), (1, "One")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"


@pytest.mark.parametrize("data, initial", [
    (None, {}),
    (None, {"text": 'say "hi" <b>', "number": 3, "choice": "a", "typed": 1}),
    ({"text": "x" * 30, "number": "-4", "needed": "", "choice": "zz", "typed": "1"}, None),  # every error
    ({"text": "ok", "number": "2", "needed": "yes", "choice": "b", "typed": ""}, None),
])
def test_the_light_widget_renders_what_django_renders(data, initial, assert_html_equal):
    form = Filters(data, initial=initial)
    form.is_valid()
    for name in form.fields:
        assert_html_equal(str(light_widget(form[name])), str(form[name]))


def test_the_light_widget_refuses_what_it_does_not_render():
    class Other(forms.Form):
        flag = forms.BooleanField()
        many = forms.MultipleChoiceField(choices=[("a", "A")])
        grouped = forms.ChoiceField(choices=[("Group", [("a", "A")])])

    form = Other()
    for name in ("flag", "many", "grouped"):
        with pytest.raises(TypeError):
            light_widget(form[name])


class Mixed(forms.Form):
    text = forms.CharField(max_length=20, help_text="Say <em>what</em>")
    optional = forms.CharField(required=False, label="Maybe & so")
    number = forms.IntegerField(required=False, min_value=0, max_value=9)
    mail = forms.EmailField(required=False)
    when = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    choice = forms.ChoiceField(choices=[("", "Any"), ("a", "A & co")], help_text="Pick")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Long")
    flag = forms.BooleanField(required=False)
    many = forms.MultipleChoiceField(required=False, choices=[("a", "A")])
    radio = forms.ChoiceField(required=False, choices=[("a", "A")], widget=forms.RadioSelect)
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)


def _both_ways(make_form, name):
    """The field rendered by crispy and by light_crispy_field, each on a form of its own (both
    change the widget's classes)."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

    from preservation.templatetags.preserve_ui import light_crispy_field

    crispy_form, light_form = make_form(), make_form()
    return str(as_crispy_field(crispy_form[name])), str(light_crispy_field(light_form[name]))


@pytest.mark.parametrize("data", [None, {"text": "x" * 30, "number": "-4", "mail": "no", "choice": "zz",
                                         "when": "never", "notes": "<b>"}])
def test_the_light_crispy_field_renders_what_crispy_renders(data, assert_html_equal):
    def make():
        form = Mixed(data, initial={"optional": 'say "hi"', "choice": "a"})
        form.is_valid()
        return form

    for name in Mixed.base_fields:
        assert_html_equal(*_both_ways(make, name))


@pytest.mark.parametrize("data", [None, {"case_number": "", "window_start": "2026-13-01T10:00", "account_country": "ZZ",
                                         "requester_email": "no", "requester_phone": "x", "language": "xx"}])
def test_the_intake_form_s_fields_render_as_crispy_renders_them(agency, data, assert_html_equal):
    from preservation.requests.forms import RequestForm

    def make():
        form = RequestForm(data, initial={"requester_name": "Dana <Scully>"}, agency=agency)
        form.is_valid()
        return form

    for name in RequestForm(agency=agency).fields:
        assert_html_equal(*_both_ways(make, name))


@pytest.fixture
def assert_html_equal():
    from django.test import SimpleTestCase

    return SimpleTestCase().assertHTMLEqual


# --- The signed-in user ----------------------------------------------------------------------------


def test_the_signed_in_user_comes_with_the_agency_in_one_query(client, user):
    from django.contrib.auth import SESSION_KEY, get_user
    from django.test import RequestFactory

    login(client, user)
    request = RequestFactory().get("/")
    request.session = client.session
    assert SESSION_KEY in request.session  # the session is read before counting
    with CaptureQueriesContext(connection) as queries:
        loaded = get_user(request)
        assert loaded.agency.name == user.agency.name
    assert len(queries) == 1, [q["sql"][:120] for q in queries]


# --- The shared layout: the account menu follows the role (no fragment cache: it gained 0.5 ms) ----


def test_the_account_menu_follows_each_users_role(client, agency):
    from django.test import Client

    from preservation.models import Role

    admin, officer = UserFactory(agency=agency, role=Role.AGENCY_ADMIN), UserFactory(agency=agency)
    audit_log = reverse("accounts:audit_log")
    assert audit_log in login(client, admin).get(reverse("preservation:dashboard")).content.decode()
    # Same process, same cache, another role: the administrator's links never leak into it.
    assert audit_log not in login(Client(), officer).get(reverse("preservation:dashboard")).content.decode()
    assert audit_log in client.get(reverse("preservation:dashboard")).content.decode()


def test_the_cached_menus_follow_the_language(signed_in, user):
    english = signed_in.get(reverse("preservation:dashboard")).content.decode()
    assert ">Reminder settings<" in english and '<option value="en" lang="en" selected>' in english
    user.language = "de"
    user.save(update_fields=["language"])
    german = signed_in.get(reverse("preservation:dashboard")).content.decode()
    assert ">Reminder settings<" not in german and '<option value="de" lang="de" selected>' in german
    assert '<option value="en" lang="en" selected>' not in german


def test_the_hourly_refresh_reads_the_catalogue_once_not_twice_a_request(make_request, agency):
    # Every open request, every hour: the provider and legal basis of each come from one read
    # of the catalogue and the reminder rows with the chunk, so an unchanged request costs the
    # refresh no query of its own.
    def refresh_queries(count):
        PreservationRequest.objects.for_agency(agency).delete()
        for _n in range(count):
            make_request(state=RequestState.SUBMITTED, sent_at=NOON - dt.timedelta(days=2))
        queryset = PreservationRequest.objects.for_agency(agency)
        services.requests_refresh_urgency(now=NOON, queryset=queryset)
        with CaptureQueriesContext(connection) as queries:
            services.requests_refresh_urgency(now=NOON, queryset=queryset)
        return [q["sql"] for q in queries.captured_queries]

    with time_machine.travel(NOON, tick=False):
        one, five = refresh_queries(1), refresh_queries(5)
    per_request = (len(five) - len(one)) / 4
    assert per_request <= 2, five  # the savepoint of its transaction in a test, nothing else
    assert not [sql for sql in five if '"preservation_legalbasis"' in sql and "WHERE" in sql], five


def test_the_hourly_refresh_writes_only_requests_whose_deadlines_or_urgency_changed(
    make_request, agency, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            request = make_request(state=RequestState.DRAFT)
        before = (version(agency), PreservationRequest.objects.for_agency(agency).get(pk=request.pk).updated_at)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.requests_refresh_urgency(now=NOON, queryset=PreservationRequest.objects.for_agency(agency))
        assert callbacks == []  # nothing saved: no write, and the cached counts stay valid
        assert (version(agency), PreservationRequest.objects.for_agency(agency).get(pk=request.pk).updated_at) == before
    later = NOON + dt.timedelta(days=40)  # the window's clips are being deleted: more urgent now
    with time_machine.travel(later, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            changed = services.requests_refresh_urgency(now=later, queryset=PreservationRequest.objects.for_agency(agency))
        assert changed == 1 and version(agency) > before[0]


def test_a_failed_bump_after_the_commit_is_logged_not_raised(make_request, agency, monkeypatch, caplog,
                                                             django_capture_on_commit_callbacks):
    from django.db import DatabaseError

    from preservation.models import core

    def failing(agency_id):
        raise DatabaseError("the agency row is locked")

    monkeypatch.setattr(core, "bump_requests_version", failing)
    with caplog.at_level("ERROR"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            make_request()
    assert callbacks
    assert "Error calling bump_requests_version in on_commit()" in caplog.text


# --- Counted again per block of ids: a change recounts its own block only --------------------------


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 2 ids, so that a few requests span several blocks."""
    from preservation.models import core

    monkeypatch.setattr(core, "COUNT_BLOCK", 2)
    monkeypatch.setattr(selectors, "COUNT_BLOCK", 2)


@pytest.fixture
def counted_blocks(monkeypatch):
    """The blocks each call counted: (blocks asked for, the highest below those counted whole)."""
    calls, original = [], selectors._count_buckets

    def spy(user, today, blocks, above):
        calls.append((sorted(blocks), above))
        return original(user, today, blocks, above)

    monkeypatch.setattr(selectors, "_count_buckets", spy)
    return calls


def counted_afresh(user):
    """The groups' counts as one uncached count of every request would give them."""
    today = selectors.agency_today(user)
    counts = dict.fromkeys(["total", "due_week", *selectors.FIELD_BUCKETS], 0)
    for request in PreservationRequest.objects.for_agency(user.agency_id):
        counts["total"] += 1
        counts["due_week"] += bool(request.next_deadline_on and request.next_deadline_on <= today + dt.timedelta(days=7))
        for name, (field, values) in selectors.FIELD_BUCKETS.items():
            counts[name] += getattr(request, field) in values
    return counts


def test_a_change_counts_only_its_own_block_again(user, make_request, small_blocks, counted_blocks,
                                                   django_capture_on_commit_callbacks):
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            made = [make_request(state=RequestState.DRAFT) for _n in range(7)]
        assert counts_for(user) == counted_afresh(user)
        assert counted_blocks[-1][1] == -1  # the first time: everything
        counted_blocks.clear()
        assert counts_for(user) == counted_afresh(user)
        assert counted_blocks == []  # nothing changed: no count at all
        with django_capture_on_commit_callbacks(execute=True):
            made[2].state = RequestState.WITHDRAWN
            made[2].save()
        assert counts_for(user) == counted_afresh(user)
        # Was: every request counted again after any change (the agency's one version).
        assert counted_blocks == [([made[2].pk // 2], None)]


@pytest.mark.parametrize("change", ["new request", "edit", "delete", "bulk update", "bulk create",
                                    "hint lost", "new day", "two in one transaction"])
def test_the_counts_by_block_always_equal_a_fresh_count(change, user, make_request, small_blocks,
                                                         django_capture_on_commit_callbacks):
    from django.core.cache import cache

    with time_machine.travel(NOON, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            made = [make_request(state=RequestState.DRAFT) for _n in range(5)]
        assert counts_for(user) == counted_afresh(user)
        rows = PreservationRequest.objects.for_agency(user.agency_id)
        with django_capture_on_commit_callbacks(execute=True):
            if change == "new request":
                make_request(state=RequestState.PRESERVING)
            elif change == "edit":
                made[0].state = RequestState.EXTENDED
                made[0].save()
            elif change == "delete":
                rows.filter(pk=made[3].pk).get().delete()
            elif change == "bulk update":
                rows.filter(pk__in=[made[1].pk, made[4].pk]).update(state=RequestState.CLOSED)
            elif change == "bulk create":
                copies = []
                for source in rows.filter(pk__in=[made[0].pk, made[1].pk]):
                    source.pk, source.public_id, source.reference = None, uuid.uuid4(), new_request_reference()
                    copies.append(source)
                PreservationRequest.objects.bulk_create(copies)
            elif change == "hint lost":
                make_request(state=RequestState.EXTENDED)
                every = Agency.objects.get(pk=user.agency_id).count_versions.get("all", 0)
                assert cache.delete("preserve:bucket-counts-top:%d:%s" % (user.agency_id, every))
            elif change == "new day":
                clock.shift(dt.timedelta(days=1))
            else:
                made[0].state = RequestState.EXTENDED
                made[0].save()
                make_request(state=RequestState.PRESERVING)
        assert counts_for(user) == counted_afresh(user)


@pytest.mark.parametrize("write", ["update", "bulk update", "bulk create", "recompute"])
def test_a_write_in_bulk_counts_only_the_blocks_of_its_rows_again(write, user, make_request, small_blocks,
                                                                  counted_blocks, django_capture_on_commit_callbacks):
    """QuerySet.update, bulk_update and bulk_create name the blocks of the rows they write. They
    moved "all" on: the service that saves a draft recomputes it with an update, so every save on
    the intake form made the next dashboard count all 100,000 requests again (47 ms of the
    database's time in bench/_profile_pages.py, on 22 of 24 dashboards)."""
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            made = [make_request(state=RequestState.DRAFT) for _n in range(7)]
            # Out of date, so that recomputing it writes (an unchanged recompute writes nothing).
            PreservationRequest.objects.for_agency(user.agency_id).filter(pk=made[4].pk).update(first_loss_at=None, urgency="")
        assert counts_for(user) == counted_afresh(user)
        every = Agency.objects.get(pk=user.agency_id).count_versions.get("all", 0)
        counted_blocks.clear()
        rows = PreservationRequest.objects.for_agency(user.agency_id)
        with django_capture_on_commit_callbacks(execute=True):
            if write == "update":
                rows.filter(pk__in=[made[0].pk, made[5].pk]).update(state=RequestState.CLOSED)
                written = [made[0].pk, made[5].pk]
            elif write == "bulk update":
                made[3].state = RequestState.WITHDRAWN
                rows.bulk_update([made[3]], ["state"])
                written = [made[3].pk]
            elif write == "bulk create":
                source = rows.get(pk=made[1].pk)
                source.pk, source.public_id, source.reference = None, uuid.uuid4(), new_request_reference()
                written = [created.pk for created in PreservationRequest.objects.bulk_create([source])]
            else:
                services.request_recompute(preservation_request=rows.get(pk=made[4].pk), now=NOON)
                written = [made[4].pk]
        assert Agency.objects.get(pk=user.agency_id).count_versions.get("all", 0) == every
        assert counts_for(user) == counted_afresh(user)
        blocks = sorted({pk // 2 for pk in written})
        top = (max(r.pk for r in made)) // 2
        # Each block written is counted again (a new one above the highest counted, from there).
        asked = sorted(b for b in blocks if b <= top)
        assert counted_blocks == [(asked, top if max(blocks) > top else None)]


def test_the_light_widgets_options_are_escaped_as_format_html_escapes_them():
    """The options are joined without format_html_join (700 of them on the intake form), to the
    same bytes: values and labels escaped, a safe label kept, a lazy one translated."""
    from django.utils.html import format_html_join
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    choices = [("", "---"), ("a&b", "<script>alert('x')</script>"), ('q"uote', gettext_lazy("Dashboard")),
               ("safe", mark_safe("<b>kept</b>")), (7, "seven & more"), ("é", "Ünïcode")]

    class Form(forms.Form):
        pick = forms.ChoiceField(choices=choices, required=False)

    rendered = str(light_widget(Form({"pick": "a&b"})["pick"]))
    expected = format_html_join("", '<option value="{}"{}>{}</option>', (
        (choice, " selected" if str(choice) == "a&b" else "", label) for choice, label in choices))
    assert rendered.split(">", 1)[1].rsplit("</select>", 1)[0] == str(expected)
    assert "&lt;script&gt;" in rendered and "<b>kept</b>" in rendered
