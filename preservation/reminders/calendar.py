"""iCalendar (RFC 5545) for deadlines: a per-user secret feed and a per-request download.

Each deadline is an all-day event on its date in the agency's zone (a date is what Blink's
clock counts), with an alarm at 08:00 local on the user's last lead day before it (more with
the CALENDAR_ALARMS setting). UIDs are
stable, so calendar apps update an event when a date moves instead of adding a second one.
"""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event

from preservation.models import DeadlineKind, PreservationRequest, RequestState
from preservation.reminders.emails import request_url
from preservation.reminders.scheduling import preferred_leads
from preservation.rules import deadlines

S = RequestState
CLOCK_KINDS = {
    S.SUBMITTED: (DeadlineKind.EXTENSION_SEND_BY, DeadlineKind.EXPIRES),
    S.PRESERVING: (DeadlineKind.EXTENSION_SEND_BY, DeadlineKind.EXPIRES),
    S.EXTENSION_REQUESTED: (DeadlineKind.EXPIRES,),
    S.EXTENDED: (DeadlineKind.FINAL_EXPIRES,),
}


def request_deadlines(preservation_request):
    """(kind, date) of every deadline still ahead of someone on an open request."""
    zone = preservation_request.agency.time_zone
    if preservation_request.state == S.DRAFT:
        instants = ((DeadlineKind.FIRST_LOSS, preservation_request.first_loss_at),
                    (DeadlineKind.TOTAL_LOSS, preservation_request.total_loss_at))
        return [(kind, deadlines.local_date(at, zone)) for kind, at in instants if at]
    dates = {
        DeadlineKind.EXTENSION_SEND_BY: preservation_request.extension_send_by,
        DeadlineKind.EXPIRES: preservation_request.expires_on,
        DeadlineKind.FINAL_EXPIRES: preservation_request.final_expires_on,
    }
    return [(kind, dates[kind]) for kind in CLOCK_KINDS.get(preservation_request.state, ()) if dates[kind]]


def _event(preservation_request, kind, day, leads, stamp):
    event = Event()
    event.add("uid", "%s-%s@preserve" % (preservation_request.public_id, kind))
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("class", "CONFIDENTIAL")
    title = "%s: %s" % (DeadlineKind(kind).label, preservation_request.reference)
    if preservation_request.case_number:
        title += " (%s %s)" % (_("CRIM#"), preservation_request.case_number)
    if preservation_request.deadlines_provisional:
        title += " [%s]" % _("provisional")
    event.add("summary", title)
    event.add("description", request_url(preservation_request))
    event.add("url", request_url(preservation_request))
    hour = settings.PRESERVE["REMINDER_HOUR"]
    # Outlook honours only an event's first alarm: by default one, the user's last warning
    # before the deadline (the earlier ones come by email). CALENDAR_ALARMS allows more.
    for lead in sorted(sorted(leads)[:settings.PRESERVE["CALENDAR_ALARMS"]], reverse=True):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        # Relative to the all-day start (local midnight): hour:00 local, `lead` days before.
        alarm.add("trigger", timedelta(days=-lead, hours=hour))
        event.add_component(alarm)
    return event


def _calendar(user, requests, name):
    leads = preferred_leads([user])[user.pk]
    stamp = datetime.now(dt_timezone.utc).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", "-//Preserve//Preservation deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    with translation.override(user.language):
        calendar.add("x-wr-calname", name or _("Preservation deadlines"))
        for request in requests:
            for kind, day in request_deadlines(request):
                calendar.add_component(_event(request, kind, day, leads, stamp))
    return calendar.to_ical()


def user_feed(user):
    """Every deadline of the open requests the user can see (their agency's)."""
    requests = (
        PreservationRequest.objects.for_agency(user.agency_id).open()
        .exclude(state=S.LEGAL_PROCESS_SERVED).select_related("agency").order_by("pk")
    ) if user.agency_id else []
    return _calendar(user, requests, None)


def request_calendar(user, preservation_request):
    return _calendar(user, [preservation_request], preservation_request.reference)
