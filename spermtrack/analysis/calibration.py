"""Calibration policy of an analysis: which µm per pixel and frame rate, and where they came from.

:func:`resolve_calibration` turns what the user asked (a :class:`~spermtrack.analysis.config.CalibrationRequest`,
or the same values as keywords) and the frame rate of the video into a
:class:`~spermtrack.Calibration` and a phrase for the report.
"""

from __future__ import annotations

from ..calibration import VISEM_UM_PER_PX, Calibration
from ..errors import CalibrationError

VISEM_NOTE = (
    "Calibration is the VISEM-Tracking estimate (9.9 µm camera pixels behind a 40x objective = 0.25 µm/px), "
    "not a measurement: the camera adapter's magnification is unknown, so µm values may be off by a constant "
    "factor (see docs/calibration.md)."
)

#: Frame size (width, height, pixels) of the VISEM-Tracking camera (UEye UI-2210C) the estimate is for.
VISEM_FRAME_PX = (640, 480)
#: The origin phrase of the VISEM-Tracking estimate (:func:`resolve_request`).
VISEM_ORIGIN = "VISEM-Tracking estimate of µm per pixel"


def visem_frame_warning(origin: str, image_size: tuple[int, int]) -> str | None:
    """A warning when the VISEM-Tracking estimate of µm per pixel is applied to frames of another size.

    The estimate is for VISEM's camera (640x480 pixels of 9.9 µm behind a 40x objective): frames of
    another size come from another camera or were rescaled, and their µm per pixel is another.
    ``image_size`` is (width, height) in pixels.
    """
    if VISEM_ORIGIN not in origin or tuple(image_size) == VISEM_FRAME_PX:
        return None
    w, h = image_size
    return (
        f"The VISEM-Tracking estimate of µm per pixel ({VISEM_UM_PER_PX:g}) is for VISEM's 640x480 camera, "
        f"but this video's frames are {w}x{h} pixels (another camera, or rescaled): its speeds and sizes are "
        "probably off by a constant factor. Measure this microscope's µm per pixel (docs/calibration.md) and "
        "pass --um-per-px."
    )


#: How a source's frame rate was obtained -> the words added to the calibration's origin.
_FPS_ORIGINS = {
    "container": " (stated by its container)",
    "timestamps": " (derived from its packet timestamps)",
    "spermtrack.json": " (from its spermtrack.json)",
}


class CalibrationOrigin(str):
    """Where an analysis' calibration came from: the phrase for the report, with its two parts.

    The string itself is the phrase (``"µm per pixel given by the user; frame rate of the
    video"``); :attr:`um_per_px` and :attr:`fps` say the same of each value (``fps`` is None
    when the phrase covers both, as for a :class:`~spermtrack.Calibration` given whole).

    >>> o = CalibrationOrigin("uncalibrated", "frame rate of the video")
    >>> o, o.um_per_px, o.fps
    ('uncalibrated; frame rate of the video', 'uncalibrated', 'frame rate of the video')
    """

    um_per_px: str
    fps: str | None

    def __new__(cls, um_per_px: str, fps: str | None = None) -> CalibrationOrigin:
        self = super().__new__(cls, um_per_px if fps is None else f"{um_per_px}; {fps}")
        self.um_per_px, self.fps = um_per_px, fps
        return self

    def __getnewargs__(self) -> tuple[str, str | None]:  # pickles (batch workers) with its parts
        return (self.um_per_px, self.fps)


def fps_source_of(fps: float | None, source_fps_source: str | None) -> str:
    """``"user"`` when the user gave the rate, else how the source's was obtained (``"container"``, ...)."""
    return "user" if fps is not None else (source_fps_source or "unknown")


def resolve_calibration(
    source_fps: float | None,
    calibration: Calibration | None = None,
    um_per_px: float | None = None,
    fps: float | None = None,
    visem_calibration: bool = False,
    source: object = "the source",
    fps_source: str | None = None,
) -> tuple[Calibration, CalibrationOrigin]:
    """The calibration of an analysis and a phrase saying where it came from (a :class:`CalibrationOrigin`).

    Priority: an explicit ``calibration``; else ``um_per_px``/``fps`` given by the
    user, the frame rate of the video otherwise; µm per pixel from the user, the
    VISEM-Tracking estimate only when ``visem_calibration`` is asked for, and
    otherwise none (results in pixels, said everywhere). ``fps_source`` says how
    the source's rate was obtained (``"container"``, ``"timestamps"``, ...; see
    :func:`spermtrack.io.frames.probe_video`); it is named in the phrase.

    >>> resolve_calibration(50.0)
    (Calibration(um_per_px=None, fps=50.0, strict=True), 'uncalibrated; frame rate of the video')
    >>> resolve_calibration(None, um_per_px=0.5, fps=25)[1]
    'µm per pixel given by the user; frame rate given by the user'
    """
    if calibration is not None:
        if um_per_px is not None or fps is not None or visem_calibration:
            raise CalibrationError("give either a Calibration or um_per_px/fps/visem_calibration, not both")
        if not isinstance(calibration, Calibration):
            raise CalibrationError(f"calibration must be a spermtrack.Calibration, got {type(calibration).__name__}")
        return calibration, CalibrationOrigin("given by the user")
    if um_per_px is not None and visem_calibration:
        raise CalibrationError("give either um_per_px (--um-per-px) or the VISEM estimate (--visem-calibration), not both")
    if fps is not None:
        rate, fps_origin = float(fps), "frame rate given by the user"
    elif source_fps:
        rate, fps_origin = float(source_fps), "frame rate of the video" + _FPS_ORIGINS.get(fps_source or "", "")
    else:
        raise CalibrationError(
            f"{source}: the frame rate is unknown (an image folder, a raw stream, or a container that states none and "
            "has no timestamps); pass --fps F (API: fps=F), the camera's frames per second; VISEM-Tracking videos "
            "run at about 50"
        )
    if um_per_px is not None:
        return Calibration(um_per_px, rate), CalibrationOrigin("µm per pixel given by the user", fps_origin)
    if visem_calibration:
        return Calibration(VISEM_UM_PER_PX, rate), CalibrationOrigin(VISEM_ORIGIN, fps_origin)
    return Calibration(None, rate), CalibrationOrigin("uncalibrated", fps_origin)


def resolve_request(request, source_fps: float | None, source: object = "the source", fps_source: str | None = None):
    """:func:`resolve_calibration` of a :class:`~spermtrack.analysis.config.CalibrationRequest`."""
    if not request.strict and request.um_per_px is not None and request.fps is not None:
        return Calibration(request.um_per_px, request.fps, strict=False), CalibrationOrigin(
            "given by the user (not checked: strict=False)"
        )
    return resolve_calibration(
        source_fps,
        None,
        request.um_per_px,
        request.fps,
        request.visem_calibration,
        source=source,
        fps_source=fps_source,
    )


__all__ = [
    "VISEM_FRAME_PX",
    "VISEM_NOTE",
    "VISEM_ORIGIN",
    "CalibrationOrigin",
    "fps_source_of",
    "resolve_calibration",
    "resolve_request",
    "visem_frame_warning",
]
