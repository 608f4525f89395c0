"""A detector named by a string, parsed once: :class:`DetectorSpec`.

The grammar (``--detector`` on the command line, ``detector=`` in the API)::

    auto | default | classical | gt | gt-noisy | yolo:PATH | onnx:PATH | yolov5:PATH

``auto`` is the best detector that runs here (the shipped model), ``default`` the shipped
model through OpenCV, ``gt`` the labels of a VISEM-Tracking video folder (``gt-noisy``:
the same, degraded). A spec also holds the options :func:`~spermtrack.detect.get_detector`
takes (``polarity``, ``head_px``, ``conf``, ``iou``, ``device`` and any other keyword of the
detector's constructor), so that one frozen, JSON-serialisable value says which detector
ran and how (it is recorded in ``summary.json``).

>>> DetectorSpec.parse("YOLO:runs/best.pt").kind, DetectorSpec.parse("yolo:runs/best.pt").path
('yolo', 'runs/best.pt')
>>> DetectorSpec.parse("classical", polarity="dark").kwargs()
{'polarity': 'dark'}
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParameterError, shown

#: Detector kinds that need no path.
SIMPLE_KINDS = ("auto", "default", "classical", "gt", "gt-noisy")
#: Detector kinds followed by ``:PATH`` (weights).
PATH_KINDS = ("yolo", "onnx", "yolov5")
#: Every kind a spec may name.
KINDS = SIMPLE_KINDS + PATH_KINDS
#: Kinds read from the ground truth of the source (a VISEM video folder's labels).
GROUND_TRUTH_KINDS = ("gt", "gt-noisy")
#: Kinds whose per-video self-calibration ``polarity`` and ``head_px`` pin.
SELF_CALIBRATED_KINDS = ("auto", "default", "classical")
#: Kinds whose learnt model is fused with the classical detector (``fuse``, ``tta`` apply).
FUSED_KINDS = ("auto", "default")
#: On/off settings of the self-calibration itself (every self-calibrated kind), not of the fusion.
LOOK_SWITCHES = ("mask_overlays",)
#: Kinds that run a YOLO network (``conf``, ``iou``, ``device`` apply).
YOLO_KINDS = ("auto", "default", "yolo", "onnx", "yolov5")

#: A detector given as an object: its name is recorded, it cannot be rebuilt from the spec.
OBJECT_KIND = "object"

DETECTOR_HELP = (
    "auto (the best that runs here: the shipped model), default (shipped model, ONNX), classical, "
    "gt (labels of a VISEM video folder), gt-noisy, yolo:WEIGHTS (.pt or .onnx), onnx:WEIGHTS, yolov5:WEIGHTS"
)


class DetectorSpecError(ParameterError):
    """A detector name or one of its options is not valid."""


#: ``--device`` values (as ultralytics takes them): auto, cpu, mps, cuda, cuda:N, or CUDA indices N or N,M,...
_DEVICE_RE = re.compile(r"auto|cpu|mps|cuda(:\d+)?|\d+(,\d+)*")
DEVICE_HELP = "auto, cpu, mps, cuda, cuda:N or CUDA GPU indices such as 0 or 0,1"


def check_device(device: Any) -> str | None:
    """``device`` as a string after checking its form (:data:`DEVICE_HELP`); None stays None.

    Only the spelling is checked (no torch import); :func:`require_device` checks that a
    CUDA GPU of that index exists, :func:`require_cpu_device` that a CPU-only detector is asked
    for no other device.

    >>> check_device("cuda:1"), check_device(0), check_device(None)
    ('cuda:1', '0', None)
    """
    if device is None:
        return None
    text = str(device)
    if isinstance(device, bool) or not _DEVICE_RE.fullmatch(text.strip().lower()):
        raise DetectorSpecError(f"device (--device) must be {DEVICE_HELP}; got {text!r}")
    return text


def cuda_indices(device: str | None) -> list[int]:
    """The CUDA GPU indices a (checked) device names: ``"cuda:1"`` -> [1], ``"0,1"`` -> [0, 1], ``"cuda"`` -> [0]."""
    text = (device or "").strip().lower()
    if text == "cuda":
        return [0]
    if text.startswith("cuda:"):
        return [int(text[5:])]
    if text and text[0].isdigit():
        return [int(t) for t in text.split(",")]
    return []


def cuda_gpu_count() -> tuple[int, str]:
    """``(number of CUDA GPUs, who counted them)``: torch's count where torch is installed, else OpenCV's
    (``"torch"`` or ``"OpenCV"``).

    Torch is imported only when it is installed; without it ``cv2.cuda.getCudaEnabledDeviceCount()``
    answers (0 for an OpenCV built without CUDA, as the wheels on PyPI are).
    """
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        try:
            import torch
        except (ImportError, OSError):  # installed but broken (a missing CUDA library): as if absent
            torch = None
        if torch is not None:
            return (torch.cuda.device_count() if torch.cuda.is_available() else 0), "torch"
    import cv2

    try:  # -1: a CUDA build of OpenCV without a working driver
        count = max(0, int(cv2.cuda.getCudaEnabledDeviceCount()))
    except (AttributeError, cv2.error):  # an OpenCV without its cuda module
        count = 0
    return count, "OpenCV"


def require_device(device: str | None) -> None:
    """Refuse a device of a CUDA GPU that is not there (one-line :class:`DetectorSpecError`).

    The GPUs are counted by torch where it is installed, else by OpenCV (:func:`cuda_gpu_count`),
    so a CUDA device asked for on a machine without one is an error with or without torch.
    """
    wanted = cuda_indices(check_device(device))
    if not wanted:
        return
    count, counter = cuda_gpu_count()
    missing = [i for i in wanted if i >= count]
    if missing:
        have = f"{count} CUDA GPU(s), indices 0-{count - 1}" if count else "no CUDA GPU"
        who = "torch" if counter == "torch" else "torch is not installed and OpenCV"
        raise DetectorSpecError(
            f"device (--device) {device!r}: no CUDA GPU {missing[0]} here ({who} sees {have}); use cpu or auto"
        )


def require_cpu_device(device: str | None, runner: str) -> None:
    """Refuse any device but ``auto`` and ``cpu`` for a detector that runs on the CPU only.

    ``runner`` says what runs it (``"OpenCV's DNN module"``). A CUDA GPU that is not there is
    refused as by :func:`require_device`; one that is there, or ``mps``, is refused because the
    detector would run on the CPU while the record said otherwise.
    """
    text = check_device(device)
    if text is None or text.strip().lower() in ("auto", "cpu"):
        return
    require_device(text)
    raise DetectorSpecError(
        f"device (--device) {text!r}: this detector runs on the CPU only ({runner}); use cpu or auto, "
        "or a .pt model through ultralytics (the yolo extra) to run on a GPU"
    )


def split_spec(text: str) -> tuple[str, str]:
    """``(kind, argument)`` of a detector string, the kind lower-cased: ``"yolo:a.pt"`` -> ``("yolo", "a.pt")``.

    The one place that splits ``KIND:PATH``; nothing is checked (see :meth:`DetectorSpec.parse`).

    >>> split_spec(" Onnx:models/x.onnx ")
    ('onnx', 'models/x.onnx')
    """
    if not isinstance(text, str):
        raise DetectorSpecError(f"a detector name must be a string such as 'auto', got {type(text).__name__}")
    kind, _, arg = text.strip().partition(":")
    return kind.strip().lower(), arg.strip()


def detector_kind(text: str) -> str:
    """The kind of a detector string (``"yolo"`` for ``"yolo:best.pt"``)."""
    return split_spec(text)[0]


def is_ground_truth(text: str) -> bool:
    """True for ``gt`` and ``gt-noisy``: detectors that read the source's labels."""
    return detector_kind(text) in GROUND_TRUTH_KINDS


