"""The project's import index in the store: what a warm scan needs to answer "which names do
other modules import from this one?" without reading every module again.

Three tables (migration 7): ``import_facts`` (per module file, relative to the project
root: the stat its facts were read under, the words before its ``import`` keywords and,
once parsed, its ``from`` imports), ``import_answers`` (per asked module: the names others
import from it, and the fingerprint of the files' stats it holds for) and ``import_state``
(the fingerprint the facts were last brought up to, and whether some file's stat was too
recent to trust). Writes are one short transaction that first checks nobody else moved
the state meanwhile (else this run's findings are simply not kept); every failure
degrades to "nothing stored", never to a wrong answer: a scan recomputes what it lacks.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["StoredState", "load_answers", "load_facts", "load_state", "load_stats", "save"]


Stat = tuple[int, int]  # size, mtime_ns
Raw = tuple[tuple[int, str, tuple[str, ...]], ...]  # (level, module, names) per ``from`` import
FactRow = tuple[Stat | None, frozenset[bytes], Raw | None]  # stat, words, imports (None: not parsed)


@dataclass(frozen=True)
class StoredState:
    fingerprint: str
    racy: bool  # some file's facts were read under an untrusted stat: compare them again
    packages: frozenset[str]  # the folders that were packages (relative to the root)
    above: tuple[str, ...]  # the packages enclosing the root


def _key(rel: str) -> str:
    """The row key of a relative path (``ems.store.cache.path_key``'s rule: a name that is
    not UTF-8 is kept as a NUL and its bytes in hex)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "\0" + rel.encode("utf-8", "surrogateescape").hex()
    return rel


def _rel(key: str) -> str:
    if key.startswith("\0"):
        return bytes.fromhex(key[1:]).decode("utf-8", "surrogateescape")
    return key


def load_state(conn: sqlite3.Connection, root: str) -> StoredState | None:
    row = conn.execute(
        "SELECT fingerprint, racy, packages FROM import_state WHERE root = ?", (_key(root),)
    ).fetchone()
    if row is None:
        return None
    try:
        above, packages = json.loads(row[2])
        return StoredState(str(row[0]), bool(row[1]), frozenset(map(_rel, packages)), tuple(map(str, above)))
    except (ValueError, TypeError):
        return None


def load_answers(conn: sqlite3.Connection, fingerprint: str) -> dict[str, frozenset[str]]:
    """The answers that hold for ``fingerprint``."""
    rows = conn.execute("SELECT path, names FROM import_answers WHERE fingerprint = ?", (fingerprint,))
    answers: dict[str, frozenset[str]] = {}
    for key, names in rows:
        try:
            answers[_rel(str(key))] = frozenset(map(str, json.loads(names)))
        except (ValueError, TypeError):
            continue
    return answers


def load_stats(conn: sqlite3.Connection) -> dict[str, Stat | None]:
    """The stat each stored file's facts were read under (None: not trusted)."""
    return {
        _rel(str(key)): (None if size is None or mtime is None else (int(size), int(mtime)))
        for key, size, mtime in conn.execute("SELECT path, size, mtime_ns FROM import_facts")
    }


def load_facts(conn: sqlite3.Connection, rels: Iterable[str] | None = None) -> dict[str, FactRow]:
    """The stored facts (of ``rels`` only, if given)."""
    sql = "SELECT path, size, mtime_ns, words, imports FROM import_facts"
    if rels is None:
        rows = conn.execute(sql).fetchall()
    else:
        keys = [_key(rel) for rel in rels]
        rows = []
        for at in range(0, len(keys), 500):
            chunk = keys[at : at + 500]
            rows += conn.execute(sql + f" WHERE path IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    facts: dict[str, FactRow] = {}
    for key, size, mtime, words, imports in rows:
        try:
            stat = None if size is None or mtime is None else (int(size), int(mtime))
            raw = None
            if imports is not None:
                raw = tuple(
                    (int(level), str(module), tuple(map(str, names)))
                    for level, module, names in json.loads(imports)
                )
            facts[_rel(str(key))] = (stat, frozenset(w.encode("ascii") for w in str(words).split()), raw)
        except (ValueError, TypeError, UnicodeEncodeError):
            continue  # an unreadable row: the file is read again
    return facts


def _fact_row(rel: str, facts: FactRow) -> tuple[object, ...]:
    stat, found, raw = facts
    size, mtime = stat if stat is not None else (None, None)
    words = " ".join(sorted(w.decode("ascii") for w in found))
    imports = None
    if raw is not None:
        imports = json.dumps([[lv, m, list(n)] for lv, m, n in raw], separators=(",", ":"))
    return (_key(rel), size, mtime, words, imports)


def save(
    conn: sqlite3.Connection,
    root: str,
    base: str | None,
    state: StoredState,
    facts: Mapping[str, FactRow],
    removed: Iterable[str],
    answers: Mapping[str, frozenset[str]],
    replace_answers: bool,
) -> bool:
    """Bring the stored index from the state ``base`` (None: nothing stored) to
    ``fingerprint``: write ``facts`` (new or re-read files), delete ``removed``, and store
    ``answers`` (all answers that hold, with ``replace_answers``; else new ones only).
    Skipped (False) when another run moved the state away from ``base`` meanwhile."""
    fingerprint = state.fingerprint
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT fingerprint FROM import_state WHERE root = ?", (_key(root),)).fetchone()
        if (row[0] if row is not None else None) != base:
            conn.execute("ROLLBACK")
            return False
        conn.executemany(
            "INSERT OR REPLACE INTO import_facts (path, size, mtime_ns, words, imports) VALUES (?, ?, ?, ?, ?)",
            [_fact_row(rel, f) for rel, f in facts.items()],
        )
        conn.executemany("DELETE FROM import_facts WHERE path = ?", [(_key(rel),) for rel in removed])
        if replace_answers:
            conn.execute("DELETE FROM import_answers")
        elif base != fingerprint:
            conn.execute("DELETE FROM import_answers WHERE fingerprint != ?", (fingerprint,))
        conn.executemany(
            "INSERT OR REPLACE INTO import_answers (path, fingerprint, names) VALUES (?, ?, ?)",
            [(_key(rel), fingerprint, json.dumps(sorted(names))) for rel, names in answers.items()],
        )
        conn.execute(
            "INSERT OR REPLACE INTO import_state (root, fingerprint, racy, packages) VALUES (?, ?, ?, ?)",
            (
                _key(root),
                fingerprint,
                int(state.racy),
                json.dumps([list(state.above), sorted(map(_key, state.packages))]),
            ),
        )
        conn.execute("COMMIT")
        return True
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        return False
