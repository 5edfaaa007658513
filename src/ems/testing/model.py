"""The plain data a test run or a captured exception leaves behind (stdlib only).

Everything here round-trips through JSON: the pytest plugin writes it to a file for
``ems test``, xdist carries it from workers to the controller, the store keeps it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Test outcomes, as the store and the faces name them.
PASSED = "passed"
FAILED = "failed"
ERROR = "error"  # a fixture (setup/teardown) or collection error
SKIPPED = "skipped"
XFAILED = "xfailed"
XPASSED = "xpassed"
OUTCOMES = (PASSED, FAILED, ERROR, SKIPPED, XFAILED, XPASSED)

# Where a failure happened.
WHEN_COLLECT = "collect"
WHEN_UNCAUGHT = "uncaught"
WHEN_LOGGED = "logged"

# How a recorded exception relates to the one that was raised last.
PRIMARY = "primary"
CAUSE = "cause"  # raise ... from X
CONTEXT = "context"  # raised while handling X
MEMBER = "member"  # one of an ExceptionGroup's exceptions


@dataclass(frozen=True)
class Frame:
    """One traceback frame inside the project. Lines 1-based; columns 0-based code points."""

    path: str  # relative to the project root, with forward slashes
    line: int
    function: str
    source: str  # the source line, stripped
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Frame:
        return cls(**data)


@dataclass(frozen=True)
class RaisedException:
    """One exception of a failure: the primary one, or one chained to it."""

    type: str  # qualified for non-builtins: "pkg.errors.Boom"
    message: str
    frames: tuple[Frame, ...]  # in-project frames, outermost first
    relation: str = PRIMARY
    parent: int | None = None  # index of the exception this one is chained to

    @classmethod
    def of(cls, data: dict[str, Any]) -> RaisedException:
        frames = tuple(Frame.of(f) for f in data.get("frames", ()))
        return cls(data["type"], data["message"], frames, data.get("relation", PRIMARY), data.get("parent"))


@dataclass(frozen=True)
class Failure:
    """A failed test (or a captured exception), as extracted; ``exceptions[0]`` is primary."""

    nodeid: str  # the test, or the command a captured exception came from
    when: str  # setup | call | teardown | collect | uncaught | logged
    exceptions: tuple[RaisedException, ...]
    crash: Frame | None  # the deepest in-project frame of the primary exception (or a member's)
    logger: str | None = None

    @property
    def primary(self) -> RaisedException:
        return self.exceptions[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Failure:
        crash = data.get("crash")
        return cls(
            data["nodeid"],
            data["when"],
            tuple(RaisedException.of(e) for e in data["exceptions"]),
            Frame.of(crash) if crash else None,
            data.get("logger"),
        )


@dataclass(frozen=True)
class TestResult:
    """One test's outcome in one run; duration covers setup, call and teardown."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    duration_s: float
    path: str | None = None
    line: int | None = None  # 1-based line of the test function

    @classmethod
    def of(cls, data: dict[str, Any]) -> TestResult:
        return cls(**data)


@dataclass(frozen=True)
class PytestReport:
    """What the plugin hands ``ems test``: every result and failure of one session."""

    root: str
    exit_status: int
    results: tuple[TestResult, ...]
    failures: tuple[Failure, ...]
    started_at: float
    finished_at: float
    pytest_version: str = ""
    workers: int = 0
    collected: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any]) -> PytestReport:
        return cls(
            data["root"],
            int(data["exit_status"]),
            tuple(TestResult.of(r) for r in data["results"]),
            tuple(Failure.of(f) for f in data["failures"]),
            float(data["started_at"]),
            float(data["finished_at"]),
            data.get("pytest_version", ""),
            int(data.get("workers", 0)),
            int(data.get("collected", 0)),
            dict(data.get("meta", {})),
        )
