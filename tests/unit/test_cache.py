"""The result cache: round trips, keys that invalidate, and damage that is survived."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from ems.core import registry
from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Finding, Range, Related, Report, RuleError, Severity, Tag
from ems.core.registry import RuleSet, load_rules
from ems.store import cache as cache_mod
from ems.store.cache import (
    Entry,
    ResultCache,
    decode_report,
    encode_report,
    is_fresh,
    settings_key,
    stat_key,
    trusted_stat,
)

SOURCE = 'name = "é中🙂"\nmessage = f"hello"\nif name == None:\n    pass\n'


def _report(path: str = "pkg/mod.py") -> Report:
    return analyse(SOURCE, path, Config(), load_rules())


def test_report_round_trips_through_json() -> None:
    rich = Report(
        "a.py",
        (
            Finding(
                "F811",
                "redefined-while-unused",
                Severity.WARNING,
                Range.of(3, 4, 3, 9),
                "redefinition of unused 'é' from line 1",
                "a.py",
                "abcd",
                True,
                frozenset({Tag.UNNECESSARY}),
                (Related(Range.of(1, 0, 1, 5), "first defined here"),),
                (("name", "é"),),
            ),
        ),
        False,
        (RuleError("X1", "ValueError: boom"),),
    )
    assert decode_report(encode_report(rich), "a.py") == rich
    real = _report()
    assert real.findings, "the sample must produce findings"
    assert decode_report(encode_report(real), real.path) == real


def test_settings_key_changes_with_config_rules_and_nothing_else() -> None:
    rules = load_rules()
    base = settings_key(Config(), rules)
    assert settings_key(Config(), rules) == base
    assert settings_key(Config(ignore=("F541",)), rules) != base
    assert settings_key(Config(severity=(("F541", Severity.ERROR),)), rules) != base
    fewer = RuleSet(rules.rules[1:], rules.origins[1:])
    assert settings_key(Config(), fewer) != base
    elsewhere = RuleSet(rules.rules, tuple((code, "some-plugin") for code, _ in rules.origins))
    assert settings_key(Config(), elsewhere) != base


def _fresh(rules: RuleSet) -> RuleSet:
    """A copy without the memoised fingerprint."""
    return RuleSet(rules.rules, rules.origins, rules.versions)


def test_settings_key_changes_with_the_ems_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "source_digest", lambda folders: "same source")
    registry.engine_digest.cache_clear()
    try:
        base = settings_key(Config(), _fresh(load_rules()))
        monkeypatch.setattr(registry, "__version__", "999.0")
        registry.engine_digest.cache_clear()
        assert settings_key(Config(), _fresh(load_rules())) != base
    finally:
        monkeypatch.undo()
        registry.engine_digest.cache_clear()


def test_settings_key_changes_when_the_engine_source_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited rule in a checkout (same version) must not reuse results of the old one."""
    base = settings_key(Config(), _fresh(load_rules()))
    monkeypatch.setattr(registry, "engine_digest", lambda: "0.1.0:edited")
    assert settings_key(Config(), _fresh(load_rules())) != base


def test_source_digest_follows_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("ignored")
    first = registry.source_digest([str(tmp_path)])
    (tmp_path / "notes.txt").write_text("still ignored")
    assert registry.source_digest([str(tmp_path)]) == first
    (tmp_path / "a.py").write_text("x = 2\n")
    second = registry.source_digest([str(tmp_path)])
    assert second != first
    (tmp_path / "a.py").rename(tmp_path / "b.py")
    assert registry.source_digest([str(tmp_path)]) not in (first, second)


def _stored(tmp_path: Path, report: Report) -> tuple[ResultCache, str]:
    key = settings_key(Config(), load_rules())
    cache = ResultCache(tmp_path)
    cache.put(report.path, key, (10, 20, 30, 40), "digest", report)
    cache.close()
    return ResultCache(tmp_path), key


