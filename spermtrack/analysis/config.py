"""Every setting of an analysis in one frozen, validated, JSON-serialisable value: :class:`AnalysisConfig`.

Built like :class:`~spermtrack.track.TrackerConfig`: physical units in the names
(``_um``, ``_s``, ``_px``), validated on construction (a bad value raises a one-line
:class:`~spermtrack.errors.ParameterError` naming the setting and its command-line flag),
``to_dict``/``from_dict``/``from_json`` round-trip through JSON with unknown keys refused.

It holds the detector (:class:`~spermtrack.detect.spec.DetectorSpec`), the tracker
(:class:`~spermtrack.track.TrackerConfig`), the CASA settings
(:class:`~spermtrack.kinematics.CasaConfig`), the calibration request
(:class:`CalibrationRequest`), the frame limits, the ranking of the fastest sperm, the
chamber depth (for the concentration) and the output options (:class:`OutputOptions`).
The command line builds its flags from the fields (each carries its flag, help and
metavar in ``metadata``; :mod:`spermtrack.analysis.options`), ``batch`` ships the config
itself to its workers, and ``summary.json`` records ``config.to_dict()`` whole, so
``spermtrack analyze SOURCE --config summary.json`` reruns a result exactly.

Adding an option is one field with its metadata in one of these classes: the CLI of
``analyze`` and ``batch``, the workers and ``summary.json`` follow, and the value is
checked against its default's type and the metadata's ``choices`` / ``min`` / ``max``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..detect.spec import DetectorSpec
from ..errors import CalibrationError, FormatError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from ..kinematics.config import CasaConfig
    from ..track import TrackerConfig

#: Speeds that may rank the fastest sperm.
RANK_BY = ("vsl", "vcl", "vap")


class AnalysisConfigError(ParameterError):
    """An analysis setting is out of range, of the wrong type, or unknown."""


class CalibrationRequestError(AnalysisConfigError, CalibrationError):
    """A calibration setting is out of range or contradicts another one."""


def _flag(cls, name: str) -> str:
    """``"name (--flag)"`` for messages."""
    for f in dataclasses.fields(cls):
        if f.name == name and f.metadata.get("flag"):
            return f"{name} ({f.metadata['flag']})"
    return name


def _number(
    cls, name: str, value: Any, *, low: float = 0.0, allow_low: bool = True, high: float | None = None, whole: bool = False
):
    """``value`` checked: a finite number (whole with ``whole``) from ``low`` (open unless ``allow_low``) to ``high``."""
    label = _flag(cls, name)
    kind = "a whole number" if whole else "a number"
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok and whole and not isinstance(value, int):
        ok = float(value).is_integer()
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v >= low if allow_low else v > low) and (high is None or v <= high)
    if not ok:
        bound = (f"{'>=' if allow_low else '>'} {low:g}" if math.isfinite(low) else "") + (
            f"{' and ' if math.isfinite(low) else ''}<= {high:g}" if high is not None else ""
        )
        err = CalibrationRequestError if cls is CalibrationRequest else AnalysisConfigError
        raise err(f"{label} must be {kind} {bound}, got {value!r}")
    return int(value) if whole else float(value)


def _check_fields(obj) -> None:
    """Validate every plain field of ``obj`` from its default's type and its metadata.

    A field whose default is a bool must be a bool, an int a whole number, a float a finite
    number (None allowed when the default is None and metadata ``type`` says float or int),
    a str a str; metadata ``choices`` and ``min`` / ``max`` bound it. So a new option added
    to a config class is validated without code of its own.
    """
    cls = type(obj)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if meta.get("nested") is not None or meta.get("cls") is not None or f.default is dataclasses.MISSING:
            continue
        value = getattr(obj, f.name)
        kind = meta.get("type") or (type(f.default) if f.default is not None else None)
        if value is None and f.default is None:
            continue
        if kind is bool:
            _bool(cls, f.name, value)
        elif kind in (int, float):
            low, high = meta.get("min"), meta.get("max")
            v = _number(cls, f.name, value, low=-math.inf if low is None else low, high=high, whole=kind is int)
            object.__setattr__(obj, f.name, v)
        elif kind is str and not isinstance(value, str):
            raise AnalysisConfigError(f"{_flag(cls, f.name)} must be a string, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise AnalysisConfigError(
                f"{_flag(cls, f.name)} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}"
            )


def _bool(cls, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AnalysisConfigError(f"{_flag(cls, name)} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class CalibrationRequest:
    """What the user asked for the calibration; :func:`~spermtrack.analysis.calibration.resolve_calibration`
    turns it and the video's frame rate into a :class:`~spermtrack.Calibration`.

    Attributes
    ----------
    um_per_px : float or None
        Size of a pixel in the specimen plane, µm (from a stage micrometer); None: results in pixels.
    fps : float or None
        Frames per second; None: the video's (needed for image folders and frames in memory).
    visem_calibration : bool
        Use the VISEM-Tracking estimate of 0.25 µm/px (an estimate, see docs/calibration.md).
    strict : bool
        Refuse implausible values (as :class:`~spermtrack.Calibration`; Python only, for a
        ``Calibration(..., strict=False)`` given to ``analyze``).
    """

    _READ_BY_FIELDS = True  # from_dict reads the fields one by one (nested classes by their own from_dict)

    um_per_px: float | None = field(
        default=None,
        metadata={
            "flag": "--um-per-px",
            "metavar": "X",
            "type": float,
            "help": "µm per pixel of the specimen plane, from a stage micrometer (docs/calibration.md)",
            "default_text": "none: results in pixels",
        },
    )
    fps: float | None = field(
        default=None,
        metadata={
            "flag": "--fps",
            "metavar": "F",
            "type": float,
            "help": "frames per second of the camera",
            "default_text": "the video's; needed for image folders",
        },
    )
    visem_calibration: bool = field(
        default=False,
        metadata={
            "flag": "--visem-calibration",
            "help": "use the VISEM-Tracking estimate of 0.25 µm/px (an estimate, not a measurement; docs/calibration.md)",
        },
    )
    strict: bool = field(default=True, metadata={"flag": None})

    def __post_init__(self) -> None:
        if self.um_per_px is not None:
            object.__setattr__(self, "um_per_px", _number(type(self), "um_per_px", self.um_per_px, allow_low=False))
        if self.fps is not None:
            object.__setattr__(self, "fps", _number(type(self), "fps", self.fps, allow_low=False))
        if not isinstance(self.visem_calibration, bool):
            raise CalibrationRequestError(f"visem_calibration must be true or false, got {self.visem_calibration!r}")
        if self.um_per_px is not None and self.visem_calibration:
            raise CalibrationRequestError(
                "give either um_per_px (--um-per-px) or the VISEM estimate (--visem-calibration), not both"
            )
        if self.um_per_px is not None:  # a magnification typed as µm/px, and the like
            from ..calibration import Calibration

            try:
                Calibration(self.um_per_px, self.fps or 50.0, strict=self.strict)
            except CalibrationError as exc:
                raise CalibrationRequestError(f"um_per_px (--um-per-px): {exc}") from None
        _check_fields(self)

    @classmethod
    def of(cls, calibration) -> CalibrationRequest:
        """The request that reproduces an explicit :class:`~spermtrack.Calibration` (its µm per pixel and rate)."""
        return cls(um_per_px=calibration.um_per_px, fps=calibration.fps, strict=bool(getattr(calibration, "strict", True)))


@dataclass(frozen=True)
class OutputOptions:
    """What :meth:`Analysis.save <spermtrack.analysis.result.Analysis.save>` writes and how the overlay looks.

    Attributes
    ----------
    overlay : bool
        Render ``overlay.mp4`` (the slowest output: a second pass over the video).
    report : bool
        Write ``plots/`` and ``report.html``.
    opacity : float
        Opacity of the overlay drawing, 0 to 1.
    trail_s : float
        Length of the trails in the overlay video, seconds.
    link_video : bool
        Link ``overlay.mp4`` from the report instead of embedding it.
    highlight : int
        Number of fastest sperm highlighted in the overlay and the trajectory plot.
    """

    _READ_BY_FIELDS = True  # from_dict reads the fields one by one (nested classes by their own from_dict)

    overlay: bool = field(
        default=True,
        metadata={"flag": "--video", "help": "render overlay.mp4 (--no-video skips it: the slowest output)"},
    )
    report: bool = field(default=True, metadata={"flag": "--report", "help": "write plots/ and report.html"})
    opacity: float = field(
        default=0.85, metadata={"flag": "--opacity", "metavar": "A", "help": "opacity of the overlay drawing, 0 to 1"}
    )
    trail_s: float = field(
        default=1.0,
        metadata={
            "flag": "--trail-s",
            "aliases": ("--trail",),
            "metavar": "S",
            "help": "length of the trails in the overlay video, seconds",
        },
    )
    link_video: bool = field(
        default=False, metadata={"flag": "--link-video", "help": "link overlay.mp4 from the report instead of embedding it"}
    )
    highlight: int = field(
        default=3,
        metadata={
            "flag": "--highlight",
            "metavar": "N",
            "help": "number of fastest sperm highlighted in the overlay video and the trajectory plot",
        },
    )

    def __post_init__(self) -> None:
        cls = type(self)
        for name in ("overlay", "report", "link_video"):
            _bool(cls, name, getattr(self, name))
        object.__setattr__(self, "opacity", _number(cls, "opacity", self.opacity, high=1.0))
        object.__setattr__(self, "trail_s", _number(cls, "trail_s", self.trail_s))
        object.__setattr__(self, "highlight", _number(cls, "highlight", self.highlight, whole=True))
        _check_fields(self)

    @property
    def embed_video(self) -> bool | None:
        """``embed_video`` of :func:`spermtrack.viz.report.write_report` (None: its own choice)."""
        return False if self.link_video else None

    def style(self):
        """The :class:`~spermtrack.viz.overlay.OverlayStyle` of the overlay."""
        from ..viz.overlay import OverlayStyle

        return OverlayStyle(opacity=self.opacity, trail_s=self.trail_s, highlight=self.highlight)


class LazyClass:
    """A class named by module and name, imported on first use.

    The tracker and kinematics packages import Numba; the command line builds its options
    from the config's fields without importing them (``spermtrack --help`` stays fast).
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def resolve(self):
        import importlib

        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args: Any, **kwargs: Any):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


