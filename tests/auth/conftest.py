from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import accreditor.auth.passwords as passwords


@pytest.fixture
def verify_calls(monkeypatch):
    """Every argon2 verification the app runs, as a list of the hashes it was given."""
    assert passwords.PasswordHasher is PasswordHasher
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self, hash, password):
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", spy)
    return calls


@pytest.fixture
def other_client(app):
    """A second browser (its own cookie jar)."""
    return app.test_client()
