"""The camera after the sensor: tone curve, colour, compression (:class:`Camera`).

A simulated frame leaves :class:`~spermtrack.simulate.scene.Renderer`'s composition as 8-bit
BGR (optics blur, defocus, motion blur, illumination and sensor noise are drawn there, so
noise stays sharp). The camera chain then applies, in this order:

1. a tone curve per channel, one lookup table: ``v' = 255·((contrast·(v/255 − 0.5) + 0.5 +
   brightness/255) ^ gamma)·cast[c]`` (the cast multiplies the channel's gain);
2. a grey camera: all three channels set to the luma (cameras without a colour sensor);
3. a resampling: the frame shrunk by ``resample`` (area average) and enlarged back (bicubic),
   as by a recorder or viewer that stores a smaller picture than it shows;
4. H.264 intra-frame compression at a fixed quantiser (libx264 through PyAV), whose 4x4/16x16
   blocks and smeared chroma are what a lab's MP4 recordings show;

and the look's own JPEG round trip (``Look.jpeg_quality``) comes last. The identity camera
(:data:`IDENTITY`) does nothing and costs nothing.
"""

from __future__ import annotations

import fractions
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class Camera:
    """Post-sensor processing of one video. All fields are seeded draws of :func:`sample_camera`.

    Attributes
    ----------
    gamma : float
        Exponent of the tone curve on [0, 1] intensities (1: linear; < 1 brightens the darks).
    contrast : float
        Gain around mid grey (1: unchanged; 0.6 flat, 1.4 punchy).
    brightness : float
        Offset in 8-bit grey levels added before the gamma.
    cast_bgr : tuple of 3 floats
        Per-channel gains B, G, R (a colour cast: warm halogen light, a blue filter, a camera's
        white balance); (1, 1, 1): none.
    grey : bool
        A monochrome camera: the three channels are equal (the luma of the cast image).
    h264_qp : int
        Quantiser of an H.264 intra-frame round trip (libx264, 0-51; larger is blockier);
        0: no H.264 compression.
    resample : float
        Shrink factor of a down-and-up resampling (1: none; 2: half the resolution, as the
        real reference frames of ``shared/reference/visem/real_frames``).
    """

    gamma: float = 1.0
    contrast: float = 1.0
    brightness: float = 0.0
    cast_bgr: tuple = (1.0, 1.0, 1.0)
    grey: bool = False
    h264_qp: int = 0
    resample: float = 1.0

    def __post_init__(self):
        if not (0.2 <= self.gamma <= 5.0):
            raise ParameterError(f"Camera.gamma must be in [0.2, 5], got {self.gamma}")
        if not (0.05 <= self.contrast <= 5.0):
            raise ParameterError(f"Camera.contrast must be in [0.05, 5], got {self.contrast}")
        if len(self.cast_bgr) != 3 or min(self.cast_bgr) <= 0:
            raise ParameterError(f"Camera.cast_bgr must be 3 positive gains, got {self.cast_bgr}")
        if not (0 <= int(self.h264_qp) <= 51):
            raise ParameterError(f"Camera.h264_qp must be 0 (off) to 51, got {self.h264_qp}")
        if not (1.0 <= float(self.resample) <= 8.0):
            raise ParameterError(f"Camera.resample must be in [1, 8], got {self.resample}")
        object.__setattr__(self, "resample", float(self.resample))
        object.__setattr__(self, "cast_bgr", tuple(float(v) for v in self.cast_bgr))
        object.__setattr__(self, "h264_qp", int(self.h264_qp))
        object.__setattr__(self, "grey", bool(self.grey))

    @property
    def tone_is_identity(self) -> bool:
        """True when the tone curve and the cast change nothing."""
        return self.gamma == 1.0 and self.contrast == 1.0 and self.brightness == 0.0 and self.cast_bgr == (1.0, 1.0, 1.0)

    @property
    def is_identity(self) -> bool:
        """True when the camera changes nothing."""
        return self.tone_is_identity and not self.grey and self.h264_qp == 0 and self.resample == 1.0

    def lut(self) -> np.ndarray:
        """The tone curve and cast as a (256, 1, 3) uint8 lookup table for ``cv2.LUT``."""
        v = np.arange(256, dtype=np.float64) / 255.0
        t = np.clip(self.contrast * (v - 0.5) + 0.5 + self.brightness / 255.0, 0.0, 1.0) ** self.gamma
        table = np.clip(255.0 * t[:, None] * np.asarray(self.cast_bgr)[None, :] + 0.5, 0, 255)
        return table.astype(np.uint8).reshape(256, 1, 3)

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        d = asdict(self)
        d["cast_bgr"] = list(self.cast_bgr)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Camera:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["cast_bgr"] = tuple(d.get("cast_bgr", (1.0, 1.0, 1.0)))
        return cls(**d)