_TRACKER_CONFIG = LazyClass("spermtrack.track.config", "TrackerConfig")
_CASA_CONFIG = LazyClass("spermtrack.kinematics.config", "CasaConfig")


def _load_tracker(path) -> TrackerConfig:
    return _load_json(_TRACKER_CONFIG.resolve(), path, "tracker config")


def _load_casa(path) -> CasaConfig:
    return _load_json(_CASA_CONFIG.resolve(), path, "CASA config")


def _load_json(cls, path, what: str):
    """A config class read from a JSON file of one object; every failure names the file."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"no such {what} file (a path of a JSON file holding one object)", path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start}): a {what} is a JSON file", path) from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
    except OSError as exc:
        raise FormatError(f"cannot read the {what} ({exc.strerror or exc})", path) from None
    try:
        return cls.from_dict(data)
    except ParameterError as exc:
        raise FormatError(str(exc), path) from None


@dataclass(frozen=True)
class AnalysisConfig:
    """Every setting of :func:`spermtrack.analyze` (and of each video of ``spermtrack batch``).

    Attributes
    ----------
    detector : DetectorSpec
        Which detector runs and its options (a string such as ``"classical"`` is parsed).
    tracker : TrackerConfig
        Tracker settings (a dict is read with ``TrackerConfig.from_dict``).
    casa : CasaConfig
        CASA kinematics settings (smoothing, quality gates, WHO thresholds).
    calibration : CalibrationRequest
        µm per pixel, frame rate, or the VISEM estimate.
    batch_size : int
        Frames per detector call (memory holds a few batches).
    max_frames : int or None
        Analyse only the first ``max_frames`` frames.
    fastest_by : {"vsl", "vcl", "vap"}
        Speed that ranks the fastest sperm.
    min_duration_s : float
        Shortest track (seconds) that may rank among the fastest; 0.5 s by default, CASA's
        validity gate (a longer one drops the fastest cells, which leave the field first).
    top : int
        Number of fastest sperm printed by ``spermtrack analyze`` and returned by
        :meth:`Analysis.fastest` by default (``summary.json`` lists five).
    chamber_depth_um : float or None
        Depth of the counting chamber in µm (e.g. 10 or 20): with a calibration it gives the
        concentration in 10^6 cells/mL (``summary.json`` ``concentration``).
    outputs : OutputOptions
        What is written and how the overlay looks.

    >>> AnalysisConfig.from_dict(AnalysisConfig(detector="classical").to_dict()).detector.name
    'classical'
    """

    _READ_BY_FIELDS = True  # from_dict reads the fields one by one (nested classes by their own from_dict)

    detector: DetectorSpec = field(default_factory=DetectorSpec, metadata={"nested": DetectorSpec})
    tracker: TrackerConfig = field(
        default_factory=_TRACKER_CONFIG,
        metadata={
            "cls": _TRACKER_CONFIG,
            "flag": "--tracker-config",
            "metavar": "FILE.json",
            "load": _load_tracker,
            "help": "JSON file of tracker settings as one object (docs/tracking.md)",
            "default_text": "the documented defaults",
        },
    )
    casa: CasaConfig = field(
        default_factory=_CASA_CONFIG,
        metadata={
            "cls": _CASA_CONFIG,
            "flag": "--casa-config",
            "metavar": "FILE.json",
            "load": _load_casa,
            "help": "JSON file of CASA settings as one object (smoothing, quality gates, WHO thresholds; docs/kinematics.md)",
            "default_text": "the documented defaults",
        },
    )
    calibration: CalibrationRequest = field(default_factory=CalibrationRequest, metadata={"nested": CalibrationRequest})
    batch_size: int = field(
        default=8,
        metadata={
            "flag": "--batch-size",
            "aliases": ("--batch",),
            "metavar": "B",
            "help": "frames per detector call (memory holds a few batches)",
        },
    )
    max_frames: int | None = field(
        default=None,
        metadata={
            "flag": "--max-frames",
            "metavar": "N",
            "type": int,
            "help": "analyse only the first N frames",
            "default_text": "all",
        },
    )
    fastest_by: str = field(
        default="vsl",
        metadata={"flag": "--rank-by", "choices": RANK_BY, "help": "speed that ranks the fastest sperm"},
    )
    min_duration_s: float = field(
        default=0.5,
        metadata={"flag": "--min-duration-s", "metavar": "S", "help": "shortest track, seconds, that may rank among the fastest"},
    )
    top: int = field(
        default=5,
        metadata={"flag": "--top", "metavar": "N", "help": "number of fastest sperm printed, >= 1 (summary.json lists 5)"},
    )
    chamber_depth_um: float | None = field(
        default=None,
        metadata={
            "flag": "--chamber-depth-um",
            "metavar": "D",
            "type": float,
            "help": "depth of the counting chamber in µm (e.g. 10 or 20); with --um-per-px gives the concentration in 10^6/mL",
            "default_text": "none: no concentration",
        },
    )
    outputs: OutputOptions = field(default_factory=OutputOptions, metadata={"nested": OutputOptions})

    def __post_init__(self) -> None:
        cls = type(self)
        if isinstance(self.detector, str):
            object.__setattr__(self, "detector", DetectorSpec.parse(self.detector))
        for name in ("detector", "tracker", "casa", "calibration", "outputs"):
            kind = _field_class(cls, name)
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, kind())
            elif isinstance(value, dict):
                object.__setattr__(self, name, _from_dict(kind, value))
            elif not isinstance(value, kind):
                raise AnalysisConfigError(f"{name} must be a {kind.__name__} (or a dict of one), got {type(value).__name__}")
        object.__setattr__(self, "batch_size", _number(cls, "batch_size", self.batch_size, low=1, whole=True))
        if self.max_frames is not None:
            object.__setattr__(self, "max_frames", _number(cls, "max_frames", self.max_frames, low=1, whole=True))
        if self.fastest_by not in RANK_BY:
            raise AnalysisConfigError(f"fastest_by (--rank-by) must be one of {', '.join(RANK_BY)}, got {self.fastest_by!r}")
        object.__setattr__(self, "min_duration_s", _number(cls, "min_duration_s", self.min_duration_s))
        object.__setattr__(self, "top", _number(cls, "top", self.top, low=1, whole=True))  # fastest() needs n >= 1
        if self.chamber_depth_um is not None:
            object.__setattr__(
                self, "chamber_depth_um", _number(cls, "chamber_depth_um", self.chamber_depth_um, allow_low=False, high=1000.0)
            )
        _check_fields(self)

    # ------------------------------------------------------------------ changing
    def replace(self, **changes: Any) -> AnalysisConfig:
        """A copy with some settings changed (validated)."""
        return dataclasses.replace(self, **changes)

    def updated(self, changes: dict) -> AnalysisConfig:
        """A copy with nested settings changed: ``{"calibration": {"fps": 25}, "batch_size": 4}``."""
        return _updated(self, changes)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """Every setting as plain JSON values (nested configs as nested dicts)."""
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisConfig:
        """The inverse of :meth:`to_dict`; unknown keys are refused with the known ones named, missing ones default."""
        return _from_dict(cls, d)

    def to_json(self, path: str | Path) -> Path:
        """Write the config as a JSON file (what ``--config`` reads)."""
        from ..atomic import atomic_open

        path = Path(path)
        with atomic_open(path, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> AnalysisConfig:
        """Read a config JSON, or the ``config`` recorded in a ``summary.json`` or a result's ``.spermtrack.json``.

        Errors name the file.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "summary.json"
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise FormatError("no such config file (a config JSON or the summary.json of a result)", path) from None
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text (byte {exc.start})", path) from None
        except json.JSONDecodeError as exc:
            raise FormatError(f"not valid JSON ({exc.msg})", path, exc.lineno) from None
        except OSError as exc:
            raise FormatError(f"cannot read ({exc.strerror or exc})", path) from None
        if isinstance(data, dict) and "spermtrack_version" in data:  # a summary.json
            if not isinstance(data.get("config"), dict):
                raise FormatError("this summary.json records no config (written by an older spermtrack)", path)
            data = data["config"]
        elif isinstance(data, dict) and isinstance(data.get("settings"), dict) and "kind" in data:  # a completion marker
            data = {k: v for k, v in data["settings"].items() if k in {f.name for f in dataclasses.fields(cls)}}
        try:
            return cls.from_dict(data)
        except ParameterError as exc:
            raise FormatError(str(exc), path) from None


