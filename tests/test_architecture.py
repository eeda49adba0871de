"""The structure the code must keep (docs/architecture.md): import contracts, no
domain signals, no reaching into another app's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
import weakref
from pathlib import Path

import django.dispatch
from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = (
    "config",
    "core",
    "accounts",
    "borrowers",
    "creditdata",
    "scoring",
    "lenders",
    "marketplace",
    "cms",
    "workflows",
)


def _project_sources():
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield package, path


def test_import_contracts_hold():
    """``lint-imports`` (import-linter, contracts in pyproject.toml) keeps every
    contract: a wrong arrow between apps fails here and in CI."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_arrow_breaks_the_direction_contract(tmp_path):
    """The contracts can fail: borrowers importing creditdata (the old cycle) is
    reported as broken. Checked on a copy, so the tree is never touched."""
    import shutil

    for package in (*PROJECT_PACKAGES, "devtools"):
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    selectors = tmp_path / "borrowers" / "selectors.py"
    selectors.write_text(
        selectors.read_text() + "\nfrom creditdata import categories  # noqa\n"
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "borrowers is not allowed to import creditdata" in result.stdout


def test_no_project_module_defines_or_connects_a_signal():
    """Domain steps are explicit calls in workflows/, never signal receivers."""
    offenders = []
    for _package, path in _project_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                function = node.func
                name = (
                    function.attr
                    if isinstance(function, ast.Attribute)
                    else getattr(function, "id", "")
                )
                if name in ("Signal", "receiver", "connect"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []


def test_no_receiver_is_connected_to_a_project_signal_at_run_time():
    """At run time too: no signal object lives in a project module, and no receiver
    of Django's or a library's signals is a project function."""
    import gc

    project_roots = {f"{package}." for package in PROJECT_PACKAGES}
    signals = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, django.dispatch.Signal):
                signals.append(obj)
        except ReferenceError:  # a weak proxy whose object is gone
            continue
    assert signals  # Django's own signals at least
    for signal in signals:
        for entry in signal.receivers:
            receiver = entry[1]  # (lookup key, receiver or weak reference, …)
            target = (
                receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
            )
            module = getattr(target, "__module__", "") or ""
            assert not any(module.startswith(root) for root in project_roots), (
                f"{module}.{getattr(target, '__qualname__', target)} receives a signal"
            )
    assert apps.ready


def _private_imports(path: Path, own_package: str, root: Path = ROOT) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            package = node.module.split(".")[0]
            if package in PROJECT_PACKAGES and package != own_package:
                private_module = any(
                    part.startswith("_") and not part.startswith("__")
                    for part in node.module.split(".")
                )
                names = [
                    alias.name
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
                if private_module or names:
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno} "
                        f"from {node.module} import {', '.join(names) or '…'}"
                    )
    return found


def test_no_app_imports_another_apps_private_names():
    offenders = []
    for package, path in _project_sources():
        offenders.extend(_private_imports(path, package))
    assert offenders == []


def test_the_private_name_check_can_fail(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from scoring.services import _score, enterprise_score\n"
        "from borrowers.services import _require_owner\n"
    )
    assert _private_imports(probe, "borrowers", root=tmp_path) == [
        "probe.py:1 from scoring.services import _score"
    ]
