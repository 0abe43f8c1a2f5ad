"""A short-lived cache of public directory answers (search pages, the API list).

A search answer depends only on the public projection, the day (listings end on a date) and
the request. Every change to the projection — ``search.index_entry`` in a publish,
``search.rebuild_index`` — calls :func:`changed`; when that transaction commits, the
*generation* (one counter in the cache) goes up, and every key holds the generation, so the
next request computes afresh: a publish is visible at once. Whatever a change could miss
(written around those two functions) lasts at most ``DIRECTORY_CACHE_SECONDS``, the same 60
seconds the API already allows public caches (``Cache-Control: max-age``).

Storage is Flask-Caching: Redis when ``REDIS_URL`` is set (shared by every worker, the
generation a key without expiry), else one process's memory (the embedded default: one process,
its jobs in it; the generation then a variable of the process, as the memory cache may evict any
key). Several processes without Redis each keep their own generation: a publish in one is seen by the
others after at most ``DIRECTORY_CACHE_SECONDS``. A cache that fails (Redis down) is logged and
bypassed, never a 500. ``DIRECTORY_CACHE_SECONDS = 0`` turns it off (the test suite's default).
docs/search.md ("Cache") has the measurements.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from accreditor.extensions import cache, db

log = logging.getLogger(__name__)
T = TypeVar("T")

GENERATION_KEY = "directory:generation"
_CHANGED = "directory_changed"  # Session.info flag: the projection changed in this transaction
_LOCAL_TYPES = {"SimpleCache", "NullCache", "simple", "null"}
_local = {"generation": "0"}  # the generation of a process-local cache


def seconds() -> int:
    return int(current_app.config.get("DIRECTORY_CACHE_SECONDS") or 0)


def _process_local() -> bool:
    return current_app.config.get("CACHE_TYPE") in _LOCAL_TYPES


def generation() -> str:
    """The current generation: a token that changes with every committed change."""
    if _process_local():
        return _local["generation"]
    return str(cache.get(GENERATION_KEY) or "0")


def remember(kind: str, parts: Iterable[object], compute: Callable[[], T]) -> T:
    """``compute()``'s value for ``parts`` in this generation and day, computed once until the
    directory changes or ``DIRECTORY_CACHE_SECONDS`` pass. The value must pickle (bytes, text,
    numbers, dates, tuples)."""
    timeout = seconds()
    if timeout <= 0:
        return compute()
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:40]
    try:
        key = f"directory:{kind}:{generation()}:{date.today().isoformat()}:{digest}"
        hit = cache.get(key)
    except Exception as exc:  # the cache is an optimisation: never fail a page for it
        log.warning("directory cache unavailable (%s: %s); answering uncached",
                    type(exc).__name__, exc)
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as exc:
        log.warning("directory cache not written (%s: %s)", type(exc).__name__, exc)
    return value


def changed() -> None:
    """The public projection changed in the current transaction: a new generation once it
    commits (nothing if it rolls back)."""
    db.session().info[_CHANGED] = True


def bump() -> None:
    """A new generation: a token never used before (time and a random part; a counter could
    repeat after Redis lost it while older pages survived elsewhere)."""
    token = f"{time.time_ns():x}{os.urandom(4).hex()}"
    if _process_local():
        _local["generation"] = token
        return
    try:
        if not cache.set(GENERATION_KEY, token, timeout=0):  # 0: never expires
            raise RuntimeError("the cache refused the write")
    except Exception as exc:
        log.warning("directory cache generation not advanced (%s: %s); answers may be stale "
                    "for up to %s s", type(exc).__name__, exc, seconds())


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context() and seconds() > 0:
        bump()


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def install_listeners() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
