"""Failure grouping: message parameterisation, fingerprints, states across runs, flaky tests."""

from __future__ import annotations

import pytest

from ems.testing.grouping import (
    FIXED,
    NEW,
    ONGOING,
    REGRESSED,
    GroupStanding,
    exercised_by,
    fingerprint,
    flaky_tests,
    next_states,
)
from ems.testing.model import CAUSE, Failure, Frame, RaisedException
from ems.testing.normalise import parameterise


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("invalid literal for int() with base 10: 'x'", "invalid literal for int() with base <n>: <str>"),
        ('no such key "user-17"', "no such key <str>"),
        ("list index 12 out of range (size 3.5)", "list index <n> out of range (size <n>)"),
        ("object at 0x7f3a9c2b1d90 is closed", "object at <hex> is closed"),
        ("cannot open /home/ann/data/file.csv: denied", "cannot open <path>: denied"),
        ("cannot open ./data/x.csv", "cannot open <path>"),
        ("request 3f2a1c9e-4b7d-4e21-9a0b-1c2d3e4f5a6b failed", "request <uuid> failed"),
        ("commit deadbeef1234 missing", "commit <hex> missing"),
        ("session ab12cd34ef56gh78 expired", "session <id> expired"),
        ("assert 3 == 4\n +  where 3 = f()", "assert <n> == <n>"),
        ("utf8 and int64 stay", "utf8 and int64 stay"),
    ],
)
def test_parameterise_replaces_values(message: str, expected: str) -> None:
    assert parameterise(message) == expected


def test_parameterise_is_idempotent() -> None:
    once = parameterise("key 'a' at /x/y/z line 3 id 0xff")
    assert parameterise(once) == once


def _failure(nodeid: str, message: str, frames: list[Frame], exc_type: str = "ValueError") -> Failure:
    return Failure(
        nodeid, "call", (RaisedException(exc_type, message, tuple(frames)),), frames[-1] if frames else None
    )


TEST = Frame("tests/test_a.py", 10, "test_parse", "assert parse(v) == 1")
APP = Frame("app.py", 2, "parse", "return int(value)")


def test_parametrised_failures_for_one_cause_share_a_fingerprint() -> None:
    prints = {
        fingerprint(_failure(f"tests/test_a.py::test_parse[{v}]", f"invalid literal: '{v}'", [TEST, APP]))
        for v in ("x", "y", "zz", "12a")
    }
    assert len(prints) == 1


def test_line_numbers_and_indentation_do_not_split_a_group() -> None:
    moved = Frame("app.py", 40, "parse", "return   int(value)")
    a = fingerprint(_failure("t.py::a", "bad 'x'", [TEST, APP]))
    b = fingerprint(_failure("t.py::a", "bad 'y'", [TEST, moved]))
    assert a == b


def test_two_causes_in_one_test_are_two_groups() -> None:
    other = Frame("app.py", 7, "load", "return table[key]")
    a = fingerprint(_failure("tests/test_a.py::t", "bad 'x'", [TEST, APP]))
    b = fingerprint(_failure("tests/test_a.py::t", "'k'", [TEST, other], "KeyError"))
    c = fingerprint(_failure("tests/test_a.py::t", "bad 'x'", [TEST, APP], "TypeError"))
    assert len({a, b, c}) == 3


def test_different_tests_hitting_one_bug_are_one_group() -> None:
    other_test = Frame("tests/test_b.py", 3, "test_other", "parse('q')")
    a = fingerprint(_failure("tests/test_a.py::test_parse", "bad 'x'", [TEST, APP]))
    b = fingerprint(_failure("tests/test_b.py::test_other", "bad 'q'", [other_test, APP]))
    assert a == b


def test_assertions_in_different_tests_are_different_groups() -> None:
    a = fingerprint(
        _failure("tests/test_a.py::x", "assert 1 == 2", [Frame("tests/test_a.py", 3, "x", "assert f() == 2")])
    )
    b = fingerprint(
        _failure("tests/test_a.py::y", "assert 1 == 2", [Frame("tests/test_a.py", 9, "y", "assert g() == 2")])
    )
    assert a != b


def test_recursion_depth_does_not_split_a_group() -> None:
    rec = Frame("app.py", 5, "walk", "return walk(n - 1)")
    shallow = _failure("t.py::a", "maximum recursion depth exceeded", [TEST, rec, rec, APP], "RecursionError")
    deep = _failure("t.py::a", "maximum recursion depth exceeded", [TEST, *[rec] * 30, APP], "RecursionError")
    assert fingerprint(shallow) == fingerprint(deep)


def test_the_chain_is_part_of_the_fingerprint() -> None:
    primary = RaisedException("RuntimeError", "lookup failed", (TEST,))
    plain = Failure("t.py::a", "call", (primary,), TEST)
    chained = Failure(
        "t.py::a", "call", (primary, RaisedException("KeyError", "'k'", (TEST,), CAUSE, 0)), TEST
    )
    assert fingerprint(plain) != fingerprint(chained)


def test_kind_separates_test_and_program_groups() -> None:
    f = _failure("python app.py", "bad", [APP])
    assert fingerprint(f, "test") != fingerprint(f, "run")


def test_states_across_runs() -> None:
    members = {"a": {"t::1"}}
    first = next_states({}, members, {"t::1"})
    assert first == {"a": NEW}
    second = next_states({"a": GroupStanding(NEW, frozenset({"t::1"}))}, members, {"t::1"})
    assert second == {"a": ONGOING}
    third = next_states({"a": GroupStanding(ONGOING, frozenset({"t::1"}))}, {}, {"t::1"})
    assert third == {"a": FIXED}
    fourth = next_states({"a": GroupStanding(FIXED, frozenset({"t::1"}))}, members, {"t::1"})
    assert fourth == {"a": REGRESSED}


def test_a_group_whose_tests_did_not_run_keeps_its_state() -> None:
    assert next_states({"a": GroupStanding(ONGOING, frozenset({"t::1"}))}, {}, {"t::2"}) == {}


def test_a_fixed_group_stays_fixed_silently() -> None:
    assert next_states({"a": GroupStanding(FIXED, frozenset({"t::1"}))}, {}, {"t::1"}) == {}


def test_a_module_that_collects_again_fixes_its_collection_error() -> None:
    ran = exercised_by(["tests/test_a.py::test_x"])
    assert next_states({"c": GroupStanding(NEW, frozenset({"tests/test_a.py"}))}, {}, ran) == {"c": FIXED}


def test_flaky_needs_both_outcomes_on_the_same_code() -> None:
    rows = [
        ("t::a", "sha1", "passed"),
        ("t::a", "sha1", "failed"),
        ("t::b", "sha1", "passed"),
        ("t::b", "sha2", "failed"),  # the code changed: not flaky
        ("t::c", "sha1", "error"),
        ("t::c", "sha1", "passed"),
        ("t::d", "", "passed"),  # no git: unknown code state
        ("t::d", "", "failed"),
        ("t::e", "sha1", "skipped"),
        ("t::e", "sha1", "failed"),
    ]
    assert flaky_tests(rows) == ["t::a", "t::c"]
