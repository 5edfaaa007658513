"""Health checks of an ems project: one function each, shared by ``ems doctor`` and the dashboard.

Each check returns a ``Check``: green (fine), amber (works, but look), red (broken or about
to break), with a one-line reason and a one-line remedy. They read files, the store and the
system; none changes anything (opening the store applies its migrations, as every ems does).
``run_checks`` runs them all; a check that fails unexpectedly is red with its exception type
rather than stopping the others.
"""

from __future__ import annotations

import ast
import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ems.store.db import Store

GREEN, AMBER, RED = "green", "amber", "red"
HOUR = 3600.0
MB = 1024 * 1024

STORE_AMBER_BYTES = 500 * MB
CACHE_AMBER_BYTES = 500 * MB
LOGS_AMBER_BYTES = 50 * MB
LOGS_RED_BYTES = 200 * MB
DISK_RED_BYTES = 100 * MB
DISK_AMBER_BYTES = 1024 * MB
MEMORY_AMBER_FRACTION = 0.8
RULE_ERRORS_RED = 100


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # green | amber | red
    reason: str
    remedy: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Project:
    """What the checks look at: the project root and (opened lazily, once) its store."""

    root: Path
    store_path: Path | None = None
    now: float = field(default_factory=time.time)
    _store: Store | None = None
    _store_error: Exception | None = None

    @property
    def ems_dir(self) -> Path:
        return self.root / ".ems"

    @property
    def store_file(self) -> Path:
        return self.store_path or self.ems_dir / "ems.db"

    def store(self) -> Store | None:
        """The open store, or None when there is none yet or it cannot be opened."""
        if self._store is None and self._store_error is None and self.store_file.exists():
            from ems.store import StoreError, open_store

            try:
                # Only looks: a damaged store is reported here, recovered by a command that uses it.
                self._store = open_store(self.root, self.store_path, timeout=5.0, recover=False)
            except StoreError as exc:
                self._store_error = exc
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    if path.is_dir():
        for item in path.rglob("*"):
            with contextlib.suppress(OSError):
                if item.is_file() and not item.is_symlink():
                    total += item.stat().st_size
    return total


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


# ---------------------------------------------------------------- files and disk


def check_store(project: Project) -> Check:
    name = "store"
    path = project.store_file
    if not path.exists():
        return Check(name, GREEN, f"no store yet at {path} (ems creates it when it first records)")
    store = project.store()
    if store is None:
        return Check(
            name,
            RED,
            f"the store cannot be used: {project._store_error}",
            "run any ems command that uses it (`ems check`, `ems history`): it moves a damaged store "
            "aside and starts a new one; or move the file away",
        )
    try:
        verdict = store.integrity()
    except Exception as exc:
        verdict = str(exc)
    size = _size(path) + sum(_size(path.with_name(path.name + s)) for s in ("-wal", "-shm"))
    if verdict != "ok":
        return Check(
            name,
            RED,
            f"the store is damaged (integrity check: {verdict[:120]})",
            "run `ems check` or `ems history`: a damaged store is moved aside and a new one started",
        )
    if size > STORE_AMBER_BYTES:
        return Check(
            name, AMBER, f"the store is {_mb(size)}", "delete .ems/ems.db if old scans are not needed"
        )
    return Check(name, GREEN, f"integrity ok, {_mb(size)}")


def check_cache(project: Project) -> Check:
    """The result cache's share of the store (its integrity is the store's check)."""
    name = "cache"
    legacy = project.ems_dir / "cache"
    if legacy.is_dir():
        return Check(
            name,
            AMBER,
            f"an old result cache folder is left at {legacy} (the cache is kept in the store now)",
            "the next `ems check` removes it, or `ems clean`",
        )
    store = project.store()
    if store is None:
        return Check(name, GREEN, "no result cache yet (the next `ems check` builds it)")
    try:
        from ems.store.cache import usage

        held = usage(store)
        files, size = held.entries, held.size
    except Exception as exc:
        return Check(
            name, AMBER, f"the result cache cannot be read ({str(exc)[:120]})", "see the store check"
        )
    if size > CACHE_AMBER_BYTES:
        return Check(
            name, AMBER, f"the result cache holds {_mb(size)}", "`ems clean` empties it; it is rebuilt"
        )
    return Check(name, GREEN, f"{files} cached result{'s' if files != 1 else ''}, {_mb(size)}")


def check_logs(project: Project) -> Check:
    name = "logs"
    directory = project.ems_dir / "logs"
    if not directory.exists():
        return Check(name, GREEN, "no log folder yet")
    size = _size(directory)
    remedy = (
        f"delete old files in {directory} (ems rotates its own logs at 2 MB x 5 per process kind; "
        "a large folder means something else writes there)"
    )
    if size >= LOGS_RED_BYTES:
        return Check(name, RED, f"the log folder holds {_mb(size)}", remedy)
    if size >= LOGS_AMBER_BYTES:
        return Check(name, AMBER, f"the log folder holds {_mb(size)}", remedy)
    return Check(name, GREEN, f"{_mb(size)} in {directory}")


