"""Turn a page upright: find the sheet in a photo and undo perspective, then orientation and skew."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scanner.types import Page, UprightPage

# Everything downstream works at one scale: the sheet's short side is this many pixels (letter at 200 dpi).
# Handwritten capitals then stand ~30-45 px tall, where Tesseract reads best, and kernels scale from it.
WORK_SHORT_SIDE = 1700
_PROBE_SHORT_SIDE = 600
_LETTER_ASPECT = 11 / 8.5
_A4_ASPECT = 297 / 210


@dataclass(frozen=True)
class Settings:
    max_skew_deg: float = 16.0
    use_osd: bool = True


@dataclass(frozen=True)
class Quad:
    """Four corners of the sheet in source pixels: top-left, top-right, bottom-right, bottom-left."""

    points: np.ndarray


@dataclass(frozen=True)
class Skew:
    quarter_turns: int  # 0 or 1 after the projection test (0/90); 180 is decided later
    angle_deg: float
    sharpness: float


def normalize(page: Page, *, settings: Settings = Settings(), osd=None) -> UprightPage:
    """Perspective → axis and skew → up/down (by Tesseract's orientation detector)."""
    leveled = level(page, settings=settings)
    if settings.use_osd and needs_half_turn(leveled.gray, osd):
        return half_turn(leveled)
    return leveled


def level(page: Page, *, settings: Settings = Settings(), quarter_turns: int | None = None) -> UprightPage:
    """Perspective, then text lines level (0 or 90 degrees and skew), resampled to the working scale.

    Up and down are left open: a sheet upside down has level lines too. The reader decides that from the
    table itself (where the line numbers are), which is cheaper and surer than orientation detection.
    `quarter_turns` (0 or 1): level on that axis instead of the one the projection test prefers.
    """
    gray = page.gray
    quad = find_sheet_quad(gray)
    if quad is not None:
        gray = warp_quad(gray, quad)
    gray = _to_work_scale(gray)
    skew = estimate_axis_and_skew(gray, max_skew_deg=settings.max_skew_deg, quarter_turns=quarter_turns)
    leveled = rotate(gray, skew.quarter_turns, skew.angle_deg)
    scale = leveled.shape[1] / max(page.gray.shape[1], 1)
    return UprightPage(page, leveled, skew.quarter_turns, skew.angle_deg, quad is not None, scale)


def half_turn(upright: UprightPage) -> UprightPage:
    """The same page turned by 180 degrees."""
    turned = np.ascontiguousarray(upright.gray[::-1, ::-1])
    return UprightPage(upright.page, turned, (upright.quarter_turns + 2) % 4, upright.skew_deg,
                       upright.perspective_corrected, upright.scale)


def find_sheet_quad(gray: np.ndarray) -> Quad | None:
    """The sheet's outline when the photo shows background around it; None for a flatbed scan."""
    small, factor = _shrink(gray, _PROBE_SHORT_SIDE)
    blurred = cv2.GaussianBlur(small, (7, 7), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    area_share = cv2.contourArea(contour) / float(small.shape[0] * small.shape[1])
    # A scan is all sheet; a photo of a sheet shows a clear margin of table around it.
    if not 0.2 < area_share < 0.93:
        return None
    hull = cv2.convexHull(contour)
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(approx) != 4:
        return None
    corners = _order_corners(approx.reshape(4, 2).astype(np.float32) / factor)
    if not _touches_no_edge(corners, gray.shape):
        return None
    return Quad(corners)


def warp_quad(gray: np.ndarray, quad: Quad) -> np.ndarray:
    """Map the sheet's quad onto a rectangle of the sheet's likely paper aspect."""
    tl, tr, br, bl = quad.points
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    aspect = _snap_aspect(height / max(width, 1.0))
    short = WORK_SHORT_SIDE
    out_w, out_h = (short, round(short * aspect)) if aspect >= 1 else (round(short / aspect), short)
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.points, target)
    return cv2.warpPerspective(gray, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=255)


def estimate_axis_and_skew(gray: np.ndarray, *, max_skew_deg: float, quarter_turns: int | None = None) -> Skew:
    """Projection-profile search: text lines and ruling give the sharpest row profile when level. On the given
    axis (`quarter_turns`), or the sharper of the two."""
    small, _ = _shrink(gray, _PROBE_SHORT_SIDE)
    ink = cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    # The 2-degree sweep over both axes needs no detail: a half-size image gives the same answer faster.
    rough = cv2.resize(ink, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    axes = (0, 1) if quarter_turns is None else (quarter_turns,)
    coarse = [(turns, _best_angle(np.rot90(rough, turns), np.arange(-max_skew_deg, max_skew_deg + 0.01, 2.0)))
              for turns in axes]
    turns, (angle, _) = max(coarse, key=lambda item: item[1][1])
    # Coarse to fine: 2 degrees, then 0.5, then 0.1 (the 1-px rules want that precision over a page width).
    candidate = np.rot90(ink, turns)
    angle, _ = _best_angle(candidate, np.arange(angle - 1.5, angle + 1.51, 0.5))
    angle, sharpness = _best_angle(candidate, np.arange(angle - 0.4, angle + 0.41, 0.1))
    return Skew(turns, round(float(angle), 2), sharpness)


def rotate(gray: np.ndarray, quarter_turns: int, angle_deg: float) -> np.ndarray:
    """Quarter turns (counter-clockwise) then a small rotation, keeping the whole sheet."""
    turned = np.ascontiguousarray(np.rot90(gray, quarter_turns))
    if abs(angle_deg) < 0.05:
        return turned
    height, width = turned.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(turned, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=255)


def _best_angle(ink: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    height, width = ink.shape
    centre = (width / 2, height / 2)
    scores = []
    for angle in angles:
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        rotated = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST)
        profile = rotated.sum(axis=1, dtype=np.float64)
        scores.append(float(np.sum(np.diff(profile) ** 2)))
    index = int(np.argmax(scores))
    return float(angles[index]), scores[index]


def needs_half_turn(upright: np.ndarray, osd=None) -> bool:
    """Tesseract's orientation detector decides up from down once the text runs horizontally."""
    if osd is None:
        from scanner.ocr import default_osd

        osd = default_osd()
    verdict = osd(upright)
    return verdict is not None and verdict == 180


def _to_work_scale(gray: np.ndarray) -> np.ndarray:
    short = min(gray.shape)
    if short == WORK_SHORT_SIDE:
        return gray
    factor = WORK_SHORT_SIDE / short
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interpolation)


def _shrink(gray: np.ndarray, short_side: int) -> tuple[np.ndarray, float]:
    factor = min(1.0, short_side / min(gray.shape))
    if factor == 1.0:
        return gray, 1.0
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), factor


def _order_corners(points: np.ndarray) -> np.ndarray:
    sums, diffs = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array(
        [points[np.argmin(sums)], points[np.argmin(diffs)], points[np.argmax(sums)], points[np.argmax(diffs)]],
        dtype=np.float32,
    )


def _touches_no_edge(corners: np.ndarray, shape: tuple[int, ...]) -> bool:
    margin = 0.005 * min(shape[:2])
    xs, ys = corners[:, 0], corners[:, 1]
    return bool(xs.min() > margin and ys.min() > margin and xs.max() < shape[1] - margin and ys.max() < shape[0] - margin)


def _snap_aspect(aspect: float) -> float:
    """Foreshortening distorts the measured aspect; snap to a common paper size when close."""
    for paper in (_LETTER_ASPECT, _A4_ASPECT, 1 / _LETTER_ASPECT, 1 / _A4_ASPECT):
        if abs(aspect - paper) / paper < 0.12:
            return paper
    return aspect
