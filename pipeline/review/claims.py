"""Claims on review items: how long a lease lasts, and the first and last steps of every verdict.

A lease is a row (item, holder, expires_at). Claiming happens inside BEGIN IMMEDIATE, so two claims can never
pick the same item (Label Studio's task locks handed one task to two users, #795, and stuck forever, #4190:
ours expire, are renewed by a heartbeat while the page is open, and only the live holder may submit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pipeline.store import Workspace, leases

LEASE_SECONDS = 600.0
SUBMIT_SECONDS = 60.0  # a submit extends the lease this long, so it cannot expire half-way through the verdict


class LeaseLost(Exception):
    """The item is not (or no longer) leased to this user: someone else may hold it now."""


def today(now: float) -> str:
    """The day (UTC) an action counts for in "mine today"."""
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat()


def hold_for_submit(workspace: Workspace, item: str, user: str, *, now: float) -> None:
    """Check and extend the live lease in one statement; raises LeaseLost if this user does not hold it.

    Called inside the verdict's transaction: a refused submit rolls back having written nothing."""
    if not leases.extend_if_held(workspace, item, user, now=now, until=now + SUBMIT_SECONDS):
        raise LeaseLost(item)


def finish(workspace: Workspace, item: str, user: str, kind: str, *, now: float, detail: str = "",
           decision_ids: Sequence[int] = ()) -> None:
    """Log the verdict and release its lease: the last steps of it, in its transaction."""
    leases.log_action(workspace, item, user, kind, at=now, day=today(now), detail=detail, decision_ids=decision_ids)
    leases.release_lease(workspace, item, user)
