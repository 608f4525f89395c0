"""Photometric augmentation for training detectors on simulated frames that must work on real ones.

The simulator's frames are cleaner and more uniform than real microscope videos; these
random degradations (blur, sensor noise, contrast, gamma, uneven illumination, colour cast,
grey level, JPEG artefacts) widen the training distribution so that a model trained on
simulated videos generalises to real ones. Geometry is untouched, so boxes stay valid.
Works on one BGR uint8 image; ultralytics' training pipeline calls it on ``labels["img"]``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class PhotometricAugment:
    """Random photometric degradations of a BGR uint8 image (boxes unchanged).

    Each effect is applied independently with its probability; magnitudes are uniform in
    the given ranges.

    Parameters
    ----------
    p : float
        Probability that the image is augmented at all.
    blur_p, blur_sigma : float, (float, float)
        Gaussian blur (defocus), sigma in pixels.
    noise_p, noise_sigma : float, (float, float)
        Additive Gaussian noise, sigma in grey levels.
    contrast_p, contrast, brightness : float, (float, float), (float, float)
        ``img * contrast + brightness`` around the image mean.
    gamma_p, gamma : float, (float, float)
        Gamma curve.
    illumination_p, illumination : float, (float, float)
        A smooth random illumination field multiplying the image, its relative amplitude.
    tint_p, tint : float, float
        Per-channel gain (colour cast between greyish-brown and bluish), relative spread.
    gray_p : float
        Replace the image by its grey level (in all three channels).
    jpeg_p, jpeg_quality : float, (int, int)
        Re-encode as JPEG at this quality.
    seed : int, optional
        Seed for a private generator (default: Python's global ``random``, which ultralytics seeds
        per data-loader worker).
    """

    p: float = 0.9
    blur_p: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 1.6)
    noise_p: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 12.0)
    contrast_p: float = 0.6
    contrast: tuple[float, float] = (0.55, 1.5)
    brightness: tuple[float, float] = (-35.0, 35.0)
    gamma_p: float = 0.3
    gamma: tuple[float, float] = (0.65, 1.5)
    illumination_p: float = 0.4
    illumination: tuple[float, float] = (0.05, 0.3)
    tint_p: float = 0.4
    tint: float = 0.15
    gray_p: float = 0.15
    jpeg_p: float = 0.3
    jpeg_quality: tuple[int, int] = (35, 95)
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed) if self.seed is not None else random

    def __call__(self, labels: dict) -> dict:
        """Augment ``labels["img"]`` in an ultralytics labels dict (returns the dict)."""
        labels["img"] = self.apply(labels["img"])
        return labels

    def apply(self, img: np.ndarray) -> np.ndarray:
        """A randomly degraded copy of one ``(H, W, 3)`` uint8 BGR image.

        >>> out = PhotometricAugment(seed=0).apply(np.full((32, 48, 3), 100, np.uint8))
        >>> out.shape, out.dtype
        ((32, 48, 3), dtype('uint8'))
        """
        r = self._rng
        if r.random() >= self.p:
            return img
        out = img.astype(np.float32)
        h, w = out.shape[:2]
        if r.random() < self.tint_p:
            gains = np.array([1.0 + r.uniform(-self.tint, self.tint) for _ in range(3)], np.float32)
            out *= gains
        if r.random() < self.illumination_p:
            amp = r.uniform(*self.illumination)
            field = cv2.resize(
                np.float32(np.random.default_rng(r.getrandbits(32)).normal(0, 1, (3, 4))), (w, h), interpolation=cv2.INTER_CUBIC
            )
            field /= max(float(np.abs(field).max()), 1e-6)
            out *= (1.0 + amp * field)[..., None]
        if r.random() < self.contrast_p:
            mean = float(out.mean())
            out = (out - mean) * r.uniform(*self.contrast) + mean + r.uniform(*self.brightness)
        if r.random() < self.gamma_p:
            g = r.uniform(*self.gamma)
            out = 255.0 * np.power(np.clip(out, 0, 255) / 255.0, g)
        if r.random() < self.blur_p:
            s = r.uniform(*self.blur_sigma)
            out = cv2.GaussianBlur(out, (0, 0), s)
        if r.random() < self.gray_p:
            g = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
            out = np.repeat(g[..., None], 3, axis=2)
        if r.random() < self.noise_p:
            sigma = r.uniform(*self.noise_sigma)
            noise = np.random.default_rng(r.getrandbits(32)).normal(0.0, sigma, out.shape[:2]).astype(np.float32)
            out += noise[..., None]
        res = np.clip(out, 0, 255).astype(np.uint8)
        if r.random() < self.jpeg_p:
            ok, enc = cv2.imencode(".jpg", res, [cv2.IMWRITE_JPEG_QUALITY, int(r.uniform(*self.jpeg_quality))])
            if ok:
                res = cv2.imdecode(enc, cv2.IMREAD_COLOR)
        return res