#: The camera that changes nothing (VISEM's "phase" and "bright" looks).
IDENTITY = Camera()


def sample_camera(rng: np.random.Generator) -> Camera:
    """Draw a random camera: gamma 0.7-1.4 (log-uniform), contrast 0.65-1.4, brightness ±15,
    colour cast up to ±12 % per channel (warm, cool or green tints), a grey camera with
    probability 0.3, a down-and-up resampling by 1.3-2.2 with probability 0.25, H.264 (qp
    22-38) with probability 0.4."""
    u = rng.uniform
    gamma = float(np.exp(u(np.log(0.7), np.log(1.4))))
    contrast = float(np.exp(u(np.log(0.65), np.log(1.4))))
    brightness = float(u(-15, 15))
    cast = tuple(float(np.exp(u(-0.12, 0.12))) for _ in range(3))
    grey = bool(rng.random() < 0.3)
    qp = int(rng.integers(22, 39)) if rng.random() < 0.4 else 0
    resample = float(u(1.3, 2.2)) if rng.random() < 0.25 else 1.0
    return Camera(gamma=gamma, contrast=contrast, brightness=brightness, cast_bgr=cast, grey=grey, h264_qp=qp, resample=resample)


class CameraChain:
    """Applies a :class:`Camera` to frames in place (holds the LUT and the H.264 codec)."""

    def __init__(self, camera: Camera, image_size: tuple[int, int]):
        self.camera = camera
        self.w, self.h = int(image_size[0]), int(image_size[1])
        self._lut = None if camera.tone_is_identity else camera.lut()
        self._enc = None
        self._dec = None
        self._pts = 0

    def __getstate__(self):  # the codecs do not pickle; they reopen on first use
        d = dict(self.__dict__)
        d["_enc"] = d["_dec"] = None
        return d

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Apply the chain to ``frame`` (H, W, 3) uint8 BGR, in place; returns it."""
        cam = self.camera
        if self._lut is not None:
            cv2.LUT(frame, self._lut, dst=frame)
        if cam.grey:
            cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR, dst=frame)
        if cam.resample > 1.0:
            small = cv2.resize(frame, (max(1, round(self.w / cam.resample)), max(1, round(self.h / cam.resample))),
                               interpolation=cv2.INTER_AREA)  # fmt: skip
            cv2.resize(small, (self.w, self.h), dst=frame, interpolation=cv2.INTER_CUBIC)
        if cam.h264_qp > 0:
            frame[...] = self._h264(frame)
        return frame

    def _h264(self, frame: np.ndarray) -> np.ndarray:
        import av

        # yuv420p needs even sizes: encode the even part, keep the odd last row/column as is
        we, he = self.w - self.w % 2, self.h - self.h % 2
        if self._enc is None:
            enc = av.codec.CodecContext.create("libx264", "w")
            enc.width, enc.height, enc.pix_fmt = we, he, "yuv420p"
            enc.time_base = fractions.Fraction(1, 50)
            # intra only at a fixed quantiser, one thread: every frame is coded alone and the
            # result does not depend on the frames before it (frames stay renderable in any order)
            params = f"keyint=1:min-keyint=1:scenecut=0:qp={self.camera.h264_qp}:threads=1:sliced-threads=0"
            enc.options = {"x264-params": params, "tune": "zerolatency", "preset": "ultrafast"}
            enc.open()
            dec = av.codec.CodecContext.create("h264", "r")
            dec.options = {"threads": "1"}
            dec.open()
            self._enc, self._dec = enc, dec
        src = np.ascontiguousarray(frame[:he, :we])
        vf = av.VideoFrame.from_ndarray(src, format="bgr24")
        vf.pts = self._pts
        self._pts += 1
        out = None
        for pkt in self._enc.encode(vf):
            for dfr in self._dec.decode(pkt):
                out = dfr.to_ndarray(format="bgr24")
        if out is None:  # pragma: no cover - zerolatency returns the packet at once
            return frame
        frame[:he, :we] = out
        return frame