def check_disk(project: Project) -> Check:
    name = "disk"
    try:
        usage = shutil.disk_usage(project.root)
    except OSError as exc:
        return Check(name, AMBER, f"free space unknown ({exc.strerror})")
    free = usage.free
    remedy = "free some disk space: the store, cache and logs need room to write safely"
    if free < DISK_RED_BYTES:
        return Check(name, RED, f"only {_mb(free)} free", remedy)
    if free < DISK_AMBER_BYTES:
        return Check(name, AMBER, f"{_mb(free)} free", remedy)
    return Check(name, GREEN, f"{free / 1024 / MB:.1f} GB free")


# ---------------------------------------------------------------- processes and events


def _monitor(project: Project) -> Store | None:
    store = project.store()
    return store


def check_heartbeats(project: Project) -> Check:
    name = "processes"
    store = _monitor(project)
    if store is None:
        return Check(name, GREEN, "no ems process recorded")
    from ems.store.monitor import STALE_INTERVALS, processes

    procs = processes(store)
    stale = [p for p in procs if p.state == "stale"]
    live = [p for p in procs if p.state == "live"]
    if stale:
        worst = max(stale, key=lambda p: p.heartbeat_age)
        return Check(
            name,
            AMBER,
            f"{len(stale)} stale: {worst.kind} pid {worst.pid} silent for {worst.heartbeat_age:.0f} s "
            f"(more than {STALE_INTERVALS} intervals of {worst.interval_s:g} s): it stopped without saying so",
            "restart it if you still need it (an editor's 'restart server'); stale entries expire after a week",
        )
    if not live:
        return Check(name, GREEN, "no ems process running")
    from ems.store.monitor import ProcessInfo, latest_samples

    latest = latest_samples(store, [p.id for p in live[:5]])

    def describe(p: ProcessInfo) -> str:
        sample = latest.get(p.id)
        rate = sample.files_per_s if sample is not None else None  # scanning now: how fast
        return f"{p.kind} pid {p.pid} ({p.heartbeat_age:.0f} s ago{'' if rate is None else f', {rate:g} files/s'})"

    return Check(name, GREEN, f"{len(live)} live: {', '.join(describe(p) for p in live[:5])}")


def check_memory(project: Project) -> Check:
    name = "memory"
    store = _monitor(project)
    if store is None:
        return Check(name, GREEN, "no ems process recorded")
    from ems.store.monitor import latest_samples, processes

    live = [p for p in processes(store) if p.state == "live" and p.memory_limit]
    latest = latest_samples(store, [p.id for p in live])
    worst = None
    for p in live:
        sample = latest.get(p.id)
        if sample is not None and p.memory_limit:
            fraction = sample.rss / p.memory_limit
            if worst is None or fraction > worst[0]:
                worst = (fraction, p, sample.rss)
    if worst is None:
        return Check(name, GREEN, "no live process sampled yet")
    fraction, p, rss = worst
    text = f"{p.kind} pid {p.pid} uses {_mb(rss)} of its {_mb(p.memory_limit or 0)} limit ({fraction:.0%})"
    remedy = "raise the limit (--memory-limit-mb, [tool.ems.monitor] memory-limit-mb) or close documents"
    if fraction > 1:
        return Check(name, RED, text, remedy)
    if fraction > MEMORY_AMBER_FRACTION:
        return Check(name, AMBER, text, remedy)
    return Check(name, GREEN, text)


def check_restarts(project: Project) -> Check:
    name = "restarts"
    store = _monitor(project)
    if store is None:
        return Check(name, GREEN, "no restarts recorded")
    from ems.runtime.monitor import CRASH_LOOP, PROCESS_RESTART, WORKER_RESTART
    from ems.store.monitor import events

    recent = events(store, since=project.now - HOUR, kinds=(CRASH_LOOP, WORKER_RESTART, PROCESS_RESTART))
    loops = [e for e in recent if e.kind == CRASH_LOOP]
    if loops:
        return Check(
            name,
            RED,
            f"crash loop: {loops[0].reason}",
            "see the errors in .ems/logs (or the Monitor page), fix or disable the failing rule, then restart",
        )
    restarts = [e for e in recent if e.kind != CRASH_LOOP]
    if restarts:
        return Check(
            name,
            AMBER,
            f"{len(restarts)} restarts in the last hour; last: {restarts[0].reason}",
            "ems recovered by itself; if it keeps happening, see .ems/logs for the cause",
        )
    return Check(name, GREEN, "no restarts in the last hour")


