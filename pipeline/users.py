"""Review app accounts: names, roles and argon2 password hashes in the workspace (used by the CLI and admin pages)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.store import Workspace, WorkspaceError, accounts

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
    password_hash = _HASHER.hash(password)
    with workspace.transaction(durable=True):
        if accounts.account(workspace, name) is not None:
            raise UserError(f"user {name} already exists; change the role or disable it on the admin page")
        accounts.insert_account(workspace, name, password_hash, role=role)
    return User(name, role, False)


def get_user(workspace: Workspace, name: str) -> User | None:
    found = accounts.account(workspace, name)
    return User(found.name, found.role, found.disabled) if found else None


def list_users(workspace: Workspace) -> list[User]:
    return [User(a.name, a.role, a.disabled) for a in accounts.accounts(workspace)]


def set_role(workspace: Workspace, name: str, role: str) -> None:
    _check_role(role)
    with workspace.transaction(durable=True):
        if not accounts.set_role(workspace, name, role):
            raise UserError(f"no user named {name}")


def set_disabled(workspace: Workspace, name: str, disabled: bool) -> None:
    """Disabling also ends the user's sessions (their next request goes to the login page)."""
    with workspace.transaction(durable=True):
        if not accounts.set_disabled(workspace, name, disabled):
            raise UserError(f"no user named {name}")
    if disabled:
        with workspace.transaction():
            accounts.end_sessions_of(workspace, name)


class LoginRefused(UserError):
    """Wrong name, wrong password or disabled account: the login page never says which."""


def check_password(workspace: Workspace, name: str, password: str) -> User:
    """The user if the password is right and the account enabled; LoginRefused otherwise."""
    found = accounts.account(workspace, name)
    try:
        _HASHER.verify(found.password_hash if found else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise LoginRefused("wrong name or password") from exc
    if found is None or found.disabled:
        raise LoginRefused("wrong name or password")
    return User(found.name, found.role, False)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")

