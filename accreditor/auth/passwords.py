"""Password hashing (argon2id) and the password policy (length, common passwords, strength)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; an unknown account still pays for one hash so timing reveals nothing."""
    h = hasher()
    try:
        if not stored_hash:
            # The same single verification as for a real account; it always fails (and raises).
            h.verify(_dummy_hash(), password + "\x00not-a-password")
            return False
        return h.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def _dummy_hash() -> str:
    c = current_app.config
    key = (c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])
    if _DUMMY.get(key) is None:
        _DUMMY[key] = hasher().hash("dummy password for timing")
    return _DUMMY[key]


_DUMMY: dict[tuple, str] = {}


ZXCVBN_MAX_LENGTH = 72


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """Why ``password`` is refused (empty list: acceptable). Unicode allowed, never truncated."""
    min_len = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_len:
        return [_("Use at least %(n)d characters.", n=min_len)]
    if len(password) > 1024:
        return [_("Use at most 1024 characters.")]
    if password.lower() in _common_passwords():
        return [_("This password is on a list of commonly used passwords. Choose another.")]
    from zxcvbn import zxcvbn

    # zxcvbn refuses (ValueError) more than ZXCVBN_MAX_LENGTH characters: rate the start only.
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[u for u in user_inputs if u])
    if result["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        hint = result["feedback"].get("warning") or _("It is too easy to guess.")
        return [_("This password is too weak: %(hint)s Add more unrelated words.", hint=hint)]
    return []
