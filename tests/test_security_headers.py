"""Hardening: check --deploy, response headers, cookies, no inline script."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent


def _production(*args):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_ALLOWED_HOSTS": "preserve.example.org",
           "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("DJANGO_DEBUG", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_with_production_settings_has_zero_warnings_and_silences_nothing():
    result = _production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_cookies_are_secure_and_bound_to_the_host():
    result = _production("shell", "-c", "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, "
                         "s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)")
    assert result.stdout.strip().splitlines()[-1].split() == ["__Host-sessionid", "__Host-csrftoken", "True", "True", "31536000"]


def _policy(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_every_page_sends_a_strict_content_security_policy(client):
    policy = _policy(client.get(reverse("login")))
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in " ".join(sum(policy.values(), []))


def test_the_security_headers_are_on_every_response(client, user):
    login(client, user)
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_hsts_for_a_year_with_subdomains_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


def test_cookies_are_httponly_and_samesite(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "correct horse battery staple"})
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    client.get(reverse("login"))
    assert client.cookies["csrftoken"]["httponly"] and client.cookies["csrftoken"]["samesite"] == "Lax"


# Web pages only: emails and PDFs are not served to a browser under this policy.
WEB_TEMPLATES = [p for p in (ROOT / "templates").rglob("*.html")
                 if not {"emails", "email", "pdf"} & set(p.relative_to(ROOT / "templates").parts)]


@pytest.mark.parametrize("path", WEB_TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_no_template_has_inline_script_or_event_handlers(path):
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "move the script to a static file"
    assert not re.search(r"\son[a-z]+\s*=", text), "use addEventListener in a static file"
    assert "javascript:" not in text
