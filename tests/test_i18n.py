"""Languages: the profile language wins once signed in; the switcher updates it."""
import pytest
from django.urls import reverse

from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_a_signed_in_user_reads_pages_in_their_profile_language(client, user):
    user.language = "de"
    user.save()
    login(client, user)
    response = client.get(reverse("preservation:dashboard"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    assert '<html lang="de"' in response.content.decode()


def test_the_switcher_changes_the_profile_language(client, user):
    login(client, user)
    response = client.post(reverse("set_language"), {"language": "es", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "es"


def test_the_switcher_ignores_an_unknown_language(client, user):
    login(client, user)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"


def test_the_switcher_refuses_get(client, user):
    login(client, user)
    assert client.get(reverse("set_language"), {"language": "es"}).status_code == 405
    user.refresh_from_db()
    assert user.language == "en"


def test_an_anonymous_visitor_gets_the_browser_language_on_the_sign_in_page(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "fr"
