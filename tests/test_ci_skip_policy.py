"""CI cannot go green by skipping: with SPERMTRACK_REQUIRE_EXTRAS=1 a missing extra fails the run.

Runs pytest in a child process on tests/test_io_mot.py with motmetrics hidden
(``sys.modules["motmetrics"] = None``, as if it were not installed): without the
variable the module is skipped; with it (as .ci/run sets it) the skip is an error,
pytest exits non-zero and the skip report names the forbidden skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HIDE_MOTMETRICS = (
    "import sys; sys.modules['motmetrics'] = None; import pytest; "
    "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_io_mot.py']))"
)


def run_without_motmetrics(tmp_path: Path, require: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / f"skips_{require}.json"
    env = {**os.environ, "SPERMTRACK_REQUIRE_EXTRAS": require, "SPERMTRACK_SKIP_REPORT": str(report)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", HIDE_MOTMETRICS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, json.loads(report.read_text())


@pytest.mark.parametrize("require", ["0", "1"])
def test_missing_motmetrics_skips_locally_and_fails_in_ci(tmp_path, require):
    proc, skips = run_without_motmetrics(tmp_path, require)
    out = proc.stdout + proc.stderr
    assert skips["require_extras"] is (require == "1")
    if require == "0":
        assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, out
        assert "skipped" in out and "could not import 'motmetrics'" in out
        assert skips["forbidden"] == [] and skips["allowed"][0]["nodeid"] == "tests/test_io_mot.py"
    else:
        assert proc.returncode == pytest.ExitCode.TESTS_FAILED, out
        assert "may not skip here" in out and "FORBIDDEN SKIP tests/test_io_mot.py" in out
        assert skips["allowed"] == []
        assert skips["forbidden"] == [
            {"nodeid": "tests/test_io_mot.py", "reason": skips["forbidden"][0]["reason"]},
        ]
        assert "could not import 'motmetrics'" in skips["forbidden"][0]["reason"]


def test_a_skip_for_no_cuda_gpu_is_allowed_in_ci(tmp_path):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_gpu_only.py").write_text(
        "import pytest\n\n\n@pytest.mark.skip(reason='needs a CUDA GPU (none found on this machine)')\n"
        "def test_gpu():\n    pass\n\n\ndef test_cpu():\n    pytest.skip('needs the chromium binary')\n"
    )
    report = tmp_path / "skips.json"
    env = {**os.environ, "SPERMTRACK_REQUIRE_EXTRAS": "1", "SPERMTRACK_SKIP_REPORT": str(report)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    skips = json.loads(report.read_text())
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout
    assert [e["nodeid"] for e in skips["allowed"]] == ["test_gpu_only.py::test_gpu"]
    assert [e["nodeid"] for e in skips["forbidden"]] == ["test_gpu_only.py::test_cpu"]
    assert "1 failed, 1 skipped" in proc.stdout


def test_ci_script_requires_extras_and_runs_the_readme_command():
    """.ci/run installs what the README says, sets the variable, fails on a failed Chromium install and checks the skips."""
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[all,test]" && .venv/bin/python -m pytest -q' in readme
    assert '-m pip install -q -e ".[all,test]"' in ci and "-m pytest -q -p no:cacheprovider\n" in ci
    assert "export SPERMTRACK_REQUIRE_EXTRAS=1" in ci and "SPERMTRACK_SKIP_REPORT" in ci
    install = ci[ci.index("apt-get install") : ci.index("python3 -m venv")]
    assert "exit 1" in install and "will be skipped" not in install
    assert 'sys.exit(1 if skips["forbidden"] else 0)' in ci