def check_rule_errors(project: Project) -> Check:
    name = "rule errors"
    store = _monitor(project)
    if store is None:
        return Check(name, GREEN, "no rule errors recorded")
    from ems.runtime.monitor import RULE_ERROR
    from ems.store.monitor import events

    recent = events(store, since=project.now - HOUR, kinds=(RULE_ERROR,))
    if not recent:
        return Check(name, GREEN, "no rule errors in the last hour")
    status = RED if len(recent) >= RULE_ERRORS_RED else AMBER
    return Check(
        name,
        status,
        f"{len(recent)} rule errors in the last hour; last: {recent[0].reason}",
        "the rule is skipped on those files (EMS901); update or disable it (`ignore = [CODE]`) and report it",
    )


# ---------------------------------------------------------------- the environment


def check_plugins(project: Project) -> Check:
    name = "plug-ins"
    from ems.core.plugins import entry_points
    from ems.core.registry import ENTRY_POINT_GROUP

    plugins = entry_points(ENTRY_POINT_GROUP)
    failed = []
    for ep in plugins:
        try:
            ep.load()
        except Exception as exc:  # an import error of any kind is the plug-in's
            failed.append(f"{ep.name} ({ep.value}): {type(exc).__name__}: {str(exc)[:80]}")
    if failed:
        return Check(
            name,
            RED,
            f"{len(failed)} of {len(plugins)} plug-ins fail to load: {'; '.join(failed)}",
            "reinstall or uninstall the plug-in package (`pip uninstall ...`); ems refuses to run without it",
        )
    if not plugins:
        return Check(name, GREEN, "no plug-ins installed")
    return Check(name, GREEN, "1 plug-in loads" if len(plugins) == 1 else f"{len(plugins)} plug-ins load")


def check_git(project: Project) -> Check:
    name = "git"
    git = shutil.which("git")
    if git is None:
        return Check(
            name, AMBER, "git is not installed: `ems history` and blame are unavailable", "install git"
        )
    try:
        done = subprocess.run(
            [git, "-C", str(project.root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, RED, f"git does not run: {type(exc).__name__}", "check the git installation")
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["not a git repository"])[-1]
        return Check(
            name,
            AMBER,
            f"history unavailable: {message[:160]}",
            "run ems inside a git work tree (`git init`) to get history, blame and new-code gates",
        )
    return Check(name, GREEN, f"git work tree at {done.stdout.strip()}")


_REQUIRES = re.compile(r"""requires-python\s*=\s*["']([^"']*)["']""")
_LOWER = re.compile(r">=?\s*3\.(\d+)|~=\s*3\.(\d+)|==\s*3\.(\d+)")


def check_python(project: Project) -> Check:
    name = "python"
    running = sys.version_info[:2]
    version = f"{running[0]}.{running[1]}"
    pyproject = project.root / "pyproject.toml"
    declared = None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        match = _REQUIRES.search(pyproject.read_text(encoding="utf-8"))
        if match:
            declared = match.group(1)
    if declared:
        lows = [int(next(g for g in m.groups() if g)) for m in _LOWER.finditer(declared)]
        if lows and max(lows) > running[1]:
            return Check(
                name,
                RED,
                f"the project needs Python {declared} but ems runs on {version}: newer syntax reads as E999",
                f"install ems into a Python 3.{max(lows)} (or newer) environment",
            )
    probe = "match x:\n    case [a, *b]: pass\ntype Alias = int\n"
    try:
        ast.parse(probe, feature_version=running)
        parses = "3.12 syntax"
    except SyntaxError:
        parses = "syntax up to " + version
    suffix = f" (project: {declared})" if declared else ""
    return Check(name, GREEN, f"Python {version} parses {parses}{suffix}")


def check_monitor_settings(project: Project) -> Check:
    name = "settings"
    from ems.core.config import ConfigError
    from ems.runtime.settings import monitor_settings

    try:
        settings = monitor_settings(project.root)
    except ConfigError as exc:
        return Check(
            name, RED, str(exc)[:300], "fix the value in [tool.ems.monitor] (see docs/user/monitoring.md)"
        )
    state = f"sampling every {settings.interval_s:g} s" if settings.enabled else "monitoring turned off"
    return Check(name, GREEN, state)


CHECKS: tuple[Callable[[Project], Check], ...] = (
    check_store,
    check_cache,
    check_logs,
    check_disk,
    check_heartbeats,
    check_memory,
    check_restarts,
    check_rule_errors,
    check_plugins,
    check_git,
    check_python,
    check_monitor_settings,
)


def run_checks(root: Path, store_path: Path | None = None) -> list[Check]:
    """Every check on the project at ``root``, in a fixed order."""
    project = Project(root.resolve(), store_path)
    try:
        return list(_each(project))
    finally:
        project.close()


def _each(project: Project) -> Iterator[Check]:
    for check in CHECKS:
        try:
            yield check(project)
        except Exception as exc:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            yield Check(name, RED, f"the check itself failed: {type(exc).__name__}", "report it")


def worst(checks: list[Check]) -> str:
    order = {GREEN: 0, AMBER: 1, RED: 2}
    return max((c.status for c in checks), key=order.__getitem__, default=GREEN)
