"""Register a page to its form's template (the blank sheet), and drop the template's print out of the page's ink.

A form's template is the upright blank sheet at the working scale. Registration matches ORB features (corners
of printed letters and of the ruling, which a blank copy and a filled sheet share) at a reduced size, fits a
homography with RANSAC (so phone photos, whose leveling leaves a little perspective, register too), and then
measures how well the template's print lands on the page's ink. A page that cannot be registered is reported
as such, never read through a wrong fit.

Features are matched at a fixed reduced width: ORB's cost grows with the pixel count, and at about a third of
the working scale the corners of 8-10 pt print are still distinct (measured on the city form: 0.03-0.08 s per
page for features, matching and the fit together).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from scanner.errors import SheetError
from scanner.grid import ruling_masks
from scanner.normalize import WORK_SHORT_SIDE

# The width, in pixels, at which features are found and matched (a third of the working short side).
MATCH_WIDTH = 600
# ORB keeps this many strongest corners per image: enough to cover a page of print several times over.
FEATURES = 1500
# Lowe's ratio test: a match must be clearly better than the second best (repeated letters and rules are not).
RATIO = 0.8
# Guided matching: a feature's partner lies within this many pixels (at MATCH_WIDTH) of where the coarse fit
# puts it, and differs in fewer than this many of ORB's 256 bits (unrelated corners differ in about half).
GUIDE_RADIUS = 6.0
GUIDE_MAX_BITS = 80
# Phrases within a 1/SNAP_BANDS of the page's height of each other agree on one local shift (a table line is
# about a twentieth of a letter page; its number, its cell labels and its sub-row labels share the band).
SNAP_BANDS = 25


@dataclass(frozen=True)
class RegistrationSettings:
    # RANSAC's inlier tolerance, as a share of the matching width (2 px at 600 px).
    ransac_tolerance: float = 2.0 / MATCH_WIDTH
    # A fit needs this many agreeing matches: 4 define a homography; 30 make a chance fit implausible.
    min_inliers: int = 30
    # Share of the template's print that must land on the page's ink (printed text redrawn by a scanner keeps
    # most of it; a wrong fit or another form keeps a small fraction, since rules cross only where they cross).
    min_print_overlap: float = 0.5
    # How far (a share of the page width) print may land from where the template has it and still count as
    # matched: leveling and JPEG leave about a pixel or two; the dropout mask grows by the same margin.
    tolerance: float = 3.0 / 1700
    # How far (in tolerances) each printed phrase may move onto the page's own print before it drops out.
    snap_reach: int = 3


@dataclass(frozen=True)
class Template:
    """The blank sheet: its gray image at the working scale, its printed ink, and its features (found once)."""

    gray: np.ndarray
    print_mask: np.ndarray  # everything printed: the fit is checked on it
    # What is printed apart from the ruling: labels, headings, line numbers. Only this drops out of a page's
    # ink; rules are left to the ink stage, which keeps the writing that touches them (the foot of an E on a
    # line's rule), where a blanket dropout would erase it.
    label_mask: np.ndarray
    keypoints: tuple = field(repr=False)
    descriptors: np.ndarray | None = field(repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.gray.shape[:2]


@dataclass(frozen=True)
class Registration:
    """Where a page sits on the template: `homography` maps page pixels to template pixels."""

    homography: np.ndarray | None
    matches: int
    inliers: int
    print_overlap: float
    ok: bool
    message: str = ""

    @property
    def quality(self) -> float:
        """One figure for pages.csv: the share of the template's print found on the page (0 when not registered)."""
        return round(self.print_overlap, 3) if self.ok else 0.0


class TemplateUnreadable(SheetError):
    advice = "make the form again with 'petition form detect' from a blank sheet"


def load_template(path: Path) -> Template:
    """The blank sheet a form names, read once per process (and again only when the file changes)."""
    stat = path.stat()
    return _load_template(str(path), stat.st_mtime_ns, stat.st_size)


def save_template(gray: np.ndarray, path: Path) -> None:
    """Write the upright blank sheet (PNG: lossless, so its print is exactly what pages are compared with)."""
    if not cv2.imwrite(str(path), gray):
        raise OSError(f"could not write {path}")


