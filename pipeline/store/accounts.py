"""Review app accounts, sessions, remembered devices and failed logins.

Only digests of tokens are stored (a copied database hands out no session). The rules (password hashing, the login
throttle, who may do what) are pipeline/users.py's and pipeline/review/auth.py's; writes here run in the caller's
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.store.base import now as timestamp

if TYPE_CHECKING:
    from pipeline.store.workspace import Workspace


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    disabled: bool
    password_hash: str


@dataclass(frozen=True)
class LiveSession:
    """A session that has not expired, of an enabled account."""

    user_name: str
    role: str
    csrf: str


# Accounts --------------------------------------------------------------------------------------------


def account(workspace: Workspace, name: str) -> Account | None:
    row = workspace.db.execute("SELECT name, role, disabled, password_hash FROM review_users WHERE name = ?",
                               (name,)).fetchone()
    return Account(row[0], row[1], bool(row[2]), row[3]) if row else None


def accounts(workspace: Workspace) -> list[Account]:
    rows = workspace.db.execute("SELECT name, role, disabled, password_hash FROM review_users ORDER BY name")
    return [Account(r[0], r[1], bool(r[2]), r[3]) for r in rows]


def insert_account(workspace: Workspace, name: str, password_hash: str, *, role: str) -> None:
    workspace.db.execute("INSERT INTO review_users (name, password_hash, role, disabled, created_at)"
                         " VALUES (?, ?, ?, 0, ?)", (name, password_hash, role, timestamp()))


def set_role(workspace: Workspace, name: str, role: str) -> bool:
    """False when there is no such account."""
    return workspace.db.execute("UPDATE review_users SET role = ? WHERE name = ?", (role, name)).rowcount > 0


def set_disabled(workspace: Workspace, name: str, disabled: bool) -> bool:
    """False when there is no such account."""
    return workspace.db.execute("UPDATE review_users SET disabled = ? WHERE name = ?",
                                (int(disabled), name)).rowcount > 0


# Sessions --------------------------------------------------------------------------------------------


def start_session(workspace: Workspace, token_sha256: str, user_name: str, csrf: str, *, now: float,
                  expires_at: float) -> None:
    """Store a new session, forgetting expired ones on the way."""
    workspace.db.execute("DELETE FROM review_sessions WHERE expires_at <= ?", (now,))
    workspace.db.execute("INSERT INTO review_sessions (token_sha256, user_name, csrf, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?, ?)", (token_sha256, user_name, csrf, now, expires_at))


def live_session(workspace: Workspace, token_sha256: str, *, now: float) -> LiveSession | None:
    row = workspace.db.execute(
        "SELECT u.name, u.role, s.csrf FROM review_sessions s JOIN review_users u ON u.name = s.user_name"
        " WHERE s.token_sha256 = ? AND s.expires_at > ? AND u.disabled = 0", (token_sha256, now)).fetchone()
    return LiveSession(row[0], row[1], row[2]) if row else None


def end_session(workspace: Workspace, token_sha256: str) -> None:
    workspace.db.execute("DELETE FROM review_sessions WHERE token_sha256 = ?", (token_sha256,))


def end_sessions_of(workspace: Workspace, user_name: str) -> None:
    workspace.db.execute("DELETE FROM review_sessions WHERE user_name = ?", (user_name,))


# Devices and failed logins -----------------------------------------------------------------------------


def device_is_live(workspace: Workspace, token_sha256: str, user_name: str, *, now: float) -> bool:
    row = workspace.db.execute("SELECT 1 FROM review_devices WHERE token_sha256 = ? AND user_name = ?"
                               " AND expires_at > ?", (token_sha256, user_name, now)).fetchone()
    return row is not None


def replace_device(workspace: Workspace, old_sha256: str, new_sha256: str, user_name: str, *, now: float,
                   expires_at: float) -> None:
    """Remember a device by its new token; its old token and every expired device are forgotten."""
    workspace.db.execute("DELETE FROM review_devices WHERE expires_at <= ? OR token_sha256 = ?", (now, old_sha256))
    workspace.db.execute("INSERT INTO review_devices (token_sha256, user_name, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?)", (new_sha256, user_name, now, expires_at))


def failures_of_device(workspace: Workspace, device: str, *, since: float) -> int:
    return int(workspace.db.execute("SELECT count(*) FROM review_failed_logins WHERE device = ? AND at > ?",
                                    (device, since)).fetchone()[0])


def unknown_failures_at_name(workspace: Workspace, name: str, *, since: float) -> list[float]:
    """When unknown browsers failed to log in as `name` since then, newest first."""
    rows = workspace.db.execute("SELECT at FROM review_failed_logins WHERE user_name = ? AND device = '' AND at > ?"
                                " ORDER BY at DESC", (name, since))
    return [float(r[0]) for r in rows]


def unknown_failure_from(workspace: Workspace, address: str, *, since: float, rank: int) -> float | None:
    """When the rank-th most recent failure (1 = the latest) of unknown browsers at this address happened."""
    row = workspace.db.execute("SELECT at FROM review_failed_logins WHERE address = ? AND device = '' AND at > ?"
                               " ORDER BY at DESC LIMIT 1 OFFSET ?", (address, since, rank - 1)).fetchone()
    return float(row[0]) if row else None


def record_failure(workspace: Workspace, name: str, address: str, device: str, *, at: float,
                   forget_before: float) -> None:
    """Count one failed login; failures from before `forget_before` are dropped (they no longer count)."""
    workspace.db.execute("DELETE FROM review_failed_logins WHERE at <= ?", (forget_before,))
    workspace.db.execute("INSERT INTO review_failed_logins (user_name, address, device, at) VALUES (?, ?, ?, ?)",
                         (name, address, device, at))
