"""The accessibility helper judges what a person sees once the page has settled.

A button whose colours are still changing (Bootstrap fades a button's colours in 0.15 s when the
mouse passes over it, as it does when rows added above a button move it under a resting
pointer) has, for a moment, colours that are neither its normal nor its hover ones. axe-core
measured such a frame once in CI and reported a contrast failure that no person ever sees. The
helper waits for running transitions to end; a colour that stays too faint is still reported."""
import pytest

from tests.browser.conftest import serious_accessibility_violations

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="en"><head><title>Helper</title><style>
  button { font-size: 14px; color: #dc3545; background: #fff; border: 1px solid #dc3545;
           transition: color 4s linear, background-color 4s linear; }
  button.on { color: #fff; background: #dc3545; }
  button.faint { color: #f4b6bd; }
</style></head><body><main><h1>Helper</h1>
<button type="button" id="fading">Remove invalid rows</button>
<button type="button" id="faint" class="faint">Faint</button>
</main></body></html>"""


@pytest.mark.parametrize(
    "script, reported",
    [
        # Both ends of the fade pass; its middle (pink on pink) would not.
        ("document.getElementById('fading').classList.add('on'); document.getElementById('faint').remove()", []),
        # The faint button is faint for good: waiting does not hide it.
        ("document.getElementById('fading').classList.add('on')", ["#faint"]),
    ],
    ids=["fade in progress", "faint for good"],
)
def test_the_check_waits_for_colours_to_settle(page, script, reported):
    page.set_content(PAGE)
    page.evaluate(script)
    page.wait_for_timeout(300)  # well inside the four-second fade
    violations = serious_accessibility_violations(page)
    assert [target for v in violations if v["id"] == "color-contrast" for target in v["targets"]] == reported
