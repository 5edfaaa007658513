"""Which failures are the same problem, and where each problem stands (pure functions).

A *group* is every failure with one fingerprint: the exception type, the parameterised
message and the frames' functions and normalised source lines (never line numbers, so an
edit above a function does not split its group). When a failure passes through code outside
the test files, only those frames count: twenty tests hitting one bug in ``app.py`` are one
group, while a test's own failing ``assert`` is its own. A group's state across runs:

* new — first seen in this run;
* ongoing — failing in this run and when last evaluated;
* regressed — failing again after it was fixed;
* fixed — not failing in a run that exercised it (one of its last failing tests ran, or the
  same command ran again). A group whose tests did not run keeps its state.

A test that passed and failed on the same code (commit and uncommitted diff) is flaky.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ems.testing.model import ERROR, FAILED, PASSED, Failure, Frame, RaisedException
from ems.testing.normalise import normalise_source, parameterise

NEW = "new"
ONGOING = "ongoing"
REGRESSED = "regressed"
FIXED = "fixed"
STATES = (NEW, ONGOING, REGRESSED, FIXED)
CONFTEST = "conftest.py"


def test_file(nodeid: str) -> str:
    """The file part of a pytest node id (the whole id for a command)."""
    return nodeid.split("::", 1)[0]


def _is_test_code(frame: Frame, nodeid: str) -> bool:
    return frame.path == test_file(nodeid) or frame.path.rsplit("/", 1)[-1] == CONFTEST


def _collapse(frames: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive repeats (recursion) count once: a deeper recursion is the same problem."""
    out: list[tuple[str, str]] = []
    for item in frames:
        if item not in out[-2:]:
            out.append(item)
    return out


def signature_frames(exc: RaisedException, nodeid: str) -> list[tuple[str, str]]:
    """(function, normalised source) of the frames that identify the problem."""
    frames = list(exc.frames)
    code = [f for f in frames if not _is_test_code(f, nodeid)]
    chosen = code if code else frames[-1:]
    return _collapse((f.function, normalise_source(f.source)) for f in chosen)


def fingerprint(failure: Failure, kind: str = "test") -> str:
    """The group key: stable across runs, parameters, line moves and machines."""
    digest = hashlib.sha1(kind.encode(), usedforsecurity=False)
    for exc in failure.exceptions:
        digest.update(f"\x00{exc.relation}\x00{exc.type}\x00{parameterise(exc.message)}".encode())
        for function, source in signature_frames(exc, failure.nodeid):
            digest.update(f"\x01{function}\x01{source}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class GroupStanding:
    """What the store knows of a group before a run: its state and its last failing members."""

    state: str
    members: frozenset[str]


def next_states(
    previous: Mapping[str, GroupStanding], failing: Mapping[str, Iterable[str]], exercised: Iterable[str]
) -> dict[str, str]:
    """The state of every group this run says something about.

    ``failing`` maps each fingerprint failing in this run to its members; ``exercised`` is
    what the run covered (test ids and their files, or the command).
    """
    ran = set(exercised)
    states: dict[str, str] = {}
    for fp in failing:
        before = previous.get(fp)
        if before is None:
            states[fp] = NEW
        elif before.state == FIXED:
            states[fp] = REGRESSED
        else:
            states[fp] = ONGOING
    for fp, before in previous.items():
        if fp not in failing and before.state != FIXED and before.members & ran:
            states[fp] = FIXED
    return states


def exercised_by(nodeids: Iterable[str]) -> set[str]:
    """Test ids that ran and their files (a file that collected fixes its collection error)."""
    out: set[str] = set()
    for nodeid in nodeids:
        out.add(nodeid)
        out.add(test_file(nodeid))
    return out


def flaky_tests(outcomes: Iterable[tuple[str, str, str]]) -> list[str]:
    """Tests that both passed and failed on one code state, from (nodeid, code state, outcome)."""
    seen: dict[tuple[str, str], set[str]] = {}
    for nodeid, state, outcome in outcomes:
        if not state:
            continue
        kind = PASSED if outcome == PASSED else FAILED if outcome in (FAILED, ERROR) else None
        if kind is not None:
            seen.setdefault((nodeid, state), set()).add(kind)
    return sorted({nodeid for (nodeid, _), kinds in seen.items() if len(kinds) == 2})
