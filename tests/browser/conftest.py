"""Browser tests: Playwright's Python package driving Debian's Chromium (never `playwright install`)."""
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _missing():
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (requirements-test.txt)"
    if not shutil.which(CHROMIUM):
        return "%s is missing (scripts/setup.sh --test installs it)" % CHROMIUM
    if not AXE.exists():
        return "axe-core is missing (npm ci)"
    return None


@pytest.fixture(scope="module")
def browser(django_db_setup):
    # Module scope: while Playwright runs, its event loop sits in this thread, and the test
    # database must exist before it starts; other modules' tests never see the loop.
    problem = _missing()
    if problem:
        if settings.IN_CI:
            pytest.fail("CI=true but " + problem)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls made
    # meanwhile (test data, database flushes) are ordinary blocking calls, so Django's async
    # guard is lifted for exactly as long as the browser runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    # bypass_csp: axe-core is injected as an inline script, which the app's CSP rightly forbids.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" confirmations
    yield page
    context.close()


def serious_accessibility_violations(page):
    """axe-core's serious and critical violations on the current page (id, impact, targets),
    measured once its transitions have ended: a colour caught halfway through a fade is neither of
    the two a person reads (tests/browser/test_browser_axe_helper.py)."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const ending = document.getAnimations().filter(
                a => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
            await Promise.allSettled(ending.map(a => a.finished));
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]