@lru_cache(maxsize=4)
def _load_template(path: str, _mtime_ns: int, _size: int) -> Template:
    gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise TemplateUnreadable(f"the form's blank sheet {Path(path).name} cannot be read as an image")
    short = min(gray.shape[:2])
    if short != WORK_SHORT_SIDE:  # pages are compared at the working scale, whatever size the sheet was saved at
        factor = WORK_SHORT_SIDE / short
        gray = cv2.resize(gray, None, fx=factor, fy=factor,
                          interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    # The faint mask: pale print and the grey edge of every printed stroke are print too, and must drop out.
    printed = ruling_masks(gray).faint > 0
    return make_template(gray, printed, ruling=_long_rules(printed))


def _long_rules(printed: np.ndarray) -> np.ndarray:
    """The sheet's rules: printed runs far longer than any letter. Across, an eighth of the page (a label's
    underline is shorter, and drops out with its label); down, a fortieth of the page's height, longer than
    the tallest printed digit or capital and shorter than the shortest cell divider."""
    height, width = printed.shape
    mask = printed.astype(np.uint8)
    across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, max(3, width // 8)), np.uint8))
    down = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((max(3, height // 40), 1), np.uint8))
    return (across | down) > 0


def make_template(gray: np.ndarray, print_mask: np.ndarray, *, ruling: np.ndarray | None = None,
                  settings: RegistrationSettings = RegistrationSettings()) -> Template:
    """A template from the upright blank sheet, its printed ink, and (optionally) which of it is ruling."""
    small, _ = _match_scale(gray)
    keypoints, descriptors = _orb().detectAndCompute(small, None)
    printed = print_mask.astype(bool)
    labels = printed
    if ruling is not None:  # a rule's grey edge is ruling too: grown by the tolerance before it is taken out
        radius = max(1, round(settings.tolerance * gray.shape[1]))
        labels = printed & ~(cv2.dilate(ruling.astype(np.uint8), _disk(radius)) > 0)
    return Template(gray, printed, labels, tuple(keypoints), descriptors)


def register(gray: np.ndarray, ink: np.ndarray, template: Template,
             settings: RegistrationSettings = RegistrationSettings()) -> Registration:
    """Fit the page (upright gray image and its ink mask) to the template and check the fit on the print."""
    homography, matches, inliers = _fit(gray, template, settings)
    if homography is None or inliers < settings.min_inliers:
        return Registration(None, matches, inliers, 0.0, False,
                            f"only {inliers} of {matches} features agree with the form's blank sheet")
    overlap = print_overlap(warp_to_template(ink.astype(np.uint8), homography, template, fill=0) > 0,
                            template, settings)
    if overlap < settings.min_print_overlap:
        return Registration(homography, matches, inliers, overlap, False,
                            f"only {overlap:.0%} of the form's print lines up with this page")
    return Registration(homography, matches, inliers, overlap, True)


def warp_to_template(image: np.ndarray, homography: np.ndarray, template: Template, *, fill: int,
                     nearest: bool = False) -> np.ndarray:
    """The page image (gray or mask) resampled into the template's frame; outside the page is `fill`."""
    height, width = template.shape
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpPerspective(image, homography, (width, height), flags=flags, borderValue=fill)


def print_overlap(page_ink: np.ndarray, template: Template, settings: RegistrationSettings) -> float:
    """Share of the template's printed pixels that have page ink within the registration tolerance."""
    printed = template.print_mask
    if not printed.any():
        return 0.0
    near = cv2.dilate(page_ink.astype(np.uint8), _disk(_tolerance_px(template, settings))) > 0
    return float((near & printed).sum() / printed.sum())


def labels_on_page(template: Template, homography: np.ndarray, shape: tuple[int, ...],
                   settings: RegistrationSettings = RegistrationSettings(), *,
                   ink: np.ndarray | None = None, rows: tuple[int, int] | None = None) -> np.ndarray:
    """The template's printed labels in the page's own frame (the page is never resampled: its pixels are
    read as scanned), grown by the registration tolerance.

    Given the page's ink, each printed phrase is first moved onto the page's own print (`_snapped_to_print`):
    one homography leaves a few pixels of error here and there (paper that is not flat, the fit's own
    tolerance), and a label's edge left behind is read as writing ("j" from the foot of PRINTED). `rows`
    limits that to the page rows where it matters (the table's: the print beyond it lies in no cell)."""
    height, width = shape[:2]
    placed = cv2.warpPerspective(template.label_mask.astype(np.uint8), np.linalg.inv(homography), (width, height),
                                 flags=cv2.INTER_NEAREST, borderValue=0)
    tolerance = _tolerance_px(template, settings)
    if ink is not None:
        reach = settings.snap_reach * tolerance
        top, bottom = (0, height) if rows is None else (max(0, rows[0] - reach), min(height, rows[1] + reach))
        placed = placed > 0
        placed[top:bottom] = _snapped_to_print(placed[top:bottom], ink[top:bottom] > 0, reach=reach)
    return cv2.dilate(placed.astype(np.uint8), _disk(tolerance)) > 0


def _snapped_to_print(placed: np.ndarray, ink: np.ndarray, *, reach: int) -> np.ndarray:
    """Each printed phrase (labels closed into blobs a letter's width apart) moved by the shift, within
    `reach` pixels, that lays its band of the sheet's print best on the page's ink; no shift when none does
    better (ties stay put).

    The shift is agreed by every phrase in the same band across the page (a table line's number, its cell
    labels): writing over one label would pull that label onto the writing, and its neighbours outvote it.
    It is searched at half size, then settled to the pixel phrase by phrase (a search of every shift at full
    size cost more than the whole registration)."""
    half_placed, half_ink = _halved(placed), _halved(ink)
    half_reach = (reach + 1) // 2
    boxes = _phrases(half_placed, gap=max(2, half_reach))
    shifts = _agreed_shifts(half_placed, half_ink, boxes, reach=half_reach, band=half_placed.shape[0] / SNAP_BANDS)
    padded = cv2.copyMakeBorder(ink.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    snapped = np.zeros_like(placed)
    for (x, y, w, h), (dy, dx) in zip(boxes, shifts):
        x, y, w, h = 2 * x, 2 * y, 2 * w, 2 * h
        label = placed[y:y + h, x:x + w]
        top, left = y + 2 * dy, x + 2 * dx
        window = _window(padded, top, left, label.shape, margin=1)
        if window is not None:
            near = _shift_fit(label, window)
            _, most, _, (best_x, best_y) = cv2.minMaxLoc(near)
            if most > near[1, 1] + 1e-6:
                top, left = top + best_y - 1, left + best_x - 1
        _paste(snapped, label, top, left)
    return snapped


def _halved(mask: np.ndarray) -> np.ndarray:
    """A mask at half size, a pixel set where any of the four it stands for is (thin print survives)."""
    return cv2.dilate(mask.view(np.uint8), np.ones((2, 2), np.uint8), anchor=(0, 0))[::2, ::2] > 0


def _phrases(placed: np.ndarray, *, gap: int) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of the print closed into phrases: letters and words `gap` apart join."""
    blobs = cv2.morphologyEx(placed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((gap, 2 * gap + 1), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    return [tuple(int(v) for v in row[:4]) for row in stats[1:count]]


def _agreed_shifts(placed: np.ndarray, ink: np.ndarray, boxes: list[tuple[int, int, int, int]], *, reach: int,
                   band: float) -> list[tuple[int, int]]:
    """Per phrase, the shift (dy, dx) within `reach` that the phrases of its band (centres within `band`
    rows) together lay best on the ink; (0, 0) unless some shift does better."""
    padded = cv2.copyMakeBorder(ink.view(np.uint8), reach, reach, reach, reach, cv2.BORDER_CONSTANT, value=0)
    fits = [_shift_fit(placed[y:y + h, x:x + w], padded[y:y + h + 2 * reach, x:x + w + 2 * reach])
            for x, y, w, h in boxes]
    middles = [y + h / 2 for _, y, _, h in boxes]
    shifts = []
    for middle in middles:
        agreed = sum(fit for fit, other in zip(fits, middles) if abs(other - middle) <= band)
        _, most, _, (best_x, best_y) = cv2.minMaxLoc(agreed)
        shifts.append((best_y - reach, best_x - reach) if most > agreed[reach, reach] + 1e-6 else (0, 0))
    return shifts


def _shift_fit(label: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Share of a phrase's print that lands on the ink at every shift: matchTemplate of the phrase over a
    window of the ink `reach` pixels larger on every side (one score per shift)."""
    label = np.ascontiguousarray(label.view(np.uint8))  # 0/1: matchTemplate counts the hits in float
    hits = cv2.matchTemplate(np.ascontiguousarray(window), label, cv2.TM_CCORR)
    return hits / max(1.0, float(cv2.countNonZero(label)))


def _window(padded: np.ndarray, top: int, left: int, shape: tuple[int, ...], *, margin: int) -> np.ndarray | None:
    """The ink (padded by `margin` on every side) under a phrase placed at (top, left), `margin` larger on
    every side; None where it would leave the page."""
    y0, x0 = top, left  # in padded coordinates the margin cancels the offset
    y1, x1 = top + shape[0] + 2 * margin, left + shape[1] + 2 * margin
    if y0 < 0 or x0 < 0 or y1 > padded.shape[0] or x1 > padded.shape[1]:
        return None
    return padded[y0:y1, x0:x1]


def _paste(into: np.ndarray, mask: np.ndarray, top: int, left: int) -> None:
    """OR `mask` into `into` with its top-left corner at (top, left); what falls outside is dropped."""
    height, width = into.shape
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(height, top + mask.shape[0]), min(width, left + mask.shape[1])
    if y1 > y0 and x1 > x0:
        into[y0:y1, x0:x1] |= mask[y0 - top:y1 - top, x0 - left:x1 - left]


def drop_print(ink: np.ndarray, printed: np.ndarray) -> np.ndarray:
    """The page's ink without the printed labels placed on it (`labels_on_page`).

    Writing that crosses a label loses the pixels it shares with it, as it does where ruling is removed: a
    stroke keeps its length elsewhere, and a label alone leaves nothing, so a blank line stays blank."""
    return np.where(printed, 0, ink).astype(ink.dtype)


def _fit(gray: np.ndarray, template: Template, settings: RegistrationSettings
         ) -> tuple[np.ndarray | None, int, int]:
    """Coarse fit on distinct matches, then a guided one: every feature near where the coarse fit puts it.

    The distinct matches are mostly printed text, which can sit on one side of the form; a homography fit to
    them alone drifts by several pixels at the far side. Once the coarse fit is known, the corners of rules and
    of repeated letters match too (the nearest similar feature is the right one), so the second fit holds
    everywhere on the sheet.
    """
    small, scale = _match_scale(gray)
    keypoints, descriptors = _orb().detectAndCompute(small, None)
    if descriptors is None or template.descriptors is None or len(keypoints) < 4:
        return None, 0, 0
    page_points = np.float32([k.pt for k in keypoints])
    template_points = np.float32([k.pt for k in template.keypoints])
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors, template.descriptors, k=2)
    good = [(best.queryIdx, best.trainIdx) for best, second in (p for p in pairs if len(p) == 2)
            if best.distance < RATIO * second.distance]
    coarse, inliers = _homography(page_points, template_points, good, settings.ransac_tolerance * MATCH_WIDTH)
    if coarse is None:
        return None, len(good), 0
    guided = _guided_pairs(page_points, descriptors, template_points, template.descriptors, coarse)
    fine, fine_inliers = _homography(page_points, template_points, guided,
                                     settings.ransac_tolerance * MATCH_WIDTH / 2)
    if fine is not None and fine_inliers > inliers:
        coarse, inliers = fine, fine_inliers
    template_scale = MATCH_WIDTH / template.shape[1]
    # The fit is between the reduced images: page pixels shrink by `scale`, template pixels grow back.
    full = np.diag([1 / template_scale, 1 / template_scale, 1.0]) @ coarse @ np.diag([scale, scale, 1.0])
    return full, len(good), inliers


def _homography(page_points: np.ndarray, template_points: np.ndarray, pairs: list[tuple[int, int]],
                tolerance: float) -> tuple[np.ndarray | None, int]:
    if len(pairs) < 4:
        return None, 0
    index = np.array(pairs)
    homography, inlier_mask = cv2.findHomography(page_points[index[:, 0]], template_points[index[:, 1]],
                                                 cv2.RANSAC, tolerance)
    if homography is None:
        return None, 0
    return homography, int(inlier_mask.sum())


def _guided_pairs(page_points: np.ndarray, page_descriptors: np.ndarray, template_points: np.ndarray,
                  template_descriptors: np.ndarray, homography: np.ndarray) -> list[tuple[int, int]]:
    """For each page feature, the most similar template feature within GUIDE_RADIUS of where the fit puts it."""
    projected = cv2.perspectiveTransform(page_points[None], homography)[0]
    # Squared distances through one matrix product (|p|^2 + |t|^2 - 2 p.t): a broadcast difference of two
    # 1500-point sets costs ten times more.
    squared = ((projected ** 2).sum(1)[:, None] + (template_points ** 2).sum(1)[None, :]
               - 2.0 * projected @ template_points.T)
    page_index, template_index = np.nonzero(squared < GUIDE_RADIUS ** 2)
    if page_index.size == 0:
        return []
    differing = np.unpackbits(page_descriptors[page_index] ^ template_descriptors[template_index], axis=1).sum(1)
    similar = differing < GUIDE_MAX_BITS
    page_index, template_index, differing = page_index[similar], template_index[similar], differing[similar]
    # The most similar partner of each page feature: sorted by feature then by differing bits, first of each.
    order = np.lexsort((differing, page_index))
    _, first = np.unique(page_index[order], return_index=True)
    chosen = order[first]
    return list(zip(page_index[chosen].tolist(), template_index[chosen].tolist()))


def _match_scale(gray: np.ndarray) -> tuple[np.ndarray, float]:
    scale = MATCH_WIDTH / gray.shape[1]
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def _orb() -> cv2.ORB:
    # A low FAST threshold finds corners on pale print too; the strongest FEATURES are kept.
    return cv2.ORB_create(FEATURES, fastThreshold=12)


def _tolerance_px(template: Template, settings: RegistrationSettings) -> int:
    return max(1, round(settings.tolerance * template.shape[1]))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
