"""Review app accounts: names, roles and argon2 password hashes in the workspace (used by the CLI and admin pages)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.review.queue import ensure_review_schema
from pipeline.store import Workspace, WorkspaceError, now

ROLES = ("admin", "reviewer")
MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password, only for timing")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and not self.disabled


class UserError(WorkspaceError):
    """An account cannot be made or changed as asked (bad name, short password, unknown role...)."""


def add_user(workspace: Workspace, name: str, password: str, *, role: str) -> User:
    """Create an account; the password is stored only as an argon2 hash."""
    _check_role(role)
    if not _NAME.fullmatch(name):
        raise UserError("a user name is 1-40 letters, digits, '.', '_' or '-' (no spaces), starting with a letter or digit")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    ensure_review_schema(workspace)
    with workspace.transaction(durable=True) as db:
        if db.execute("SELECT 1 FROM review_users WHERE name = ?", (name,)).fetchone():
            raise UserError(f"user {name} already exists; change the role or disable it on the admin page")
        db.execute("INSERT INTO review_users (name, password_hash, role, disabled, created_at) VALUES (?, ?, ?, 0, ?)",
                   (name, _HASHER.hash(password), role, now()))
    return User(name, role, False)


def get_user(workspace: Workspace, name: str) -> User | None:
    row = workspace.db.execute("SELECT name, role, disabled FROM review_users WHERE name = ?", (name,)).fetchone()
    return User(row["name"], row["role"], bool(row["disabled"])) if row else None


def list_users(workspace: Workspace) -> list[User]:
    rows = workspace.db.execute("SELECT name, role, disabled FROM review_users ORDER BY name")
    return [User(r["name"], r["role"], bool(r["disabled"])) for r in rows]


def set_role(workspace: Workspace, name: str, role: str) -> None:
    _check_role(role)
    _update(workspace, name, "UPDATE review_users SET role = ? WHERE name = ?", (role, name))


def set_disabled(workspace: Workspace, name: str, disabled: bool) -> None:
    """Disabling also ends the user's sessions (their next request goes to the login page)."""
    _update(workspace, name, "UPDATE review_users SET disabled = ? WHERE name = ?", (int(disabled), name))
    if disabled:
        with workspace.transaction() as db:
            db.execute("DELETE FROM review_sessions WHERE user_name = ?", (name,))


class LoginRefused(UserError):
    """Wrong name, wrong password or disabled account: the login page never says which."""


def check_password(workspace: Workspace, name: str, password: str) -> User:
    """The user if the password is right and the account enabled; LoginRefused otherwise."""
    row = workspace.db.execute("SELECT name, role, disabled, password_hash FROM review_users WHERE name = ?",
                               (name,)).fetchone()
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise LoginRefused("wrong name or password") from exc
    if row is None or row["disabled"]:
        raise LoginRefused("wrong name or password")
    return User(row["name"], row["role"], False)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")


def _update(workspace: Workspace, name: str, sql: str, params: tuple) -> None:
    with workspace.transaction(durable=True) as db:
        if db.execute(sql, params).rowcount == 0:
            raise UserError(f"no user named {name}")