# ---------------------------------------------------------------------------- generic dataclass helpers
def _field_class(cls, name: str):
    for f in dataclasses.fields(cls):
        if f.name == name:
            return _resolve(f.metadata.get("nested") or f.metadata.get("cls"))
    raise KeyError(name)


def _resolve(kind):
    return kind.resolve() if isinstance(kind, LazyClass) else kind


def _to_dict(obj) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        elif dataclasses.is_dataclass(value):
            value = _to_dict(value)
        out[f.name] = value
    return out


def _from_dict(cls, d) -> Any:
    if hasattr(cls, "from_dict") and not getattr(cls, "_READ_BY_FIELDS", False):
        try:
            return cls.from_dict(d)
        except ParameterError:
            raise
        except (TypeError, ValueError) as exc:  # a nested config's own error class (TrackerConfigError, ...)
            raise AnalysisConfigError(f"{cls.__name__}: {exc}") from None
    if not isinstance(d, dict):
        raise AnalysisConfigError(f"{cls.__name__} settings must be a mapping of settings, got {type(d).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise AnalysisConfigError(f"unknown {cls.__name__} setting(s) {unknown}; known: {sorted(names)}")
    kwargs = {}
    for key, value in d.items():
        kind = _resolve(names[key].metadata.get("nested") or names[key].metadata.get("cls"))
        kwargs[key] = _from_dict(kind, value) if kind is not None and isinstance(value, (dict, str)) else value
    return cls(**kwargs)


def _updated(obj, changes: dict):
    kwargs = {}
    for key, value in changes.items():
        current = getattr(obj, key)
        if isinstance(value, dict) and dataclasses.is_dataclass(current) and not hasattr(current, "from_dict"):
            kwargs[key] = _updated(current, value)
        elif isinstance(value, dict) and isinstance(current, DetectorSpec):
            kwargs[key] = current.replace(**value)
        elif isinstance(value, dict) and hasattr(current, "to_dict"):
            kwargs[key] = type(current).from_dict({**current.to_dict(), **value})
        else:
            kwargs[key] = value
    return dataclasses.replace(obj, **kwargs)


__all__ = [
    "RANK_BY",
    "AnalysisConfig",
    "AnalysisConfigError",
    "CalibrationRequest",
    "CalibrationRequestError",
    "OutputOptions",
]
