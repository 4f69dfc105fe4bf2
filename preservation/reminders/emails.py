"""Reminder and digest emails: a text and an HTML part from templates, in the recipient's
language, with a deterministic Message-ID so a duplicate (sent, then the worker died before
marking it) is recognisable as the same message."""
from email.utils import parseaddr
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac

from preservation.models import URGENCY_CHOICES, DeadlineKind, RequestState
from preservation.reminders.texts import describe


EXTENSION_KINDS = frozenset({"extension_due", "escalation"})


def message_id(kind, pk, recipient_key):
    """The same for one message to one recipient (a retry sends the same id) and opaque: no row
    or user number a reader could count by (docs/security.md "Opaque identifiers")."""
    domain = _domain(settings.DEFAULT_FROM_EMAIL)
    key = salted_hmac("preserve.message_id", "%s.%s.%s" % (kind, pk, recipient_key)).hexdigest()[:32]
    return "<preserve.%s.%s@%s>" % (kind, key, domain)


@lru_cache(maxsize=8)
def _domain(from_email):
    """The sender's domain, parsed once per setting value: parseaddr was 2% of a simulated year."""
    return parseaddr(from_email)[1].rpartition("@")[2] or "localhost"


def request_url(preservation_request):
    return settings.SITE_URL.rstrip("/") + reverse("preservation:request_detail", args=[preservation_request.public_id])


def _render(template, context, *, language):
    """(subject, text, html) of one email in ``language``."""
    with translation.override(language):
        subject = " ".join(render_to_string("preservation/emails/%s_subject.txt" % template, context).split())
        text = render_to_string("preservation/emails/%s.txt" % template, context)
        html = render_to_string("preservation/emails/%s.html" % template, context)
    return subject, text, html


def _email(rendered, *, to, language, msg_id, connection):
    subject, text, html = rendered
    message = EmailMultiAlternatives(
        subject, text, to=[to], connection=connection,
        headers={"Message-ID": msg_id, "Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    return message


def _message(template, context, *, to, language, msg_id, connection):
    return _email(_render(template, context, language=language), to=to, language=language, msg_id=msg_id,
                  connection=connection)


def _reminder_rendered(reminder, language, *, late):
    """A reminder's email in one language: the same for everyone who reads that language (the
    Message-ID, set per recipient, is the only difference), so it is rendered once."""
    request = reminder.request
    with translation.override(language):
        subject, summary = describe(
            kind=reminder.kind, lead_days=reminder.lead_days, deadline_on=reminder.deadline_on,
            reference=request.reference, case_number=request.case_number,
        )
    context = {
        "reminder": reminder, "preservation_request": request, "subject": subject,
        "summary": summary, "url": request_url(request), "language": language,
        "late": late,
        "settings_url": settings.SITE_URL.rstrip("/") + reverse("preservation:reminder_preferences"),
        # The extension is due (or late): the page that walks through sending it.
        "extension_url": settings.SITE_URL.rstrip("/") + reverse("preservation:request_extension_page",
                                                                 args=[request.public_id])
        if reminder.kind in EXTENSION_KINDS and request.state == "preserving" else "",
    }
    return _render("reminder", context, language=language)


def _reminder_email(reminder, recipient, rendered, connection):
    return _email(rendered, to=recipient.email, language=recipient.language,
                  msg_id=message_id("reminder", reminder.pk, recipient.key), connection=connection)


def reminder_message(reminder, recipient, *, late=False, connection=None):
    return _reminder_email(reminder, recipient, _reminder_rendered(reminder, recipient.language, late=late),
                           connection)


def send_reminder(reminder, recipients, *, late, connection):
    """Send one message per recipient who takes email for this reminder, rendered once per
    language; raises on failure."""
    rendered, messages = {}, []
    for recipient in recipients:
        if not recipient.wants_email:
            continue
        if recipient.language not in rendered:
            rendered[recipient.language] = _reminder_rendered(reminder, recipient.language, late=late)
        messages.append(_reminder_email(reminder, recipient, rendered[recipient.language], connection))
    if messages:
        connection.send_messages(messages)


def inbox_message(preservation_request, recipient, *, subject, summary, connection=None):
    """A request waits for this person (docs/workday.md §2)."""
    context = {"preservation_request": preservation_request, "subject": subject, "summary": summary,
               "url": request_url(preservation_request), "recipient": recipient}
    return _message(
        "inbox", context, to=recipient.email, language=recipient.language,
        msg_id=message_id("inbox", preservation_request.pk, "u%d.%s" % (recipient.pk, preservation_request.updated_at.strftime("%Y%m%d%H%M%S"))),
        connection=connection,
    )


# The labels a digest prints for each request, read once: the model's get_FOO_display builds
# a dictionary of every choice at each call, which a long digest made a large share of its cost.
_STATE_LABELS = dict(RequestState.choices)
_DEADLINE_KIND_LABELS = dict(DeadlineKind.choices)
_URGENCY_LABELS = dict(URGENCY_CHOICES)


def digest_rendered(items, *, day, language):
    """A digest's email in ``language``: the same for everyone of the agency who reads that
    language on that day (their requests are the agency's), so a sweep renders it once."""
    for item in items:
        item.url = request_url(item)
        item.state_label = _STATE_LABELS.get(item.state, item.state)
        item.deadline_kind_label = _DEADLINE_KIND_LABELS.get(item.next_deadline_kind, item.next_deadline_kind)
        item.urgency_label = _URGENCY_LABELS.get(item.urgency, item.urgency)
    context = {
        "language": language, "day": day, "items": items, "site_url": settings.SITE_URL.rstrip("/"),
        "days": settings.PRESERVE["DIGEST_DAYS"],
        "settings_url": settings.SITE_URL.rstrip("/") + reverse("preservation:reminder_preferences"),
    }
    return _render("digest", context, language=language)


def digest_email(digest, rendered, *, connection=None):
    user = digest.user
    return _email(rendered, to=user.email, language=user.language,
                  msg_id=message_id("digest", digest.pk, "u%d" % user.pk), connection=connection)


def send_digest(digest, rendered, *, connection):
    """``rendered``: the digest in the user's language (``digest_rendered``), shared by everyone
    of the agency who reads that language that day."""
    connection.send_messages([digest_email(digest, rendered, connection=connection)])
