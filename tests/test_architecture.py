"""The shape of the code: layers point one way (no import cycle, imports inside functions
included), code cites the repository's docs/ and nothing outside it, and templates only render."""
import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("preservation", "config")


def _modules():
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    modules = {}
    for path in files:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph():
    """Module -> the project modules it imports, wherever the import statement stands."""
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + ["%s.%s" % (base, alias.name) for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_through_an_import_inside_a_function():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(import_graph()) == []


def test_the_pure_rules_import_nothing_of_django_s_orm_or_the_rest_of_the_app():
    graph = import_graph()
    for name in graph:
        if name.startswith("preservation.rules."):
            assert all(target.startswith("preservation.rules") for target in graph[name]), name
            source = _modules()[name].read_text(encoding="utf-8")
            assert "django.db" not in source, name


def test_template_tags_query_and_write_nothing():
    for path in (ROOT / "preservation" / "templatetags").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\.objects\b|\.save\(|\.delete\(|\.update\(|services", source), path


def test_views_do_not_import_other_views_private_helpers():
    for path in (ROOT / "preservation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("views"):
                assert not any(alias.name.startswith("_") for alias in node.names), path


CITATION = re.compile(r"\bdocs/([\w-]+\.md)")


def _code_files():
    for folder in ("preservation", "config", "templates", "static/js", "static/css", "static/pdf", "scripts", "bench"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".html", ".txt", ".js", ".css", ".sh"}:
                yield path


@pytest.mark.parametrize("pattern", [r"shared/", r"\.\./shared", r"\b[Ii]ssue \d+"])
def test_no_code_points_outside_the_repository_or_at_an_issue(pattern):
    offenders = [str(path.relative_to(ROOT)) for path in _code_files()
                 if "migrations" not in path.parts and re.search(pattern, path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_docs_page_the_code_cites_exists():
    cited = {name for path in _code_files() for name in CITATION.findall(path.read_text(encoding="utf-8"))}
    assert cited, "the code cites docs/"
    assert sorted(name for name in cited if not (ROOT / "docs" / name).exists()) == []


# Where code works on a preservation request rather than answering an HTTP request: here the
# word `request` alone would be ambiguous, so it never names a parameter (docs/architecture.md).
DOMAIN_MODULES = ["preservation/requests/services.py", "preservation/requests/selectors.py",
                  "preservation/correspondence/services.py", "preservation/documents/services.py",
                  "preservation/evidence/manifests.py", "preservation/reminders/scheduling.py",
                  "preservation/reminders/calendar.py", "preservation/reminders/inbox.py",
                  "preservation/reminders/emails.py", "preservation/core/permissions.py",
                  *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "preservation" / "rules").glob("*.py"))]


def _parameters_named_request(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            if any(argument.arg == "request" for argument in arguments):
                yield getattr(node, "name", "<lambda>")


def test_the_check_for_request_parameters_finds_one():
    assert list(_parameters_named_request("def f(*, request, now):\n    pass\n")) == ["f"]
    assert list(_parameters_named_request("def f(*, preservation_request, now):\n    pass\n")) == []


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_domain_functions_take_the_preservation_request_as_preservation_request(module):
    assert list(_parameters_named_request((ROOT / module).read_text(encoding="utf-8"))) == []
