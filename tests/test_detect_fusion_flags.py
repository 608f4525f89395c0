"""The fusion switches on the command line and in AnalysisConfig (recorded, round-tripped, refused where they do not apply)."""

from __future__ import annotations

import json

import pytest
from _pipeline_checks import simulated_folder

from spermtrack.analysis.config import AnalysisConfig
from spermtrack.cli import main
from spermtrack.detect.normalize import FusedDetector
from spermtrack.detect.spec import DetectorSpec, DetectorSpecError


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 12-frame simulated VISEM video folder."""
    return simulated_folder(tmp_path_factory.mktemp("clip"), frames=12, seed=5, density=10.0)[0]


def test_spec_fields_reach_get_detector_and_survive_json():
    spec = DetectorSpec.parse("auto", fuse=False, tta=True)
    assert spec.kwargs() == {"fuse": False, "tta": True} and DetectorSpec().kwargs() == {}
    assert DetectorSpec.parse("default", scale_search=False).kwargs() == {"scale_search": False}
    det = spec.build()
    assert isinstance(det, FusedDetector) and det.companion is None and det.tta
    config = AnalysisConfig(detector=spec)
    assert AnalysisConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(DetectorSpecError, match="auto and default"):
        DetectorSpec.parse("classical", fuse=False)
    with pytest.raises(DetectorSpecError, match="true or false"):
        DetectorSpec("auto", tta="yes")


def test_class_map_keys_stay_integers_through_json():
    spec = DetectorSpec.parse("yolo:best.pt", class_map={0: 0, 3: 2})
    back = DetectorSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and back.kwargs()["class_map"] == {0: 0, 3: 2}


def test_cli_no_fuse_is_recorded_in_summary(clip, tmp_path):
    out = tmp_path / "r"
    args = ["analyze", str(clip), "--out", str(out), "-q", "--no-video", "--no-report", "--max-frames", "8", "--no-fuse"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["detector"]["fuse"] is False


@pytest.mark.parametrize("verb", ["analyze", "detect"])
def test_cli_refuses_fusion_flags_for_other_detectors(verb, clip, tmp_path, capsys):
    target = ["--out", str(tmp_path / "o")] if verb == "analyze" else ["-o", str(tmp_path / "d.txt")]
    assert main([verb, str(clip), *target, "--detector", "classical", "--tta", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "auto and default" in err[0], err
