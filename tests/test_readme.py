"""The README's Python example runs as written (on a simulated video and a simulated VISEM root)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    from spermtrack.io.visem import write_video
    from spermtrack.simulate import simulate_video

    blocks = _python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "the README should have one Python example"
    code = blocks[0]
    # The example's inputs: a video file and a VISEM root holding video 52 (an official validation video).
    video = simulate_video(seed=3, num_frames=60, density=15, motility=(0.5, 0.2, 0.1, 0.2))
    root = tmp_path / "VISEM_Tracking_Train_v4"
    write_video(root, "52", video.boxes, frames=video.frames(), fps=50.0)
    (tmp_path / "sample.mp4").write_bytes((root / "52" / "52.mp4").read_bytes())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "track_id" in out and "vsl" in out
    idf1 = float(out.strip().splitlines()[-1])
    assert 0.5 < idf1 <= 1.0  # the tracker on true boxes of a sparse clip
    assert (tmp_path / "results" / "report.html").is_file()
