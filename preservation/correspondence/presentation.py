"""What the pages say about a received message: its problems and whether its sender is known."""
from django.utils.translation import gettext_lazy as _

from preservation.correspondence import parsing

PROBLEMS = {
    parsing.UNPARSABLE: _("This message could not be read. It is kept exactly as received; download it to inspect it."),
    parsing.HEADER_DEFECTS: _("Some headers are malformed."),
    parsing.TOO_DEEP: _("Messages nested too deeply inside each other were not read."),
    parsing.TOO_MANY_PARTS: _("The message has too many parts; only the first were read."),
    parsing.TOO_MANY_ATTACHMENTS: _("The message has too many attachments; only the first are listed."),
    parsing.ARCHIVE_LIMITS: _("An archive would unpack to too many or too large files (a possible zip bomb). It was not opened."),
    parsing.ARCHIVE_UNREADABLE: _("An archive could not be read. It was not opened."),
    parsing.HEADER_TOO_LONG: _("A header is far too long and was shortened."),
    parsing.TEXT_TRUNCATED: _("The text is very long and was shortened."),
    parsing.HTML_ONLY: _("The message has only an HTML part: its text is shown without formatting, images or links."),
    parsing.NO_DATE: _("The message has no readable date."),
}


def problem_labels(codes):
    return [PROBLEMS.get(code, code) for code in codes]


def sender_status(message):
    """(verified, sentence) from the receiving server's SPF/DKIM/DMARC verdicts."""
    verdicts = message.authentication or {}
    if message.sender_verified:
        return True, _("Sender verified by %(server)s (DMARC pass).") % {"server": verdicts.get("server", "")}
    if not verdicts:
        return False, _("The sender could not be verified: the receiving server recorded no "
                        "authentication results. Anyone can write any sender address.")
    return False, _("The sender could not be verified (SPF %(spf)s, DKIM %(dkim)s, DMARC %(dmarc)s). "
                    "Anyone can write any sender address.") % {
        "spf": verdicts.get("spf", "—"), "dkim": verdicts.get("dkim", "—"), "dmarc": verdicts.get("dmarc", "—")}
