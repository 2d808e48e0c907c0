"""Scan and phone-camera degradations for synthetic petition sheets (image-level only)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageFilter

# A scanner's auto-levels push paper to pure white; doing the same keeps noisy PNGs small.
_WHITE_POINT = 238.0


@dataclass(frozen=True)
class Degraded:
    """An image after degradation, the tags describing what was done, and its effective dpi."""

    image: Image.Image
    tags: tuple[str, ...]
    dpi: int


def apply(
    image: Image.Image,
    dpi: int,
    *,
    rng: np.random.Generator,
    skew_deg: float = 0.0,
    rotate_quarters: int = 0,
    noise: bool = False,
    blur: bool = False,
    shadow: bool = False,
    photo: bool = False,
    dpi_out: int | None = None,
) -> Degraded:
    """Apply the requested degradations in a physically plausible order."""
    if abs(skew_deg) > 15:
        raise ValueError(f"skew_deg must be within ±15, got {skew_deg}")
    tags: list[str] = []
    # Illumination happens on the paper, before the scanner or camera sees it.
    if shadow:
        image = illumination(image, rng)
        tags.append("shadow")
    if skew_deg:
        image = skew(image, skew_deg, rng)
        tags.append(f"skew:{skew_deg:+.1f}")
    quarters = rotate_quarters % 4
    if quarters:
        image = rotate_quarters_ccw(image, quarters)
        tags.append(f"rotate:{90 * quarters}")
    if dpi_out and dpi_out != dpi:
        image = resample(image, dpi, dpi_out)
        tags.append(f"dpi:{dpi_out}")
        dpi = dpi_out
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=0.7 + 0.5 * dpi / 300 * rng.random()))
        tags.append("blur")
    if noise:
        image = sensor_noise(image, dpi, rng)
        tags.append("noise")
    if photo:
        image, dpi = phone_photo(image, dpi, rng)
        tags.append("photo")
    return Degraded(image=image, tags=tuple(tags), dpi=dpi)


def skew(image: Image.Image, degrees: float, rng: np.random.Generator) -> Image.Image:
    """Rotate about the centre (counterclockwise for positive), expanding with an off-white bed colour."""
    shade = int(rng.integers(240, 256))
    fill: int | tuple[int, int, int] = shade if image.mode == "L" else (shade, shade, shade)
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def rotate_quarters_ccw(image: Image.Image, quarters: int) -> Image.Image:
    """Lossless quarter-turn rotation, counterclockwise."""
    ops = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
    return image.transpose(ops[quarters % 4]) if quarters % 4 else image


def resample(image: Image.Image, dpi_in: int, dpi_out: int) -> Image.Image:
    """Resample to another resolution."""
    factor = dpi_out / dpi_in
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int = 4) -> np.ndarray:
    """A smooth random field in [0, 1] built by upsampling a tiny random grid."""
    grid = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def _as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def _to_image(arr: np.ndarray, mode: str) -> Image.Image:
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), mode)


def illumination(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Smooth uneven lighting: a random low-frequency field plus a directional falloff."""
    arr = _as_array(image)
    h, w = arr.shape[:2]
    field = _smooth_field(rng, (h, w))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    gain = 1.0 - rng.uniform(0.12, 0.25) * field - rng.uniform(0.08, 0.18) * ramp
    if arr.ndim == 3:
        gain = gain[..., None]
    return _to_image(arr * gain, image.mode)