@dataclass(frozen=True)
class DetectorSpec:
    """Which detector runs, and its options.

    Attributes
    ----------
    name : str
        ``auto``, ``default``, ``classical``, ``gt``, ``gt-noisy``, ``yolo:PATH``, ``onnx:PATH``
        or ``yolov5:PATH`` (the kind is case-insensitive and stored lower-case).
    polarity : {"auto", "bright", "dark"}
        Sperm heads brighter (phase contrast) or darker (bright field) than the background;
        ``auto`` measures it per video (auto, default and classical only).
    head_px : float or None
        Side of a sperm head's box in pixels; None measures it per video (auto, default and
        classical only).
    conf, iou : float or None
        YOLO score and NMS IoU thresholds (0..1); None: the detector's defaults.
    device : str or None
        YOLO device (``cpu``, ``0``, ...); None: the detector's choice.
    fuse : bool
        Fuse the learnt model's boxes with the classical detector's (auto and default only;
        :mod:`spermtrack.detect.fusion`). Default on.
    tta : bool
        Also run the model on horizontally mirrored frames and merge both passes (auto and
        default only; about twice the model's time). Default off.
    scale_search : bool
        Let the model check the scale the self-calibration chose, from its own boxes on the
        first batch, and move to the candidate scale at which its boxes come out at its trained
        size (auto and default only; docs/detection.md). Default on.
    hedge : bool
        Read a video whose measured head polarity is unclear both ways (bright and dark heads)
        and keep the boxes of both readings (auto and default only; about twice the model's
        time on those videos only). Default on.
    size_prior : bool
        Lower the scores of sperm boxes far smaller than the video's typical head box (auto
        and default only; :mod:`spermtrack.detect.size_prior`). Default on.
    mask_overlays : bool
        Find burnt-in panels (text panels, time-stamp boxes, letterbox bars) on each video's
        first frames, hide them from the detector and drop boxes in them (auto, default and
        classical; :mod:`spermtrack.detect.overlay`). Default on.
    options : tuple of (name, value)
        Any other keyword of the detector's constructor (e.g. ``miss`` of ``gt``), sorted by
        name; :meth:`kwargs` returns them with the named options above.
    """

    name: str = field(
        default="auto",
        metadata={"flag": "--detector", "metavar": "NAME", "help": DETECTOR_HELP},
    )
    polarity: str = field(
        default="auto",
        metadata={
            "flag": "--polarity",
            "choices": ("auto", "bright", "dark"),
            "help": "sperm heads brighter (phase contrast) or darker (bright-field) than the background; "
            "auto: measured per video",
        },
    )
    head_px: float | None = field(
        default=None,
        metadata={
            "flag": "--head-px",
            "metavar": "N",
            "type": float,
            "help": "side of a sperm head's box in pixels (VISEM-Tracking: 23)",
            "default_text": "measured per video",
        },
    )
    conf: float | None = field(
        default=None,
        metadata={
            "flag": "--conf",
            "metavar": "P",
            "type": float,
            "help": "YOLO score threshold, 0 to 1",
            "default_text": "the detector's, 0.25",
        },
    )
    iou: float | None = field(
        default=None,
        metadata={
            "flag": "--iou",
            "metavar": "P",
            "type": float,
            "help": "YOLO NMS IoU threshold, 0 to 1",
            "default_text": "the detector's, 0.7",
        },
    )
    device: str | None = field(
        default=None,
        metadata={"flag": "--device", "metavar": "DEV", "help": f"YOLO device: {DEVICE_HELP}", "default_text": "auto"},
    )
    fuse: bool = field(
        default=True,
        metadata={
            "flag": "--fuse",
            "help": "fuse the learnt model's boxes with the classical detector's, weighted by how well the two agree "
            "on the video (auto and default; docs/detection.md)",
        },
    )
    tta: bool = field(
        default=False,
        metadata={
            "flag": "--tta",
            "help": "also run the model on mirrored frames and merge both passes (auto and default): more accurate "
            "(+0.02 sperm AP50 on simulated microscopes, docs/detection.md) at about half the speed",
        },
    )
    scale_search: bool = field(
        default=True,
        metadata={
            "flag": "--scale-search",
            "help": "let the model check the input scale from its own boxes on the first batch and move to the scale at "
            "which they come out at its trained size (auto and default; docs/detection.md)",
        },
    )
    hedge: bool = field(
        default=True,
        metadata={
            "flag": "--hedge",
            "help": "read a video whose measured head polarity is unclear both ways and keep the boxes of both readings "
            "(auto and default; twice the model's time on those videos; docs/detection.md)",
        },
    )
    size_prior: bool = field(
        default=True,
        metadata={
            "flag": "--size-prior",
            "help": "lower the scores of sperm boxes far smaller than the video's typical head box (debris specks; "
            "auto and default; docs/detection.md)",
        },
    )
    mask_overlays: bool = field(
        default=True,
        metadata={
            "flag": "--mask-overlays",
            "help": "find burnt-in panels (white text panels, black time-stamp boxes, letterbox bars) on each video's first "
            "frames and detect nothing in them (auto, default and classical; docs/detection.md)",
        },
    )
    options: tuple = field(default=(), metadata={"flag": None})

    def __post_init__(self) -> None:
        kind, arg = split_spec(self.name)
        if kind == OBJECT_KIND:
            object.__setattr__(self, "name", f"{OBJECT_KIND}:{arg}")
        elif kind not in KINDS:
            raise DetectorSpecError(
                f"unknown detector {self.name!r}: use {', '.join(SIMPLE_KINDS)}, yolo:PATH, onnx:PATH or yolov5:PATH"
            )
        elif kind in PATH_KINDS:
            if not arg:
                raise DetectorSpecError(f"detector {self.name!r} needs a weights path, e.g. '{kind}:runs/best.pt'")
            object.__setattr__(self, "name", f"{kind}:{arg}")
        else:
            if arg:
                raise DetectorSpecError(f"detector {kind!r} takes no ':' argument, got {self.name!r}")
            object.__setattr__(self, "name", kind)
        if self.polarity not in ("auto", "bright", "dark"):
            raise DetectorSpecError(f"polarity (--polarity) must be auto, bright or dark, got {self.polarity!r}")
        if self.head_px is not None:
            _positive("head_px (--head-px)", self.head_px)
            object.__setattr__(self, "head_px", float(self.head_px))
        if (self.polarity != "auto" or self.head_px is not None) and kind not in (*SELF_CALIBRATED_KINDS, OBJECT_KIND):
            raise DetectorSpecError(
                f"--polarity and --head-px apply to the auto, default and classical detectors, not to {self.name!r}"
            )
        for label in ("conf", "iou"):
            v = getattr(self, label)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                    raise DetectorSpecError(f"{label} (--{label}) must be a number from 0 to 1, got {shown(v)}")
                object.__setattr__(self, label, float(v))
        if self.device is not None:
            object.__setattr__(self, "device", check_device(self.device))
        for label in SWITCH_DEFAULTS:
            if not isinstance(getattr(self, label), bool):
                flag = label.replace("_", "-")
                raise DetectorSpecError(f"{label} (--{flag}) must be true or false, got {getattr(self, label)!r}")
        changed = [k for k, on in SWITCH_DEFAULTS.items() if getattr(self, k) != on and k not in LOOK_SWITCHES]
        if not self.mask_overlays and kind not in (*SELF_CALIBRATED_KINDS, OBJECT_KIND):
            raise DetectorSpecError(
                f"--no-mask-overlays applies to the auto, default and classical detectors, not to {self.name!r}"
            )
        if changed and kind not in (*FUSED_KINDS, OBJECT_KIND):
            flags = ", ".join(("--" if not SWITCH_DEFAULTS[k] else "--no-") + k.replace("_", "-") for k in changed)
            raise DetectorSpecError(f"{flags}: settings of the auto and default detectors only, not of {self.name!r}")
        given = [f"--{k}" for k in ("conf", "iou", "device") if getattr(self, k) is not None]
        if given and kind not in (*YOLO_KINDS, OBJECT_KIND):
            raise DetectorSpecError(f"{' '.join(given)} apply to YOLO detectors, not to {self.name!r}")
        opts = self.options
        if isinstance(opts, dict):
            opts = tuple(opts.items())
        try:
            opts = tuple(sorted((str(k), _freeze(v)) for k, v in opts))
        except (TypeError, ValueError):
            raise DetectorSpecError(f"detector options must be a mapping of names to values, got {self.options!r}") from None
        named = {f.name for f in dataclasses.fields(self)}
        clash = sorted({k for k, _ in opts} & named)
        if clash:
            raise DetectorSpecError(f"detector options {clash} are fields of the spec; set them by name")
        object.__setattr__(self, "options", opts)

    # ------------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, spec: str | DetectorSpec = "auto", **options: Any) -> DetectorSpec:
        """A spec from a detector string and keywords of :func:`~spermtrack.detect.get_detector`.

        ``options`` named like a field (``polarity``, ``head_px``, ``conf``, ``iou``, ``device``)
        set it; the others are kept in :attr:`options`. An existing spec gets the options on top.
        """
        if isinstance(spec, DetectorSpec):
            return spec.replace(**options) if options else spec
        named = {f.name for f in dataclasses.fields(cls)} - {"name", "options"}
        fields_ = {k: options.pop(k) for k in list(options) if k in named}
        return cls(spec, options=tuple(options.items()), **fields_)

    @classmethod
    def for_object(cls, detector: Any) -> DetectorSpec:
        """The record of a detector given as an object (its name); :meth:`build` refuses it."""
        return cls(f"{OBJECT_KIND}:{getattr(detector, 'name', type(detector).__name__)}")

    def replace(self, **changes: Any) -> DetectorSpec:
        """A copy with some fields or options changed (validated)."""
        named = {f.name for f in dataclasses.fields(self)}
        extra = {k: changes.pop(k) for k in list(changes) if k not in named}
        if extra:
            changes["options"] = tuple({**dict(self.options), **extra}.items())
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ facts
    @property
    def kind(self) -> str:
        """``auto``, ``classical``, ``yolo``, ... (lower case)."""
        return split_spec(self.name)[0]

    @property
    def path(self) -> str | None:
        """The weights path of ``yolo:PATH``, ``onnx:PATH`` and ``yolov5:PATH``, else None."""
        return split_spec(self.name)[1] if self.kind in PATH_KINDS else None

    @property
    def needs_ground_truth(self) -> bool:
        """True for ``gt`` and ``gt-noisy`` (they read the labels of the source)."""
        return self.kind in GROUND_TRUTH_KINDS

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`~spermtrack.detect.get_detector` this spec sets (none left at default)."""
        out: dict[str, Any] = {}
        if self.polarity != "auto":
            out["polarity"] = self.polarity
        for k in ("head_px", "conf", "iou", "device"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        for k, on in SWITCH_DEFAULTS.items():
            if getattr(self, k) != on:
                out[k] = getattr(self, k)
        out.update({k: _thaw(v) for k, v in self.options})
        return out

    # ------------------------------------------------------------------ building
    def build(self, source: str | Path | None = None):
        """The detector object; ``gt``/``gt-noisy`` read the labels of ``source`` (a VISEM video folder).

        Raises :class:`DetectorSpecError` for a spec that cannot be built (a missing weights
        file, an option the detector does not take, ``gt`` on a source without labels).
        """
        from ..errors import SpermtrackError
        from .registry import get_detector

        if self.kind == OBJECT_KIND:
            raise DetectorSpecError(
                f"detector {self.name!r} was given as an object and cannot be rebuilt from its name; pass the object"
            )
        gt = self.ground_truth(source) if self.needs_ground_truth else None
        try:
            return get_detector(self.name, gt=gt, **self.kwargs())
        except SpermtrackError:
            raise
        except (ValueError, TypeError, FileNotFoundError) as exc:
            raise DetectorSpecError(f"detector {self.name!r}: {exc}") from None

    def ground_truth(self, source: str | Path | None):
        """The labels ``gt`` detects: those of the VISEM video folder ``source`` (Boxes)."""
        from ..io.visem import VisemVideo

        try:
            if source is None or (isinstance(source, str) and source.startswith("<")):
                raise ValueError("frames in memory have no labels")
            return VisemVideo(Path(source)).labels()
        except Exception as exc:
            raise DetectorSpecError(
                f"detector {self.kind!r} reads the labels/ of a VISEM video folder, which {source} is not ({exc})"
            ) from None

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (``options`` as a dict)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["options"] = {k: _thaw(v) for k, v in self.options}
        return d

    @classmethod
    def from_dict(cls, d: dict | str) -> DetectorSpec:
        """The inverse of :meth:`to_dict` (a plain string is a name); unknown keys are refused."""
        if isinstance(d, str):
            return cls(d)
        if not isinstance(d, dict):
            raise DetectorSpecError(f"a detector spec must be a name or a mapping, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise DetectorSpecError(f"unknown detector setting(s) {unknown}; known: {sorted(names)}")
        d = dict(d)
        options = dict(d.get("options") or {})
        if isinstance(options.get("class_map"), dict):  # JSON turned its integer class ids into strings
            options["class_map"] = {_int_key(k): v for k, v in options["class_map"].items()}
        d["options"] = tuple(options.items())
        return cls(**d)

    def __str__(self) -> str:
        return self.name


#: The on/off settings of the fused auto and default detectors (:class:`DetectorSpec`'s boolean
#: fields) and their defaults: one command-line switch each.
SWITCH_DEFAULTS: dict[str, bool] = {f.name: f.default for f in dataclasses.fields(DetectorSpec) if isinstance(f.default, bool)}


def _int_key(key: Any) -> Any:
    """``"3"`` -> ``3`` (a class id that went through JSON); anything else as it is."""
    return int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else key


def _positive(label: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise DetectorSpecError(f"{label} must be a finite number > 0, got {shown(value)}")


class _FrozenDict(tuple):
    """A mapping stored as sorted ``(key, value)`` pairs, so that a spec stays hashable."""


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return _FrozenDict(sorted(((k, _freeze(v)) for k, v in value.items()), key=lambda kv: str(kv[0])))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    hash(value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, _FrozenDict):
        return {k: _thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value
