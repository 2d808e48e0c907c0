"""Sessions, CSRF tokens and the login throttle.

The session cookie holds a random token; the server keeps only its SHA-256 (a copied database does not
hand out sessions). Every POST carries the session's CSRF token, in a form field or an X-CSRF-Token header.

The throttle follows OWASP's device-cookie scheme, because behind a proxy every volunteer has the same
address: a throttle keyed on the address lets an attacker lock the admin out, and one keyed on the name
misses one guess at each of many names.

- A successful login leaves a *device cookie* (a random token; the server keeps its SHA-256). A browser that
  brings a live one for the name it logs in as is *known*: it is never held back by other people's failures.
  Its own failures count against it; after DEVICE_LOCK_AFTER in the window it is treated as unknown.
- Unknown browsers: after LOCK_AFTER failures at one name (from anywhere) in the window, they wait a delay
  that doubles with each further failure, at most LOCK_MAX_SECONDS; and one address (an IPv6 /64) may fail
  ADDRESS_BUDGET times in the window, at any names, before it waits for the oldest failure to age out.
- Failures are kept for the window only (FAILURE_WINDOW_SECONDS), so guessing cannot grow the database, and
  a name longer than MAX_NAME_CHARS is refused before anything is looked up or written.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from pipeline.store import Workspace, accounts
from pipeline.users import LoginRefused, User, check_password

SESSION_COOKIE = "petition_session"
LOGIN_CSRF_COOKIE = "petition_login_csrf"
CSRF_HEADER = "x-csrf-token"
DEVICE_COOKIE = "petition_device"
SESSION_SECONDS = 12 * 3600
DEVICE_SECONDS = 90 * 24 * 3600
MAX_NAME_CHARS = 200  # account names have at most 40 (pipeline/users.py); longer is no account at all
FAILURE_WINDOW_SECONDS = 900.0
LOCK_AFTER = 5
LOCK_BASE_SECONDS = 30.0
LOCK_MAX_SECONDS = 900.0
ADDRESS_BUDGET = 20  # failures per address per window at any names: more than typos, far fewer than a spray
DEVICE_LOCK_AFTER = 10


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, the JSON API answers 401."""


class CsrfRejected(Exception):
    """A POST without this session's CSRF token (403)."""


class LoginLocked(Exception):
    """Too many failed logins at this name, or from this address; `retry_after` seconds to wait (429)."""

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
    with workspace.transaction():
        accounts.start_session(workspace, _digest(token), user.name, csrf, now=now, expires_at=now + SESSION_SECONDS)
    return token, Session(user, csrf)


def find_session(workspace: Workspace, token: str | None, *, now: float) -> Session:
    """The live session behind a cookie, for an enabled account; LoginRequired otherwise."""
    if not token:
        raise LoginRequired()
    live = accounts.live_session(workspace, _digest(token), now=now)
    if live is None:
        raise LoginRequired()
    return Session(User(live.user_name, live.role, False), live.csrf)


def end_session(workspace: Workspace, token: str | None) -> None:
    if token:
        with workspace.transaction():
            accounts.end_session(workspace, _digest(token))


def address_key(ip: str) -> str:
    """Whom the address budget counts: an IPv4 address, or an IPv6 /64 (one customer's network: counting single
    IPv6 addresses would give an attacker 2^64 budgets)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def known_device(workspace: Workspace, token: str | None, name: str, *, now: float) -> str:
    """The device id (the token's digest) when `token` is a live device cookie of `name` that has not failed
    DEVICE_LOCK_AFTER times in the window; '' for an unknown browser."""
    if not token:
        return ""
    device = _digest(token)
    if not accounts.device_is_live(workspace, device, name, now=now):
        return ""
    failures = accounts.failures_of_device(workspace, device, since=now - FAILURE_WINDOW_SECONDS)
    return device if failures < DEVICE_LOCK_AFTER else ""


def lock_remaining(workspace: Workspace, name: str, ip: str, *, now: float) -> float:
    """Seconds an unknown browser must wait before trying `name` from `ip` (the longer of the name's backoff and
    the address's budget); 0 when it may try."""
    since = now - FAILURE_WINDOW_SECONDS
    failed = accounts.unknown_failures_at_name(workspace, name, since=since)
    by_name = 0.0
    if len(failed) >= LOCK_AFTER:
        by_name = failed[0] + min(LOCK_BASE_SECONDS * 2 ** (len(failed) - LOCK_AFTER), LOCK_MAX_SECONDS) - now
    # The address may try again when its ADDRESS_BUDGET-th most recent failure leaves the window.
    oldest_counted = accounts.unknown_failure_from(workspace, address_key(ip), since=since, rank=ADDRESS_BUDGET)
    by_address = oldest_counted + FAILURE_WINDOW_SECONDS - now if oldest_counted is not None else 0.0
    return max(0.0, by_name, by_address)


def log_in(workspace: Workspace, name: str, password: str, ip: str, *, device_token: str | None, now: float) -> User:
    """Check the throttle (unknown browsers only), then the password; a failure is counted for the window."""
    if len(name) > MAX_NAME_CHARS:
        raise LoginRefused("wrong name or password")  # before any lookup or write: no such account can exist
    device = known_device(workspace, device_token, name, now=now)
    if not device:
        wait = lock_remaining(workspace, name, ip, now=now)
        if wait > 0:
            raise LoginLocked(wait)
    try:
        return check_password(workspace, name, password)
    except LoginRefused:
        with workspace.transaction():
            accounts.record_failure(workspace, name, address_key(ip), device, at=now,
                                    forget_before=now - FAILURE_WINDOW_SECONDS)
        raise


def remember_device(workspace: Workspace, user: User, old_token: str | None, *, now: float) -> str:
    """A new device cookie for a browser that just logged in as `user` (its old one, if any, is dropped)."""
    token = new_token()
    with workspace.transaction():
        accounts.replace_device(workspace, _digest(old_token or ""), _digest(token), user.name, now=now,
                                expires_at=now + DEVICE_SECONDS)
    return token


def safe_next(target: str | None) -> str:
    """Only local paths after login: '/x' yes, '//evil.example' or 'https://…' no."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"