def sensor_noise(image: Image.Image, dpi: int, rng: np.random.Generator) -> Image.Image:
    """Gaussian sensor noise, a few dust speckles, then scanner auto-levels."""
    arr = _as_array(image)
    arr = arr + rng.normal(0.0, rng.uniform(4.0, 7.0), arr.shape).astype(np.float32)
    h, w = arr.shape[:2]
    for _ in range(int(rng.integers(15, 45))):
        r = max(1, round(rng.uniform(0.5, 2.0) * dpi / 300))
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        arr[max(0, cy - r):cy + r, max(0, cx - r):cx + r] *= rng.uniform(0.25, 0.7)
    return _to_image(arr * (255.0 / _WHITE_POINT), image.mode)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A darker table-like texture: wood grain or a mottled dark surface (RGB float)."""
    if rng.random() < 0.65:
        # Wood: long fine streaks along the grain, bent by a slow wobble, with broad tone bands.
        small_w, small_h = max(8, width // 3), max(8, height // 120)
        streaks = cv2.resize(rng.random((small_h, small_w)).astype(np.float32), (width, height),
                             interpolation=cv2.INTER_CUBIC)
        wobble = (_smooth_field(rng, (height, width), cells=5) - 0.5) * rng.uniform(40, 90)
        xs = (np.arange(width, dtype=np.float32)[None, :] + wobble).clip(0, width - 1).astype(np.int32)
        streaks = np.take_along_axis(streaks, xs, axis=1)
        bands = _smooth_field(rng, (height, width), cells=7)
        base = np.array([rng.uniform(95, 140), rng.uniform(60, 88), rng.uniform(32, 55)], np.float32)
        tone = 0.78 + 0.22 * streaks + 0.25 * (bands - 0.5)
        if rng.random() < 0.5:  # grain across the frame instead of along it
            tone = cv2.resize(tone.T.copy(), (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        base = np.full(3, rng.uniform(55, 95), np.float32) * np.array([1.0, 0.98, 1.04], np.float32)
        tone = 1.0 + 0.25 * (_smooth_field(rng, (height, width), cells=8) - 0.5)
    bg = tone[..., None] * base[None, None, :]
    return bg + rng.normal(0, 4.0, bg.shape).astype(np.float32)


def _sheet_corners(
    rng: np.random.Generator, frame: tuple[int, int], size: tuple[float, float]
) -> np.ndarray | None:
    """Perspective-moved corners of a centred sheet, or None if they leave the frame."""
    fw, fh = frame
    sw, sh = size
    cx = fw / 2 + rng.uniform(-0.03, 0.03) * fw
    cy = fh / 2 + rng.uniform(-0.03, 0.03) * fh
    rect = np.array([[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]], np.float32)
    moves = rng.uniform(0.03, 0.08, (4, 2)) * np.array([sw, sh], np.float32)
    moves *= rng.choice([-1.0, 1.0], (4, 2))
    corners = rect + moves + np.array([cx, cy], np.float32)
    margin = 0.02 * min(fw, fh)
    inside = (corners[:, 0].min() > margin and corners[:, 1].min() > margin
              and corners[:, 0].max() < fw - margin and corners[:, 1].max() < fh - margin)
    return corners.astype(np.float32) if inside else None


def phone_photo(image: Image.Image, dpi: int, rng: np.random.Generator) -> tuple[Image.Image, int]:
    """Photograph the sheet lying on a table: perspective, background, lighting, shadow, blur."""
    frame_h = int(rng.integers(2400, 3001))
    frame_w = int(frame_h * 0.75)
    sheet = np.asarray(image.convert("RGB"), dtype=np.float32)
    # Paper under room light is a little warm; the tint also separates it from pure-white scans.
    sheet = sheet * np.array([1.0, rng.uniform(0.96, 0.99), rng.uniform(0.88, 0.95)], np.float32)
    scale = rng.uniform(0.74, 0.82) * frame_h / image.height
    scale = min(scale, 0.8 * frame_w / image.width)
    for _ in range(50):
        corners = _sheet_corners(rng, (frame_w, frame_h), (image.width * scale, image.height * scale))
        if corners is not None:
            break
        scale *= 0.97
    else:
        raise RuntimeError("could not fit the photographed sheet inside the frame")
    # Downscale with area averaging first so the perspective warp itself is close to 1:1.
    small = cv2.resize(sheet, (round(image.width * scale), round(image.height * scale)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners)
    warped = cv2.warpPerspective(small, matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((sh, sw), np.float32), matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR)
    bg = _background(rng, frame_w, frame_h)
    # The sheet casts a soft shadow on the table, offset away from the light.
    offset = np.float32([[1, 0, rng.uniform(-0.015, 0.015) * frame_w], [0, 1, rng.uniform(0.004, 0.015) * frame_h]])
    drop = cv2.warpAffine(mask, offset, (frame_w, frame_h))
    drop = cv2.GaussianBlur(drop, (0, 0), sigmaX=0.012 * frame_w)
    bg *= (1.0 - 0.5 * drop)[..., None]
    comp = bg * (1.0 - mask[..., None]) + warped * mask[..., None]
    # Room lighting: a directional gradient plus a soft blob shadow (the phone or a hand).
    yy, xx = np.mgrid[0:frame_h, 0:frame_w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (xx / frame_w - 0.5) + np.sin(angle) * (yy / frame_h - 0.5)
    light = 1.0 + rng.uniform(0.12, 0.25) * ramp
    bx, by = rng.uniform(0.1, 0.9) * frame_w, rng.uniform(0.1, 0.9) * frame_h
    radius = rng.uniform(0.15, 0.3) * frame_w
    blob = np.exp(-(((xx - bx) ** 2 + (yy - by) ** 2) / (2 * radius ** 2)))
    light *= 1.0 - rng.uniform(0.12, 0.25) * blob
    comp *= light[..., None] * rng.uniform(0.88, 0.97)
    comp = cv2.GaussianBlur(comp, (0, 0), sigmaX=rng.uniform(0.7, 1.3))
    comp += rng.normal(0, 2.5, comp.shape).astype(np.float32)
    return _to_image(comp, "RGB"), round(dpi * scale)
