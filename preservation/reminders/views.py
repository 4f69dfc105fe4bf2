"""In-app notifications (bell, list, mark as read), reminder preferences and calendar feeds."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from preservation.core import presentation
from preservation.core.audit import audit_record
from preservation.models import CalendarFeedToken, Notification, ReminderPreference, Role
from preservation.models.reminders import new_feed_token
from preservation.reminders import calendar, inbox, texts
from preservation.requests import selectors


def case_data(view):
    return login_required(never_cache(view))


def _notifications(user):
    # For the user's agency: someone who moved agency no longer sees the old agency's cases.
    return Notification.objects.filter(user=user, agency_id=user.agency_id)


# A cached unread count is replaced as soon as the user's notifications change (the key names
# their notifications_version); the time-to-live bounds only a bump that failed after a commit.
UNREAD_TTL = 10 * 60


def unread_count(user):
    """The bell's count, cached under the user's notifications_version as read with the user at
    the start of the request: every page shows the bell, and the count changes far less often
    than pages are seen (bench/_profile_pages.py: a query on nine of eleven page views)."""
    key = "preserve:unread:%d:%s:%d" % (user.pk, user.agency_id, user.notifications_version)
    count = cache.get(key)
    if count is None:
        count = _notifications(user).filter(read_at__isnull=True).count()
        cache.set(key, count, UNREAD_TTL)
    return count


def unread_notifications(request):
    """Context processor: the bell's unread count, only if a page shows it."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {"unread_notifications": lambda: unread_count(user)}


def notification_text(notification):
    if notification.kind:
        request = notification.request
        return inbox.describe(kind=notification.kind, preservation_request=request, who=inbox_sender(notification))
    reminder = notification.reminder
    request = reminder.request
    return texts.describe(
        kind=reminder.kind, lead_days=reminder.lead_days, deadline_on=reminder.deadline_on,
        reference=request.reference, case_number=request.case_number,
    )


def inbox_sender(notification):
    """Who asked (or sent in an emergency): the author of the request's latest such event."""
    event = notification.request.events.filter(
        action__in=["approval_requested", "emergency_sent"], at__lte=notification.created_at,
    ).select_related("actor").order_by("-at", "-pk").first()
    person = (event and event.actor) or notification.request.created_by
    return person.get_full_name() or person.username


@case_data
@require_GET
def notification_list(request):
    rows = _notifications(request.user).select_related("reminder__request", "request__created_by")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    for notification in page.object_list:
        notification.subject, notification.summary = notification_text(notification)
    return render(request, "preservation/notifications/list.html", {"page": page})


@case_data
@require_POST
def notification_read(request, public_id):
    notification = get_object_or_404(_notifications(request.user), public_id=public_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if request.POST.get("open"):
        target = notification.request if notification.request_id else notification.reminder.request
        return redirect("preservation:request_detail", public_id=target.public_id)
    return redirect("preservation:notifications")


@case_data
@require_POST
def notification_read_all(request):
    count = _notifications(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, ngettext("%(n)d notification marked as read.", "%(n)d notifications marked as read.",
                                       count) % {"n": count})
    return redirect("preservation:notifications")


# --- Preferences ----------------------------------------------------------------------------


class ReminderPreferenceForm(forms.Form):
    error_messages = {"no_lead": _("Keep at least one reminder before each deadline.")}

    lead_days = forms.TypedMultipleChoiceField(
        label=_("Email me this many days before an extension or expiry date"),
        coerce=int, widget=forms.CheckboxSelectMultiple, required=False,
        help_text=_("Escalations, missing acknowledgements, lapses and “file now” warnings are "
                    "always sent. In-app notifications arrive for every reminder."),
    )
    digest_enabled = forms.BooleanField(label=_("Send me the morning digest"), required=False)
    language = forms.ChoiceField(label=_("Language of emails and calendar"), choices=settings.LANGUAGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_days"].choices = presentation.day_choices(settings.PRESERVE["REMINDER_LEAD_DAYS"])

    def clean_lead_days(self):
        leads = self.cleaned_data["lead_days"]
        if not leads:
            raise forms.ValidationError(self.error_messages["no_lead"], code="no_lead")
        return sorted(set(leads), reverse=True)


@transaction.atomic
def preference_save(*, user, lead_days, digest_enabled, language):
    ReminderPreference.objects.update_or_create(
        user=user, defaults={"lead_days": lead_days, "digest_enabled": digest_enabled}
    )
    user.language = language
    user.save(update_fields=["language"])


@case_data
def reminder_preferences(request):
    user = request.user
    current = ReminderPreference.objects.filter(user=user).first() or ReminderPreference(user=user)
    initial = {"lead_days": current.lead_days, "digest_enabled": current.digest_enabled,
               "language": user.language}
    form = ReminderPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        preference_save(user=user, **form.cleaned_data)
        translation.activate(user.language)
        messages.success(request, _("Your reminder settings are saved."))
        return redirect("preservation:reminder_preferences")
    feed = CalendarFeedToken.objects.filter(user=user).first()
    return render(request, "preservation/notifications/preferences.html", {
        "form": form, "feed_url": _feed_url(request, feed),
        "shows_digest": user.role in (Role.PARALEGAL, Role.SUPERVISOR),
    })


# --- Calendar -------------------------------------------------------------------------------


def _feed_url(request, feed):
    if feed is None:
        return ""
    return request.build_absolute_uri(reverse("preservation:calendar_feed", args=[feed.token]))


@transaction.atomic
def feed_token_regenerate(*, user, http_request=None):
    """Issue a new feed secret (revoking any old one), in the audit trail like any credential."""
    feed, created = CalendarFeedToken.objects.update_or_create(user=user, defaults={"token": new_feed_token()})
    audit_record(action="calendar_feed_created" if created else "calendar_feed_regenerated",
                 actor=user, obj=user, request=http_request)
    return feed


@case_data
@require_POST
def calendar_feed_regenerate(request):
    """Create the feed URL, or replace it: the old URL stops working at once."""
    feed_token_regenerate(user=request.user, http_request=request)
    messages.success(request, _("Your calendar address is new; any old address no longer works."))
    return redirect(reverse("preservation:reminder_preferences") + "#calendar")


def _ics(content, filename):
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="%s"' % filename
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def calendar_feed(request, token):
    """The secret URL a calendar app polls; no session, the token is the credential."""
    # The secret is the credential and no user is known before it is checked: the one read of
    # feed tokens not through a user (tenancy-guard opt-out).
    feed = CalendarFeedToken.objects.across_agencies().select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404
    # Recorded by the feed's row id, never by its secret (docs/security.md "What is audited").
    audit_record(action="calendar_feed_read", actor=feed.user, request=request,
                 object_type="calendarfeedtoken", object_id=str(feed.pk))
    return _ics(calendar.user_feed(feed.user), "preserve.ics")


@case_data
@require_GET
def request_ics(request, public_id):
    preservation_request = get_object_or_404(
        selectors.requests_for_user(request.user).select_related("agency"), public_id=public_id
    )
    return _ics(calendar.request_calendar(request.user, preservation_request),
                "%s.ics" % preservation_request.reference)
