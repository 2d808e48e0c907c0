"""A signer's row on the roster, rendered from its occurrences: what the stored roster keeps per cluster
(store/roster.py, table roster_rows) so that an export reads finished rows instead of building a million again.

pipeline/roster.py renders the clusters a fold touched (all of them on a rebuild); export and the review app read
the rows as stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline.names import display_parts, plain_display_parts, written_form
from pipeline.store.roster import ROW_COLUMNS, Member

# The roster's columns; a stored row (ROW_COLUMNS) adds middle_name, then voter_id (shown only when a voter file is
# loaded).
ROSTER_COLUMNS = list(ROW_COLUMNS[:-2])


def render(members: list[Member], possible: Mapping[str, int]) -> tuple[object, ...]:
    """A signer's row (store.roster.ROW_COLUMNS) from its occurrences in occurrence order, `possible` the possible
    duplicate pairs each occurrence is in. The name is the most trusted reading's (confirmed by a person first, then the
    machine's confidence; the first such occurrence on a tie)."""
    head = members[0]
    if len(members) == 1:  # most signers signed once: the short way
        best, sources = head, f"{head.file}:{head.page_no}:{head.line_no}"
        states = "human" if head.human_confirmed else "review" if head.needs_review else "auto"
        address = head.address if head.address.strip() else ""
        zip_code = head.zip if head.zip.strip() else ""
        email = head.email if head.email.strip() else ""
        voter_id = head.voter_id if head.voter_id.strip() else ""
        auto = int(not head.needs_review and not head.human_confirmed)
        confirmed, review = int(bool(head.human_confirmed)), bool(head.needs_review)
        repeats = possible.get(head.occurrence, 0)
    else:
        best = members[min(range(len(members)), key=lambda k: (not members[k].human_confirmed,
                                                                -members[k].name_confidence, k))]
        sources = ";".join(f"{m.file}:{m.page_no}:{m.line_no}" for m in members)
        # Per source, in the same order: confirmed by a person, accepted by the machine, or still to review.
        states = ";".join("human" if m.human_confirmed else "review" if m.needs_review else "auto" for m in members)
        address, zip_code = first_nonempty(m.address for m in members), first_nonempty(m.zip for m in members)
        email, voter_id = first_nonempty(m.email for m in members), first_nonempty(m.voter_id for m in members)
        auto = sum(not m.needs_review and not m.human_confirmed for m in members)
        confirmed, review = sum(bool(m.human_confirmed) for m in members), any(m.needs_review for m in members)
        repeats = sum(possible.get(m.occurrence, 0) for m in members)
    if best.first is not None:  # a name nameparser had to split: its parts were kept when it was folded in
        written, first, middle, last = written_form(best.name), best.first, best.middle, best.last
    else:
        written, first, middle, last = plain_display_parts(best.name) or display_parts(best.name)
    return (f"S{head.occurrence[5:21]}-{head.page_no}-{head.line_no}",  # export.signer_id(head.occurrence)
            written, first, last, len(members), sources, states, address, zip_code, email, auto, confirmed,
            "true" if review else "false", repeats, middle, voter_id)


def first_nonempty(values: Iterable[object]) -> str:
    return next((str(v) for v in values if str(v).strip()), "")
