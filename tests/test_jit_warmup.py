"""The background compilation used by `spermtrack demo` / `analyze` on a first run."""

import subprocess
import sys

from spermtrack import jit_warmup


def test_compile_kernels_runs_the_real_kinematics_call():
    jit_warmup.compile_kernels()  # raises if casa's signature or the Boxes constructor drifted


def test_background_process_exits_cleanly():
    proc = jit_warmup.start()
    if proc is None:  # one-core machine or switched off
        assert jit_warmup.finish(None) is None
        return
    assert proc.wait(timeout=300) == 0


def test_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("SPERMTRACK_NO_WARMUP", "1")
    assert jit_warmup.start() is None


def test_finish_stops_a_process_that_runs_too_long():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    jit_warmup.finish(proc, timeout_s=0.1)
    assert proc.returncode is not None
