"""Which request a received message is about (docs/correspondence.md "Matching").

The rules are tried in order; the first that names exactly one request of the message's own
agency wins. Every query below is filtered on that agency: a message can name another agency's
reference, thread or serial, and still only ever reaches its own agency's requests.
"""
import re

from django.db.models.functions import Lower

from preservation.rules import references, serials
from preservation.models import (
    OPEN_STATES,
    CorrespondenceEntry,
    CorrespondenceKind,
    DeviceSerial,
    MatchRule,
    PreservationRequest,
    RequestState,
)

# A draft has not reached the provider, so nothing the provider writes can be about it.
SENT_OPEN_STATES = OPEN_STATES - {RequestState.DRAFT}
# Shorter case numbers ("12", "A1") appear in any text by chance.
MIN_CASE_NUMBER_LENGTH = 5
_SERIAL_CANDIDATE = re.compile(r"\b(?:G[A-Z0-9]{3}(?:[\s\-]?[A-Z0-9]{4}){3}|\d{3}[\s\-]?\d{3}[\s\-]?\d{3})\b", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def references_in(text):
    """Our references in a text, old (PR-000123) or new (PR-7KQ4-M2XD), as stored, in order of
    appearance (preservation/rules/references.py)."""
    return references.references_in(text)


def serials_in(text):
    """The valid device serials in a text, normalised."""
    found = (serials.parse_serial(candidate) for candidate in _SERIAL_CANDIDATE.findall(text))
    return list(dict.fromkeys(result.normalized for result in found if result.valid))


def emails_in(text):
    return list(dict.fromkeys(address.lower() for address in _EMAIL.findall(text)))


def _only(ids):
    ids = set(ids)
    return ids.pop() if len(ids) == 1 else None


def match_message(*, agency, subject, text, thread_ids):
    """(request, rule) for a message of ``agency``, or (None, "")."""
    searched = "%s\n%s" % (subject, text)
    requests = PreservationRequest.objects.for_agency(agency)
    for rule, find in (
        (MatchRule.REFERENCE, lambda: _by_reference(requests, searched)),
        (MatchRule.THREAD, lambda: _by_thread(agency, thread_ids)),
        (MatchRule.CASE_NUMBER, lambda: _by_case_number(requests, searched)),
        (MatchRule.IDENTIFIER, lambda: _by_identifier(agency, requests, searched)),
    ):
        pk = find()
        if pk is not None:
            return requests.get(pk=pk), rule
    return None, ""


def _by_reference(requests, searched):
    wanted = references_in(searched)
    return _only(requests.filter(reference__in=wanted).values_list("pk", flat=True)) if wanted else None


def _by_thread(agency, thread_ids):
    if not thread_ids:
        return None
    sent = CorrespondenceEntry.objects.filter(
        request__agency=agency, kind=CorrespondenceKind.SENT, message_id__in=thread_ids
    )
    return _only(sent.values_list("request_id", flat=True))


def _by_case_number(requests, searched):
    folded = searched.casefold()
    numbers = requests.exclude(case_number="").values_list("pk", "case_number")
    return _only(pk for pk, number in numbers
                 if len(number) >= MIN_CASE_NUMBER_LENGTH and _contains_word(folded, number.casefold()))


def _contains_word(text, word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


def _by_identifier(agency, requests, searched):
    """A serial or account email of one sent, open request (closed ones are done with)."""
    open_requests = requests.filter(state__in=SENT_OPEN_STATES)
    found = serials_in(searched)
    if found:
        pk = _only(DeviceSerial.objects.filter(
            request__agency=agency, request__state__in=SENT_OPEN_STATES, normalized__in=found,
        ).values_list("request_id", flat=True))
        if pk is not None:
            return pk
    addresses = emails_in(searched)
    if addresses:
        return _only(open_requests.annotate(account=Lower("account_email"))
                     .filter(account__in=addresses).values_list("pk", flat=True))
    return None