def test_rows_survive_a_reopen(tmp_path: Path) -> None:
    report = _report()
    cache, key = _stored(tmp_path, report)
    entries = cache.load([report.path])
    entry = entries[(report.path, key)]
    assert entry.stat == (10, 20, 30, 40)
    assert decode_report(entry.payload, report.path) == report
    assert (tmp_path / ".ems" / ".gitignore").read_text().strip().endswith("*")
    assert sorted(p.name for p in (tmp_path / ".ems").iterdir() if "ems.db" in p.name)[0] == "ems.db"
    assert not (tmp_path / ".ems" / "cache").exists()  # one store: no file of its own


def test_a_run_reads_only_its_own_settings_rows(tmp_path: Path) -> None:
    report = _report()
    cache = ResultCache(tmp_path)
    for key in ("first", "second"):
        cache.put(report.path, key, (1, 2, 3, 4), f"digest-{key}", report)
    cache.close()
    reopened = ResultCache(tmp_path)
    assert set(reopened.load([report.path])) == {(report.path, "first"), (report.path, "second")}
    only = reopened.load([report.path], {"second"})
    assert set(only) == {(report.path, "second")} and only[(report.path, "second")].digest == "digest-second"
    many = [f"m{index}.py" for index in range(40)]  # past the IN-list size: a scan by settings
    assert reopened.load([report.path, *many], {"first"}).keys() == {(report.path, "first")}
    reopened.close()


def test_rows_of_old_settings_are_deleted(tmp_path: Path) -> None:
    """Each upgrade or config change starts a new settings key; the cache must not only grow."""
    report = _report()
    keys = [f"settings-{index}" for index in range(cache_mod.KEEP_SETTINGS + 3)]
    for key in keys:  # one run per key, oldest first
        cache = ResultCache(tmp_path)
        cache.put(report.path, key, (1, 2, 3, 4), "digest", report)
        cache.close()
    left = {settings for _, settings in ResultCache(tmp_path).load([report.path])}
    assert left == set(keys[-cache_mod.KEEP_SETTINGS :])
    # Writing under a kept key again neither deletes anything nor resurrects the others.
    cache = ResultCache(tmp_path)
    cache.put("other.py", keys[-1], (1, 2, 3, 4), "digest", report)
    cache.close()
    assert {s for _, s in ResultCache(tmp_path).load([report.path])} == left


def test_the_space_of_deleted_rows_is_given_back(tmp_path: Path) -> None:
    """A big project checked under an old ems version must not leave its rows' space behind."""
    report = _report()
    database = tmp_path / ".ems" / "ems.db"
    cache = ResultCache(tmp_path)
    big = "x" * 2_000_000
    cache.put(report.path, "old-version", (1, 2, 3, 4), "digest", report, {1: big})
    cache.close()
    assert database.stat().st_size > len(big)
    for index in range(cache_mod.KEEP_SETTINGS):  # newer settings push the old one out
        cache = ResultCache(tmp_path)
        cache.put(report.path, f"new-{index}", (1, 2, 3, 4), "digest", report)
        cache.close()
    assert {s for _, s in ResultCache(tmp_path).load([report.path])} == {
        f"new-{index}" for index in range(cache_mod.KEEP_SETTINGS)
    }
    assert database.stat().st_size < len(big) / 10


