"""Documents per legal basis (docs/providers.md §8): the EPOC-PR certificate and the
neutral voluntary letter, in the four languages; Blink's letter as before."""
import datetime as dt

import pytest
import time_machine

from preservation.rules import catalogue
from preservation.documents import services as documents
from preservation.requests import services
from preservation.models import DocumentKind
from tests.conftest import utc
from tests.factories import AgencyFactory, RequestFactory
from tests.pdf_support import pdf_text, squash

pytestmark = pytest.mark.django_db
NOW = utc(2026, 9, 2, 12)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def ring_request(basis, language="en", country="DE"):
    agency = AgencyFactory(country=country, time_zone="Europe/Berlin", name="LKA Berlin")
    request = RequestFactory(agency=agency, account_country="DE", serials=[], provider="ring", legal_basis=basis,
                             language=language, data_types=["video_clips", "subscriber"])
    services._replace_serials(request, [{"kind": catalogue.MAC, "raw": "00-1a-2b-3c-4d-5e"}])
    return request


def text_of(request, kind):
    document = documents.document_generate(preservation_request=request, kind=kind, actor=request.created_by, now=NOW)
    return squash(pdf_text(bytes(document.content)))


EPOC_TEXT = {
    "en": ("European Preservation Order Certificate", "Content data", "Preserve for 60 days"),
    "de": ("Europäische Sicherungsanordnung", "Inhaltsdaten", "60 Tage"),
    "fr": ("injonction européenne de conservation", "Données relatives au contenu", "60 jours"),
    "es": ("orden europea de conservación", "Datos de contenido", "60 días"),
}


@pytest.mark.parametrize("language", sorted(EPOC_TEXT))
def test_the_epoc_pr_certificate_is_filled_from_the_request_in_each_language(language):
    request = ring_request(catalogue.EPOC_PR, language)
    text = text_of(request, DocumentKind.EPOC_PR_CERTIFICATE)
    for expected in EPOC_TEXT[language]:
        assert squash(expected).lower() in text.lower(), expected
    assert "00:1A:2B:3C:4D:5E" in text and squash("LKA Berlin") in text and "Ring" in text


def test_the_certificate_is_offered_only_under_the_epoc_pr():
    request = ring_request(catalogue.VOLUNTARY)
    assert DocumentKind.EPOC_PR_CERTIFICATE not in dict(documents.applicable_kinds(request))
    assert documents.generation_errors(request, DocumentKind.EPOC_PR_CERTIFICATE, now=NOW)
    assert DocumentKind.EPOC_PR_CERTIFICATE in dict(documents.applicable_kinds(ring_request(catalogue.EPOC_PR)))


VOLUNTARY_TEXT = {
    "en": "under your own data preservation policy",
    "de": "nach Ihren eigenen Regeln",
    "fr": "selon votre propre politique",
    "es": "conforme a su propia política",
}


@pytest.mark.parametrize("language", sorted(VOLUNTARY_TEXT))
def test_a_voluntary_letter_to_another_provider_is_neutral(language):
    text = text_of(ring_request(catalogue.VOLUNTARY, language), DocumentKind.REQUEST)
    assert squash(VOLUNTARY_TEXT[language]).lower() in text.lower()
    assert "Blink" not in text and "2703" not in text and "Ring" in text


def test_blinks_letter_under_2703f_reads_as_before():
    request = RequestFactory(language="en")
    text = text_of(request, DocumentKind.REQUEST)
    assert squash("Blink, an Amazon company: law enforcement requests") in text
    assert squash("Under 18 U.S.C. § 2703(f)") in text and squash("for 90 days from receipt of this request") in text


def test_no_extension_letter_where_the_basis_has_none():
    request = RequestFactory(provider="ring", legal_basis=catalogue.CYBERTIPLINE, serials=[])
    request.received_on = dt.date(2026, 9, 1)
    assert documents.generation_errors(request, DocumentKind.EXTENSION, now=NOW) == [documents.NO_EXTENSION]
