"""The background compilation used by `spermtrack demo` / `analyze` on a first run."""

import os
import subprocess
import sys

import pytest

from spermtrack import jit_warmup


def test_compile_kernels_runs_the_real_kinematics_call_and_fills_the_cache():
    jit_warmup.compile_kernels()  # raises if casa's signature or the Boxes constructor drifted
    assert jit_warmup.kernels_cached()
    assert jit_warmup.start() is None, "nothing to compile: no process"


@pytest.mark.slow
def test_background_process_compiles_into_an_empty_cache(tmp_path):
    """In a fresh process with an empty cache the kernels are missing; the warm-up fills them."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    check = [sys.executable, "-c", "from spermtrack.jit_warmup import kernels_cached; print(kernels_cached())"]
    assert subprocess.run(check, env=env, capture_output=True, text=True, check=True).stdout.strip() == "False"
    subprocess.run([sys.executable, "-m", "spermtrack.jit_warmup"], env=env, check=True, timeout=600)
    assert subprocess.run(check, env=env, capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("SPERMTRACK_NO_WARMUP", "1")
    assert jit_warmup.start() is None


def test_finish_stops_a_process_that_runs_too_long():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    jit_warmup.finish(proc, timeout_s=0.1)
    assert proc.returncode is not None
