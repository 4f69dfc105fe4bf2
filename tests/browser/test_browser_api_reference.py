"""The API reference page renders the OpenAPI 3.1 schema, under the app's own CSP (docs/api.md)."""
import shutil

import pytest
from django.conf import settings

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """As conftest's ``browser``, without axe-core (no accessibility check here)."""
    if not shutil.which(CHROMIUM):
        if settings.IN_CI:
            pytest.fail("CI=true but %s is missing" % CHROMIUM)
        pytest.skip("%s is missing (scripts/setup.sh --test installs it)" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_reference_page_shows_every_operation_of_the_3_1_schema(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="en-US")  # the CSP is enforced
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto("/api/v1/docs/")
    page.locator(".opblock").first.wait_for()

    assert page.locator(".opblock").count() >= 22  # every operation (more may come)
    assert "3.1" in page.locator(".version-stamp").all_inner_texts()[-1]
    assert page.locator(".errors-wrapper").count() == 0
    assert problems == []
    context.close()
