"""The words of each reminder, in the active language (subject and one-sentence summary)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from preservation.core.presentation import day_text
from preservation.models import ReminderKind

K = ReminderKind

def describe(*, kind, lead_days, deadline_on, reference, case_number=""):
    """Subject line and one-sentence summary of a reminder, in the active language."""
    case = _(" (CRIM# %(case)s)") % {"case": case_number} if case_number else ""
    params = {"ref": reference, "case": case, "n": lead_days,
              "date": day_text(deadline_on) if deadline_on else ""}
    subject, summary = _TEXTS[kind]
    return str(subject % params), str(summary % params)


_TEXTS = {
    K.RETENTION: (
        _("File now: %(ref)s%(case)s is losing clips"),
        _("%(ref)s%(case)s is still a draft and Blink is deleting the requested clips; every "
          "clip is gone by %(date)s. Send it to Blink today."),
    ),
    K.ACK_MISSING: (
        _("No acknowledgement from Blink for %(ref)s%(case)s"),
        ngettext_lazy(
            "%(ref)s%(case)s was sent %(n)d day ago and Blink's receipt is not recorded. Check for "
            "Blink's acknowledgement, or send the request again.",
            "%(ref)s%(case)s was sent %(n)d days ago and Blink's receipt is not recorded. Check "
            "for Blink's acknowledgement, or send the request again.", "n"),
    ),
    K.EXTENSION_ACK_MISSING: (
        _("No acknowledgement from Blink for the extension of %(ref)s%(case)s"),
        ngettext_lazy(
            "The extension request for %(ref)s%(case)s was sent %(n)d day ago and Blink's receipt "
            "is not recorded; the preservation expires on %(date)s unless Blink has it. Check for "
            "Blink's acknowledgement and record it, or contact Blink before then.",
            "The extension request for %(ref)s%(case)s was sent %(n)d days ago and Blink's receipt "
            "is not recorded; the preservation expires on %(date)s unless Blink has it. Check for "
            "Blink's acknowledgement and record it, or contact Blink before then.", "n"),
    ),
    K.EXTENSION_DUE: (
        _("Extension due by %(date)s: %(ref)s%(case)s"),
        ngettext_lazy(
            "Send the extension request for %(ref)s%(case)s by %(date)s (%(n)d day left) or "
            "the preservation will lapse.",
            "Send the extension request for %(ref)s%(case)s by %(date)s (%(n)d days left) or "
            "the preservation will lapse.", "n"),
    ),
    K.ESCALATION: (
        _("Escalation: %(ref)s%(case)s expires %(date)s with no extension"),
        ngettext_lazy(
            "The preservation of %(ref)s%(case)s expires on %(date)s, in %(n)d day, and no "
            "extension or legal process is recorded.",
            "The preservation of %(ref)s%(case)s expires on %(date)s, in %(n)d days, and no "
            "extension or legal process is recorded.", "n"),
    ),
    K.FINAL_EXPIRY: (
        _("Preservation ends %(date)s: %(ref)s%(case)s"),
        ngettext_lazy(
            "The extended preservation of %(ref)s%(case)s ends on %(date)s (%(n)d day left) and "
            "cannot be extended again: serve legal process before then.",
            "The extended preservation of %(ref)s%(case)s ends on %(date)s (%(n)d days left) and "
            "cannot be extended again: serve legal process before then.", "n"),
    ),
    K.LAPSED: (
        _("Preservation lapsed: %(ref)s%(case)s"),
        _("The preservation of %(ref)s%(case)s expired on %(date)s with no extension or legal "
          "process; Blink may now delete the data."),
    ),
    K.DEADLINE_MOVED: (
        _("A deadline of %(ref)s%(case)s moved"),
        _("A recorded date of %(ref)s%(case)s was corrected and its deadlines were worked out "
          "again: the next one is now %(date)s. Check the request and your calendar."),
    ),
}
