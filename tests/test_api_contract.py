"""The API as a client generated from its own schema sees it (docs/api.md).

Against a live server this test starts on a free port: the schema it serves is fed to
openapi-python-client, which must print no warning; the integrator's script
tests/contract/everyday_flow.py must pass ``mypy --strict`` against the generated package; the
script then runs the everyday flow through it (create with an idempotent retry, validation,
send, receipt, extension, a document and its PDF, errors), and every response it received is
checked against the schema: by schemathesis, and by a stricter reading that also refuses
fields the schema does not list.
"""
import copy
import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
import schemathesis
import time_machine

from preservation.api.tokens import api_token_create
from preservation.models import Role
from tests.api_support import fresh_throttle  # noqa: F401 (fixture)
from tests.conftest import utc
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOW = utc(2026, 3, 2, 17, 0)  # 12:00 in New York, the agency's zone
TODAY = dt.date(2026, 3, 2)
FLOW = Path(__file__).parent / "contract" / "everyday_flow.py"
PACKAGE = "preserve_api_client"
BIN = Path(sys.executable).parent


@pytest.fixture
def frozen_time():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module")
def served_schema(live_server):
    response = httpx.get(live_server.url + "/api/v1/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def generated(served_schema, tmp_path_factory):
    """The client package generated from the live schema, and what the generator printed."""
    tmp_path = tmp_path_factory.mktemp("contract")
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(served_schema))
    env = {**os.environ, "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", ""))}  # its ruff
    run = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", schema_file, "--output-path", tmp_path / PACKAGE,
         "--meta", "none"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    return tmp_path, run.returncode, run.stdout + run.stderr


def test_the_generator_prints_no_warning_and_the_client_script_passes_mypy_strict(generated):
    root, returncode, output = generated

    assert returncode == 0, output
    assert not re.search(r"warning|error|unsupported", output, re.IGNORECASE), output
    # Only the script is judged (the generator's own client.py is its business); its calls and
    # every model it touches are checked against the generated types.
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--cache-dir", os.devnull, FLOW],
        capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(root)},
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def _load(root):
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("everyday_flow", FLOW)
    module = importlib.util.module_from_spec(spec)
    sys.modules["everyday_flow"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def flow(generated):
    root = generated[0]
    module = _load(root)
    yield module
    sys.path.remove(str(root))
    for name in [name for name in sys.modules
                 if name in (PACKAGE, "everyday_flow") or name.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def _strict(node):
    """The schema with ``additionalProperties: false`` wherever it lists properties and says
    nothing of others: a field the server sends but the schema omits is a violation too."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)
    return node


def _violations(schema, responses):
    checker = schemathesis.openapi.from_dict(copy.deepcopy(schema))
    components = _strict(copy.deepcopy(schema["components"]))
    found = []
    for response in responses:
        method, path = response.request.method, response.request.url.path
        label = "%s %s %d" % (method, path, response.status_code)
        operation = checker.find_operation_by_path(method, path)
        if operation is None:
            found.append("%s: no such operation" % label)
            continue
        documented = operation.definition.raw["responses"].get(str(response.status_code))
        if documented is None:
            found.append("%s: status not documented" % label)
            continue
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        if media_type not in documented.get("content", {}):
            found.append("%s: content type %s not documented" % (label, media_type))
            continue
        try:
            operation.validate_response(response)
        except Exception as exc:  # schemathesis reports all of a response's failures at once
            found.append("%s: %s" % (label, exc))
        if media_type == "application/json":
            body_schema = {**documented["content"][media_type]["schema"], "components": components}
            validator = jsonschema.Draft202012Validator(body_schema)
            found += ["%s: %s at %s" % (label, error.message, list(error.absolute_path))
                      for error in validator.iter_errors(response.json())]
    return found


def test_the_everyday_flow_runs_through_the_generated_client_and_every_response_fits_the_schema(
        flow, served_schema, live_server, frozen_time):
    user = UserFactory(role=Role.PARALEGAL)
    _token, plain = api_token_create(user=user, name="contract test")
    responses = []

    def record(response):
        response.read()
        responses.append(response)

    client_class = sys.modules[PACKAGE].AuthenticatedClient
    with client_class(base_url=live_server.url, token=plain, raise_on_unexpected_status=True,
                      httpx_args={"event_hooks": {"response": [record]}}) as client:
        result = flow.run_flow(client, today=TODAY)
    with client_class(base_url=live_server.url, token="pv_wrong_token", raise_on_unexpected_status=True,
                      httpx_args={"event_hooks": {"response": [record]}}) as stranger:
        refused = sys.modules[PACKAGE + ".api.me.me_retrieve"].sync(client=stranger)

    assert result.username == user.username and result.all_serials_valid
    assert result.replayed_id == result.request_id  # the retried create returned the first request
    assert result.states == ["draft", "submitted", "preserving", "extension_requested", "extended"]
    assert result.window_start_local.utcoffset() == dt.timedelta(hours=-5)
    assert result.window_start_local.hour == 9
    assert result.listed == 1 and result.next_page is None
    assert result.invalid_codes == {"window_end": ["end_before_start"]}
    assert result.missing_code == "not_found"
    assert refused.code == "invalid_token"
    assert result.downloaded_bytes > 0 and result.downloaded_sha256 == result.document_sha256
    assert {r.status_code for r in responses} == {200, 201, 202, 400, 401, 404}
    assert _violations(served_schema, responses) == []


def test_the_strict_reading_does_catch_a_null_the_schema_forbids_and_an_unlisted_field(served_schema):
    """The validator above is not vacuous: the two faults integrators met are found."""
    request = httpx.Request("GET", "http://testserver/api/v1/me/")
    good = {"username": "u", "agency": None, "role": "paralegal", "token_name": "t",
            "token_expires_at": "2026-04-01T00:00:00Z"}
    fine, *bad = [httpx.Response(200, json=body, request=request)
                  for body in (good, {**good, "username": None}, {**good, "surprise": 1})]
    for response in (fine, *bad):
        response.elapsed = dt.timedelta(0)

    assert _violations(served_schema, [fine]) == []
    assert [len(_violations(served_schema, [response])) > 0 for response in bad] == [True, True]
