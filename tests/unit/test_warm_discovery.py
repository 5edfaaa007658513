"""Discovery's fast exclusion check gives ``Config.is_excluded``'s answers.

``_Excluder`` matches literal patterns by set lookups and compiles only glob patterns,
because compiling the default patterns was a visible part of a warm run; these tests
compare it with the generic implementation on many pattern/path pairs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ems.core.config import DEFAULT_EXCLUDE, Config
from ems.runtime.discovery import _Excluder

PATTERNS: list[tuple[str, ...]] = [
    DEFAULT_EXCLUDE,
    ("build/",),
    ("gen*",),
    ("*.egg-info", "docs"),
    ("[ab]tmp", "x?y", "legacy/"),
    ("skip_me.py", "tests"),
    (),
]
FOLDERS = [
    "",
    "src",
    "src/pkg",
    "build",
    "build/lib",
    "node_modules/x",
    "docs/api",
    "gen_code",
    "a/btmp/c",
    "xzy",
]
NAMES = [
    "mod.py",
    "build",
    "skip_me.py",
    "gen_x.py",
    "tests",
    "x.egg-info",
    "legacy",
    "atmp",
    "xay",
    ".git",
    "ok.pyi",
]


@pytest.mark.parametrize("patterns", PATTERNS)
def test_the_fast_check_agrees_with_config_is_excluded(tmp_path: Path, patterns: tuple[str, ...]) -> None:
    config = Config(root=tmp_path, exclude=patterns, extend_exclude=("extra",))
    excluder = _Excluder(config)
    assert not excluder.generic
    for folder_rel, name in itertools.product(FOLDERS, NAMES):
        directory = tmp_path / folder_rel if folder_rel else tmp_path
        path = directory / name
        folder = excluder.folder(directory)
        expected = config.is_excluded(path)
        assert excluder.excluded(folder, name, path) == expected, (patterns, folder_rel, name)


def test_patterns_with_a_slash_inside_use_the_generic_check(tmp_path: Path) -> None:
    config = Config(root=tmp_path, exclude=("src/generated",))
    excluder = _Excluder(config)
    assert excluder.generic
    directory = tmp_path / "src"
    assert excluder.excluded(excluder.folder(directory), "generated", directory / "generated")
    assert not excluder.excluded(excluder.folder(directory), "kept.py", directory / "kept.py")
