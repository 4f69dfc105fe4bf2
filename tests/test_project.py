import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from preservation.models import Role, User
from tests.factories import AgencyFactory
from tests.helpers import login


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def _production_settings_error(env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(env, DJANGO_SETTINGS_MODULE="config.settings.production")
    proc = subprocess.run([sys.executable, "-c", "import django; django.setup()"],
                          cwd=settings.BASE_DIR, env=base, capture_output=True, text=True)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("env, message", [
    ({}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": "x" * 60, "DJANGO_DEBUG": "true"}, "DEBUG"),
])
def test_production_settings_refuse_to_start_with_a_default_secret_or_debug(env, message):
    code, stderr = _production_settings_error(env)
    assert code != 0 and message in stderr


def test_production_settings_start_with_a_real_secret():
    code, stderr = _production_settings_error({"DJANGO_SECRET_KEY": "k" * 64})
    assert code == 0, stderr


@pytest.mark.django_db
def test_admin_finds_a_request_by_a_serial_typed_in_any_form(client, make_request):
    admin = User.objects.create_superuser("root", "root@example.com", "a long enough password")
    wanted = make_request(serials=["G8T1-SJ02-3294-01VR"])
    other = make_request(serials=["638241420"])
    login(client, admin)
    response = client.get(reverse("admin:preservation_preservationrequest_changelist"),
                          {"q": "camera.g8t1_sj02_3294_01vr"})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [wanted]
    assert other not in response.context["cl"].queryset


@pytest.mark.django_db
def test_the_dashboard_lists_only_the_users_agency(client, make_request, user):
    mine = make_request(case_number="CR-MINE")
    make_request(created_by=User.objects.create(username="elsewhere", role=Role.REQUESTER,
                                                agency=AgencyFactory()),
                 case_number="CR-THEIRS")
    login(client, user)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert mine.case_number in body and "CR-THEIRS" not in body
