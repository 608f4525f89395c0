"""Shared pytest configuration: headless plotting, GPU detection, and CI's ban on skips.

``SPERMTRACK_REQUIRE_EXTRAS=1`` (set by ``.ci/run``, which installs every extra and
Chromium) turns every skip into a failure, except the skips listed in
:data:`ALLOWED_SKIPS_IN_CI` (no CUDA GPU on CI machines). A module whose
``pytest.importorskip("motmetrics")`` would quietly skip 28 tests when motmetrics
is missing or broken fails instead, and so does the report test when Chromium
should have been installed. At the end of the session the skips are counted; with
``SPERMTRACK_SKIP_REPORT=path`` the counts and reasons are also written there as
JSON, for ``.ci/run``'s closing check (forbidden skips must be zero).
"""

import json
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("YOLO_OFFLINE", "1")

#: Substrings of skip reasons CI may still skip on: the CI machines have no CUDA GPU.
ALLOWED_SKIPS_IN_CI = ("needs a CUDA GPU",)

_SKIPS: dict[str, list[dict]] = {"allowed": [], "forbidden": []}


def require_extras() -> bool:
    """True where the environment says every extra (and Chromium) is installed: skips are failures."""
    return os.environ.get("SPERMTRACK_REQUIRE_EXTRAS", "") not in ("", "0")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_configure(config):
    if require_extras():
        # a forbidden module-level skip becomes a collection error: keep running the other modules
        config.option.continue_on_collection_errors = True


def pytest_collection_modifyitems(config, items):
    if not cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none found on this machine)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _police_skip(report) -> None:
    """Record a skip; under SPERMTRACK_REQUIRE_EXTRAS turn a forbidden one into a failure."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    entry = {"nodeid": report.nodeid, "reason": reason}
    allowed = not require_extras() or any(a in reason for a in ALLOWED_SKIPS_IN_CI)
    found = _SKIPS["allowed" if allowed else "forbidden"]
    if entry not in found:  # --doctest-modules imports each test module a second time
        found.append(entry)
    if allowed:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"SPERMTRACK_REQUIRE_EXTRAS=1: this test may not skip here (CI installs every extra and Chromium); skip reason: {reason}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _police_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _police_skip(outcome.get_result())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if require_extras() or _SKIPS["forbidden"]:
        terminalreporter.write_line(
            f"spermtrack skip check: {len(_SKIPS['forbidden'])} forbidden skip(s), "
            f"{len(_SKIPS['allowed'])} allowed ({', '.join(ALLOWED_SKIPS_IN_CI)})"
        )
        for entry in _SKIPS["forbidden"]:
            terminalreporter.write_line(f"  FORBIDDEN SKIP {entry['nodeid']}: {entry['reason']}")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("SPERMTRACK_SKIP_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"require_extras": require_extras(), **_SKIPS}, fh, indent=1)
    if _SKIPS["forbidden"] and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
