"""Sessions, CSRF tokens and the login throttle.

The session cookie holds a random token; the server keeps only its SHA-256 (a copied database does not
hand out sessions). Every POST carries the session's CSRF token, in a form field or an X-CSRF-Token header.
After LOCK_AFTER failed logins for one name from one address, further attempts are refused for a window
that doubles with every failure (OWASP's authentication cheat sheet: throttle per account and source).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pipeline.store import Workspace
from pipeline.users import LoginRefused, User, check_password

SESSION_COOKIE = "petition_session"
LOGIN_CSRF_COOKIE = "petition_login_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
LOCK_AFTER = 5
LOCK_BASE_SECONDS = 30.0
LOCK_MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, the JSON API answers 401."""


class CsrfRejected(Exception):
    """A POST without this session's CSRF token (403)."""


class LoginLocked(Exception):
    """Too many failed logins for this name from this address; `retry_after` seconds to wait (429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; try again in {int(retry_after) + 1} s")
        self.retry_after = retry_after


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def start_session(workspace: Workspace, user: User, *, now: float) -> tuple[str, Session]:
    """A new session for a logged-in user: (cookie token, session)."""
    token, csrf = new_token(), new_token()
    with workspace.transaction() as db:
        db.execute("DELETE FROM review_sessions WHERE expires_at <= ?", (now,))
        db.execute("INSERT INTO review_sessions (token_sha256, user_name, csrf, created_at, expires_at)"
                   " VALUES (?, ?, ?, ?, ?)", (_digest(token), user.name, csrf, now, now + SESSION_SECONDS))
    return token, Session(user, csrf)


def find_session(workspace: Workspace, token: str | None, *, now: float) -> Session:
    """The live session behind a cookie, for an enabled account; LoginRequired otherwise."""
    if not token:
        raise LoginRequired()
    row = workspace.db.execute(
        "SELECT u.name, u.role, s.csrf FROM review_sessions s JOIN review_users u ON u.name = s.user_name"
        " WHERE s.token_sha256 = ? AND s.expires_at > ? AND u.disabled = 0", (_digest(token), now)).fetchone()
    if row is None:
        raise LoginRequired()
    return Session(User(row["name"], row["role"], False), row["csrf"])


def end_session(workspace: Workspace, token: str | None) -> None:
    if token:
        with workspace.transaction() as db:
            db.execute("DELETE FROM review_sessions WHERE token_sha256 = ?", (_digest(token),))


def lock_remaining(workspace: Workspace, name: str, ip: str, *, now: float) -> float:
    """Seconds this (name, address) must still wait; 0 when it may try."""
    row = workspace.db.execute("SELECT failures, last_failed_at FROM review_login_failures WHERE user_name = ? AND ip = ?",
                               (name, ip)).fetchone()
    if row is None or row["failures"] < LOCK_AFTER:
        return 0.0
    window = min(LOCK_BASE_SECONDS * 2 ** (row["failures"] - LOCK_AFTER), LOCK_MAX_SECONDS)
    return max(0.0, row["last_failed_at"] + window - now)


def log_in(workspace: Workspace, name: str, password: str, ip: str, *, now: float) -> User:
    """Check the throttle, then the password; a failure is counted, a success clears the count."""
    wait = lock_remaining(workspace, name, ip, now=now)
    if wait > 0:
        raise LoginLocked(wait)
    try:
        user = check_password(workspace, name, password)
    except LoginRefused:
        with workspace.transaction() as db:
            db.execute("INSERT INTO review_login_failures (user_name, ip, failures, last_failed_at) VALUES (?, ?, 1, ?)"
                       " ON CONFLICT (user_name, ip) DO UPDATE SET failures = failures + 1,"
                       " last_failed_at = excluded.last_failed_at", (name, ip, now))
        raise
    with workspace.transaction() as db:
        db.execute("DELETE FROM review_login_failures WHERE user_name = ? AND ip = ?", (name, ip))
    return user


def safe_next(target: str | None) -> str:
    """Only local paths after login: '/x' yes, '//evil.example' or 'https://…' no."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"