def test_a_corrupt_store_is_moved_aside_and_the_cache_rebuilt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store's one policy: the damaged file is kept aside, a new store started, said."""
    from ems.store import open_store
    from ems.store.monitor import STORE_RECOVERY, events

    report = _report()
    directory = tmp_path / ".ems"
    directory.mkdir(parents=True)
    (directory / "ems.db").write_bytes(b"this is not a database" * 500)
    cache = ResultCache(tmp_path)
    assert cache.load([report.path]) == {}
    cache.put(report.path, "k", None, "d", report)
    cache.close()
    again = ResultCache(tmp_path).load([report.path])
    assert decode_report(again[(report.path, "k")].payload, report.path) == report
    (aside,) = directory.glob("ems.db.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert f"moved it to {aside}" in capsys.readouterr().err
    with open_store(tmp_path) as store:
        (event,) = events(store, since=0)
    assert event.kind == STORE_RECOVERY and aside.name in event.reason


def test_a_store_damaged_inside_is_moved_aside_when_the_cache_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Damage past the header shows only when a page is read: the run goes on uncached,
    the store is moved aside then, and the next run rebuilds the cache."""
    report = _report()
    _stored(tmp_path, report)[0].close()
    database = tmp_path / ".ems" / "ems.db"
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'result_entries'").fetchone()
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with database.open("r+b") as handle:
        handle.seek((root - 1) * page)
        handle.write(b"\xff" * page)
    assert ResultCache(tmp_path).load([report.path]) == {}
    assert list(database.parent.glob("ems.db.corrupt-*"))
    assert "was damaged" in capsys.readouterr().err
    cache = ResultCache(tmp_path)
    cache.put(report.path, "k", None, "d", report)
    cache.close()
    assert set(ResultCache(tmp_path).load([report.path])) == {(report.path, "k")}


def test_a_truncated_database_is_survived(tmp_path: Path) -> None:
    report = _report()
    _stored(tmp_path, report)
    db = tmp_path / ".ems" / "ems.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 64)
    entries = ResultCache(tmp_path).load([report.path])
    # Either SQLite notices (no rows) or the surviving rows still pass their checksum.
    for entry in entries.values():
        assert decode_report(entry.payload, report.path) == report


def test_a_tampered_row_fails_its_checksum(tmp_path: Path) -> None:
    report = _report()
    cache, _key = _stored(tmp_path, report)
    cache.close()
    db = sqlite3.connect(tmp_path / ".ems" / "ems.db")
    db.execute("UPDATE result_entries SET payload = replace(payload, '[3,', '[4,')")
    db.commit()
    db.close()
    assert ResultCache(tmp_path).load([report.path]) == {}


def test_rows_of_another_payload_version_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _report()
    config, rules = Config(), load_rules()
    cache = ResultCache(tmp_path)
    cache.put(report.path, settings_key(config, rules), (1, 2, 3, 4), "digest", report)
    cache.close()
    monkeypatch.setattr(cache_mod, "PAYLOAD_VERSION", cache_mod.PAYLOAD_VERSION + 1)
    assert ResultCache(tmp_path).load([report.path], {settings_key(config, rules)}) == {}


def test_an_unwritable_cache_folder_disables_the_cache(tmp_path: Path) -> None:
    (tmp_path / ".ems").write_text("a file where the folder should be")
    cache = ResultCache(tmp_path)
    assert cache.load(["a.py"]) == {}
    cache.put("a.py", "k", None, "d", _report("a.py"))
    cache.close()  # no exception: the run goes on without a cache


def test_recently_modified_files_are_not_trusted_by_stat(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1\n")
    now = os.stat(target)
    assert trusted_stat(now) is None  # just written: a second write could share the mtime
    old = now.st_mtime_ns - 10 * cache_mod.RACY_NS
    os.utime(target, ns=(old, old))
    info = os.stat(target)
    later = max(info.st_ctime_ns, info.st_mtime_ns) + 10 * cache_mod.RACY_NS
    assert trusted_stat(info, now_ns=later) == stat_key(info)


def test_is_fresh_needs_a_trusted_and_equal_stat(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1\n")
    info = os.stat(target)
    assert is_fresh(Entry(stat_key(info), "d", "[]"), info)
    assert not is_fresh(Entry(None, "d", "[]"), info)
    assert not is_fresh(None, info)
    assert not is_fresh(Entry(stat_key(info), "d", "[]"), None)
    moved = replace(Entry(stat_key(info), "d", "[]"), stat=(info.st_size + 1, *stat_key(info)[1:]))
    assert not is_fresh(moved, info)


def test_clear_empties_only_the_cache(tmp_path: Path) -> None:
    from ems.store import ScanRecord, open_store

    _stored(tmp_path, _report())[0].close()
    with open_store(tmp_path) as store:
        store.record_scan(ScanRecord(str(tmp_path), "0", "h", 1, 0.1), _report().findings)
    assert cache_mod.clear(tmp_path) is True
    assert ResultCache(tmp_path).load([_report().path]) == {}
    with open_store(tmp_path) as store:
        assert len(store.scans()) == 1  # the rest of the store stays
    assert cache_mod.clear(tmp_path) is False


def _legacy_cache(root: Path) -> Path:
    """A result cache as ems wrote it before it moved into the store."""
    folder = root / ".ems" / "cache"
    folder.mkdir(parents=True)
    (folder / ".gitignore").write_text("*\n")
    conn = sqlite3.connect(folder / "results.sqlite")
    conn.execute("CREATE TABLE entries (path TEXT, settings TEXT, payload TEXT)")
    conn.execute("INSERT INTO entries VALUES ('a.py', 'k', '[]')")
    conn.commit()
    conn.close()
    return folder


def test_an_old_cache_folder_is_removed_once_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _legacy_cache(tmp_path)
    report = _report()
    cache = ResultCache(tmp_path)
    assert cache.load([report.path]) == {}  # its rows are not carried over: rebuilt as checked
    cache.put(report.path, "k", None, "d", report)
    cache.close()
    assert not folder.exists()
    err = capsys.readouterr().err
    assert err.count("removed the old") == 1 and str(folder) in err
    assert set(ResultCache(tmp_path).load([report.path])) == {(report.path, "k")}
    assert "removed" not in capsys.readouterr().err  # said once


def test_an_old_cache_folder_next_to_an_older_store_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store from before the cache moved in is migrated; the old folder goes then."""
    from ems.store import db as db_mod

    folder = _legacy_cache(tmp_path)
    conn = sqlite3.connect(tmp_path / ".ems" / "ems.db", isolation_level=None)
    conn.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at TEXT)"
    )
    for number, description, statements in db_mod.MIGRATIONS[: db_mod.RESULT_CACHE_VERSION - 1]:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, 'then')", (number, description))
    conn.close()
    assert ResultCache(tmp_path).load(["a.py"]) == {}
    assert not folder.exists() and "removed the old" in capsys.readouterr().err
    with db_mod.open_store(tmp_path) as store:
        assert store.schema_version == db_mod.SCHEMA_VERSION


