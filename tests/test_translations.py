"""The translation checks: complete catalogues, nothing left unextracted, and pages, PDFs and emails
that really are in the reader's language."""
import html
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from preservation.documents import services as documents
from preservation.models import Reminder, Role
from preservation.reminders import emails
from preservation.reminders.sweep import Recipient
from tests.conftest import utc
from tests.factories import RequestFactory, UserFactory
from tests.helpers import login

LANGUAGES = ["de", "fr", "es"]
ROOT = Path(settings.BASE_DIR)
# The same options `make messages` uses to write the catalogues.
MAKEMESSAGES = ["makemessages", "--no-obsolete", "-l", "de", "-l", "fr", "-l", "es",
                "--ignore=.venv", "--ignore=node_modules", "--ignore=tests", "--ignore=bench",
                "--ignore=artifacts", "--ignore=staticfiles"]


def catalogue(language, root=ROOT):
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


def entries(po):
    return {(e.msgctxt, e.msgid, e.msgid_plural): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in po if not e.obsolete}


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_reports_no_untranslated_and_no_fuzzy_entry(language):
    po_file = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po_file)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ translated messages?\.\n", result.stderr), result.stderr


def test_makemessages_leaves_the_catalogues_unchanged(tmp_path):
    """A string added to the code without running `make messages` (and translating it) fails here."""
    copy = tmp_path / "tree"
    for name in ["preservation", "config", "templates", "locale"]:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    result = subprocess.run([sys.executable, "manage.py", *MAKEMESSAGES], cwd=copy,
                            capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.local"})
    assert result.returncode == 0, result.stderr
    for language in LANGUAGES:
        before, after = entries(catalogue(language)), entries(catalogue(language, copy))
        assert set(after) - set(before) == set(), "strings not yet extracted: run `make messages`"
        assert set(before) - set(after) == set(), "catalogue holds strings the code no longer uses"
        assert not [e.msgid for e in catalogue(language, copy) if "fuzzy" in e.flags]


@pytest.mark.parametrize("language", LANGUAGES)
def test_few_translations_are_identical_to_english(language):
    """Names and codes (Blink, CRIM#, PDF, XT2...) stay as they are; sentences never do."""
    po = catalogue(language)
    sentences = [e for e in po if not e.obsolete and len(e.msgid.split()) >= 4 and not e.msgid_plural]
    identical = [e.msgid for e in sentences if e.msgstr == e.msgid]
    assert identical == []
    words = [e for e in po if not e.obsolete and not e.msgid_plural]
    assert sum(e.msgstr == e.msgid for e in words) < 0.06 * len(words)


def visible_text(page):
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return " ".join(html.unescape(page).split())


def english_sentences(language):
    """Catalogue sentences whose translation differs from the English: none may show up."""
    found = []
    for entry in catalogue(language):
        text = entry.msgid
        if entry.obsolete or entry.msgid_plural or entry.msgstr == text or "%" in text or "{" in text:
            continue
        if len(text.split()) >= 3 and not re.search(r"[<>]", text):
            found.append(" ".join(text.split()))
    return found


@pytest.mark.django_db
def test_dashboard_form_and_request_page_in_french_contain_no_english_sentence(client, agency):
    user = UserFactory(agency=agency, role=Role.PARALEGAL, language="fr")
    request = RequestFactory(agency=agency, created_by=user, language="fr")
    login(client, user)
    sentences = english_sentences("fr")
    for url in [reverse("preservation:dashboard"), reverse("preservation:request_new"),
                reverse("preservation:request_detail", args=[request.public_id])]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Language"] == "fr"
        text = visible_text(response.content.decode())
        leaked = [s for s in sentences if s in text]
        assert leaked == [], url


@pytest.mark.django_db
def test_a_german_request_pdf_is_in_german(agency):
    officer = UserFactory(agency=agency, language="de")
    request = RequestFactory(agency=agency, created_by=officer, language="de",
                             window_start=utc(2026, 3, 1), window_end=utc(2026, 3, 2))
    document = documents.document_generate(preservation_request=request, kind="request", actor=officer)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(document.content))).pages)
    text = " ".join(text.split())
    assert "März 2026" in text
    with translation.override("de"):
        assert translation.gettext("Badge or ID number") in text
    assert "Badge or ID number" not in text
    german = [s for s in english_sentences("de") if s in text]
    assert german == []


@pytest.mark.django_db
def test_a_german_users_reminder_email_is_in_german(agency):
    officer = UserFactory(agency=agency, language="de")
    request = RequestFactory(agency=agency, created_by=officer)
    reminder = Reminder.objects.filter(request=request).first()
    assert reminder is not None, "a draft near its retention deadline has reminders"
    recipient = Recipient("u%d" % officer.pk, officer.email, officer.language, officer)
    message = emails.reminder_message(reminder, recipient)
    assert message.extra_headers["Content-Language"] == "de"
    body = message.body + message.alternatives[0][0]
    assert [s for s in english_sentences("de") if s in body or s in message.subject] == []
    with translation.override("de"):
        assert translation.gettext("Open the request") in body
