"""Every threshold that tunes reading, in frozen settings objects reachable from `ReadSettings`.

Shares and ratios live here; pixel sizes do not (they derive from the page's `Scale`, see scale.py).
`ReadSettings` is imported from `scanner.read` by callers; it is defined here so that the stages can share it
without importing the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.fields import Recognizer
from scanner.normalize import Settings as NormalizeSettings


@dataclass(frozen=True)
class InkThresholds:
    """Definite and marginal thresholds on ink extent (share of cell width) and ink fraction, and the shares
    that decide which strokes are printed, whose they are and what is a strike-out."""

    present_extent: float = 0.10
    absent_extent: float = 0.04
    present_fraction: float = 0.006
    absent_fraction: float = 0.002
    mark_size: float = 0.22  # a stroke shorter than this share of the cell's height is a stray mark, not writing
    printed_share: float = 0.85  # inked in this share of lines: printed (handwriting overlaps by chance in few)
    min_template_lines: int = 4  # fewer lines cannot tell printed ink from handwriting
    rule_run_lines: float = 3.0  # a run near a rule this many line heights long is the rule, not a letter's foot
    own_writing_height: float = 0.35  # writing this share of its cell's height tall is the cell's own
    sub_row_tail_height: float = 0.5  # ...but in a sub-row, a taller piece under this share may be a tail
    overflow_mass_ratio: float = 3.0  # a rule-hugging tail joins a neighbour holding this many times its ink
    strike_out_width: float = 0.5  # a stroke this share of the table wide is a strike-out, not a letter
    shared_part_area: float = 0.03  # part of a shared stroke in a line, as a share of a line-height square
    shared_part_height: float = 0.55  # ...that fills this share of its line's height is that line's writing
    strike_span: float = 0.45  # level runs over this share of the table's width strike a line out
    # A signature's part in its own sub-row this share of the sub-row tall (and shared_part_area big) signs the
    # line even when most of the signature runs on into the sub-row below; an address's ascenders barely cross.
    signature_part_height: float = 0.2


@dataclass(frozen=True)
class LayoutSettings:
    """The table search (grid.py), role naming (roles.py) and form fitting (form.py)."""

    # Masks: a pixel is ink below this share of the paper's brightness; faint (pale print, ruling) below the next.
    ink_contrast: float = 0.80
    faint_contrast: float = 0.92
    retry_faint_contrast: float = 0.95  # second look at a sheet whose pale ruling a phone photo washed out
    # Third look, in the page averaged along each rule's direction: a rule darker than the averaged paper by
    # this many times the paper's own spread, and by this share of its brightness at least (a clean scan's
    # paper has no spread at all).
    averaged_rule_noise: float = 4.0
    averaged_rule_contrast: float = 0.008
    # Rules and the table's lines.
    min_rule_length: float = 0.35  # share of the page width a table rule spans at least
    rule_row_share: float = 0.6  # a candidate row holds a run this share of the minimum length
    rule_inked_share: float = 0.6  # a broken rule is inked over this share of its span
    min_table_rules: int = 3  # two lines at least
    long_rule_share: float = 0.6  # rules this share of the longest one mark the table's ends
    full_rule_slack: float = 0.04  # share of the table width a full-width rule may fall short at either end
    partial_rule_length: float = 0.3  # share of the table width a sub-row rule spans at least
    spacing_tolerance: float = 0.12  # share of the spacing a rule may sit off the regular chain
    # An end line of the chain is the table's only when a column divider runs down this share of it: the
    # dividers stop at the table's edge, while a box's rule or a dense line of print below can sit a spacing away.
    end_line_divider_share: float = 0.5
    # Sub-rows and columns.
    subrow_tolerance: float = 0.08  # share of a line's height within which sub-row splits agree
    subrow_agreement: float = 0.5  # share of lines a sub-row split must repeat on
    subrow_lowest: float = 0.15  # a split nearer a line's top or bottom than these is not a sub-row
    subrow_highest: float = 0.85
    # A column is split into sub-rows when the partial rule covers this share of its width (a form's partial rule
    # spans its own cells; handwriting's level strokes crossing a neighbour column cover little of it).
    subrow_column_share: float = 0.6
    column_agreement: float = 0.6  # share of a sub-row's height a vertical rule covers
    column_edge_margin: float = 0.02  # share of the table width near its edges where no divider is looked for
    header_text_share: float = 0.01  # a header row holds ink over this share of the table's width
    # The line-number column: narrow, at one edge; also how roles guess it without words.
    number_column_share: float = 0.12  # at most this share of the table width
    number_column_ratio: float = 0.75  # at most this share of the other edge column's width
    # Role naming from printed words.
    min_label_lines: int = 3  # a label printed in every line needs a few lines to show
    label_share: float = 0.85  # a label's pixels are inked in this share of lines
    label_aspect: float = 2.5  # a label is a word: this many times wider than tall
    label_confidence: float = 60.0  # Tesseract's mean word confidence a header read needs
    line_number_confidence: float = 80.0  # ...and a printed line number (clean digits read at 90+)
    label_max_grey: int = 200  # a crop whose darkest pixel is paler than this holds no print
    label_min_ink: float = 0.002  # ...nor one inked over less than this share
    keyword_similarity: float = 0.8  # difflib ratio at which a misread word still names a role
    stacked_slack: float = 0.02  # share of a cell's width within which two sub-cells are stacked
    # Form files.
    form_rule_length: float = 0.3  # share of the page width a rule a form snaps to spans at least
    form_snap_tolerance: float = 0.3  # share of a line's height a form rule may be moved to the found one


@dataclass(frozen=True)
class ReadSettings:
    """Everything that tunes reading; one object instead of long parameter lists."""

    ink: InkThresholds = field(default_factory=InkThresholds)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    keep_crops: bool = False  # PNG crops per line, for the workspace and the review app
    page_timeout_s: float = 0.0  # 0 = no limit; otherwise a page that takes longer becomes TIMED_OUT
    recognizer: Recognizer = Recognizer.PP_OCR  # what reads handwriting; print is Tesseract's (PP-OCR rereads a header)
    accept_name_confidence: float | None = None  # None: the recognizer's calibrated threshold (>= 99% precise)
    layout: LayoutSettings = field(default_factory=LayoutSettings)