def test_a_folder_with_files_of_the_user_is_kept(tmp_path: Path) -> None:
    folder = _legacy_cache(tmp_path)
    (folder / "notes.txt").write_text("mine")
    assert cache_mod.retire_legacy_cache(tmp_path, quiet=True) is True
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_views_are_opaque_texts_per_renderer_and_content(tmp_path: Path) -> None:
    report = _report()
    key = (report.path, "k")
    cache = ResultCache(tmp_path)
    cache.put(report.path, "k", (1, 2, 3, 4), "d1", report, view=("plain", "P\n"))
    cache.close()
    cache = ResultCache(tmp_path)
    entry = cache.load([report.path], {"k"}, "plain")[key]
    assert (entry.view_key, entry.view) == ("plain", "P\n")
    cache.put_entry(report.path, "k", entry.stat, entry, ("colour", "C\n"))
    cache.close()
    assert ResultCache(tmp_path).load([report.path], {"k"}, "colour")[key].view == "C\n"
    assert ResultCache(tmp_path).load([report.path], {"k"}, "plain")[key].view == "P\n"
    assert ResultCache(tmp_path).load([report.path], {"k"})[key].view is None
    cache = ResultCache(tmp_path)  # new content: renderings of the old one are not served
    cache.put(report.path, "k", (1, 2, 3, 5), "d2", report)
    cache.close()
    assert ResultCache(tmp_path).load([report.path], {"k"}, "plain")[key].view is None
    db = sqlite3.connect(tmp_path / ".ems" / "ems.db")
    assert db.execute("SELECT COUNT(*) FROM result_views").fetchone() == (0,)
    db.close()
