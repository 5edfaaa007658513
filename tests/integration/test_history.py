"""ems history on real git repositories built in tmp_path (no network, no checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sample_projects import cached_results

from ems.cli.main import main
from ems.core import analyse
from ems.gitinfo.blame import blame
from ems.gitinfo.churn import churn, hotspots
from ems.gitinfo.history import HistoryOptions, introductions, walk_history
from ems.gitinfo.newcode import new_since
from ems.gitinfo.repo import close_repositories, repository
from ems.store import open_store

AUTHORS = {"alice": "Alice Liddell", "bob": "Bob Builder", "carol": "Carol Danvers"}
_clock = [1_700_000_000]


def git(repo: Path, *args: str, who: str = "alice") -> str:
    _clock[0] += 3600
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": AUTHORS[who],
        "GIT_AUTHOR_EMAIL": f"{who}@example.com",
        "GIT_COMMITTER_NAME": AUTHORS[who],
        "GIT_COMMITTER_EMAIL": f"{who}@example.com",
        "GIT_AUTHOR_DATE": f"@{_clock[0]} +0000",
        "GIT_COMMITTER_DATE": f"@{_clock[0]} +0000",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str | None], message: str, who: str = "alice") -> str:
    for name, text in files.items():
        target = repo / name
        if text is None:
            git(repo, "rm", "-q", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        git(repo, "add", name)
    git(repo, "commit", "-q", "--allow-empty", "-m", message, who=who)
    return git(repo, "rev-parse", "HEAD")


def make_repo(tmp_path: Path, name: str = "repo") -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


@pytest.fixture(autouse=True)
def _close_repos():
    yield
    close_repositories()


def history_json(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    code = main(["history", str(repo), "--format", "json", "--jobs", "1", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


MODULE_V1 = "def area(r):\n    return 3.14 * r * r\n"
MODULE_V2 = "def area(r):\n    if r == None:\n        return 0\n    return 3.14 * r * r\n"
MODULE_V3 = "import os\n\n\n" + MODULE_V2  # an edit above the finding
MODULE_V4 = "import os\n\n\ndef area(r):\n    if r is None:\n        return 0\n    return 3.14 * r * r\n"


def test_introducing_and_removing_commit_of_known_findings(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"geo.py": MODULE_V1}, "add area", who="alice")
    c2 = commit(repo, {"geo.py": MODULE_V2}, "guard None", who="bob")
    c3 = commit(repo, {"geo.py": MODULE_V3}, "import os", who="carol")
    c4 = commit(repo, {"geo.py": MODULE_V4}, "use is None", who="alice")

    data = history_json(repo, capsys)
    by_sha = {c["sha"]: c for c in data["commits"]}
    assert [e["code"] for e in by_sha[c2]["introduced"]] == ["E711"]
    assert by_sha[c2]["removed"] == []
    # The edit above the finding moves its line but does not make it new.
    assert [e["code"] for e in by_sha[c3]["introduced"]] == ["F401"]
    assert by_sha[c3]["removed"] == []
    assert [e["code"] for e in by_sha[c4]["removed"]] == ["E711"]
    removed = {r["code"]: r for r in data["removed"]}
    assert removed["E711"]["introduced"]["commit"] == c2
    assert removed["E711"]["introduced"]["author"] == "Bob Builder"
    assert removed["E711"]["removed"]["commit"] == c4
    assert removed["E711"]["removed"]["author"] == "Alice Liddell"
    [current] = data["findings"]
    assert current["code"] == "F401"
    assert current["introduced"]["commit"] == c3
    assert current["introduced"]["author"] == "Carol Danvers"
    assert current["introduced"]["exact"] is True


def test_second_run_analyses_nothing_and_one_commit_costs_one_blob(tmp_path, capsys):
    repo = make_repo(tmp_path)
    for i in range(6):
        files = {f"m{j}.py": f"import os\nVALUE = {i * 10 + j}\n" for j in range(3)}
        commit(repo, files, f"commit {i}", who=("alice", "bob", "carol")[i % 3])
    first = history_json(repo, capsys)
    assert first["stats"]["analysed_blobs"] == 18
    second = history_json(repo, capsys)
    assert second["stats"]["analysed_blobs"] == 0
    assert second["stats"]["cached_blobs"] == 18
    assert second["findings"] == first["findings"]
    commit(repo, {"m1.py": "import os\nVALUE = -1\n"}, "one more", who="bob")
    third = history_json(repo, capsys)
    assert third["stats"]["analysed_blobs"] == 1
    assert third["stats"]["commits"] == 7


def test_rename_keeps_the_introducing_commit(tmp_path, capsys):
    repo = make_repo(tmp_path)
    c1 = commit(repo, {"old_name.py": "import sys\n\nvalue = 1\n"}, "add", who="alice")
    git(repo, "mv", "old_name.py", "new_name.py")
    c2 = commit(repo, {}, "rename", who="bob")
    c3 = commit(repo, {"new_name.py": "import sys\n\nvalue = 2\n"}, "edit after rename", who="carol")
    data = history_json(repo, capsys)
    by_sha = {c["sha"]: c for c in data["commits"]}
    assert by_sha[c2]["introduced"] == [] and by_sha[c2]["removed"] == []
    assert by_sha[c3]["introduced"] == [] and by_sha[c3]["removed"] == []
    [current] = data["findings"]
    assert current["path"] == "new_name.py"
    assert current["introduced"]["commit"] == c1
    assert data["removed"] == []


def test_merge_credits_the_branch_commit_unless_first_parent(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"app.py": "def run():\n    return 1\n"}, "start", who="alice")
    git(repo, "switch", "-q", "-c", "feature")
    feature = commit(repo, {"feature.py": "x = 1\nassert (x, 'msg')\n"}, "feature work", who="bob")
    git(repo, "switch", "-q", "main")
    commit(repo, {"app.py": "def run():\n    return 2\n"}, "main work", who="carol")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature", who="alice")
    merge = git(repo, "rev-parse", "HEAD")

    data = history_json(repo, capsys)
    by_sha = {c["sha"]: c for c in data["commits"]}
    assert [e["code"] for e in by_sha[feature]["introduced"]] == ["F631"]
    assert by_sha[merge]["introduced"] == []
    [current] = data["findings"]
    assert current["introduced"]["commit"] == feature
    assert current["introduced"]["author"] == "Bob Builder"

    mainline = history_json(repo, capsys, "--first-parent")
    assert feature not in {c["sha"] for c in mainline["commits"]}
    assert mainline["findings"][0]["introduced"]["commit"] == merge

    branch_only = history_json(repo, capsys, "--branch", "feature")
    assert branch_only["tip"] == feature
    assert branch_only["findings"][0]["introduced"]["commit"] == feature


def test_dirty_work_tree_is_left_untouched(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "x = 1\n"}, "one")
    commit(repo, {"a.py": "x = 2\nif x == None:\n    pass\n"}, "two", who="bob")
    (repo / "a.py").write_text("edited but not committed\n")
    (repo / "untracked.py").write_text("import os\n")
    before = git(repo, "status", "--porcelain")
    data = history_json(repo, capsys)
    assert git(repo, "status", "--porcelain") == before
    assert (repo / "a.py").read_text() == "edited but not committed\n"
    # History is about commits: the committed E711 is there, the untracked file is not.
    assert [f["code"] for f in data["findings"]] == ["E711"]


def test_shallow_clone_reports_at_or_before_without_traceback(tmp_path, capsys):
    origin = make_repo(tmp_path, "origin")
    c1 = commit(origin, {"a.py": "import os\n"}, "one")
    commit(origin, {"b.py": "y = 1\n"}, "two", who="bob")
    c3 = commit(origin, {"b.py": "import sys\ny = 1\n"}, "three", who="carol")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{origin}", str(clone)], check=True)
    code = main(["history", str(clone), "--format", "json", "--jobs", "1"])
    out = capsys.readouterr()
    assert code == 0
    assert "shallow clone" in out.err and "git fetch --unshallow" in out.err
    data = json.loads(out.out)
    assert c1 not in {c["sha"] for c in data["commits"]}
    found = {f["code"]: f for f in data["findings"]}
    assert found["F401"]["path"] in ("a.py", "b.py")
    by_path = {f["path"]: f for f in data["findings"]}
    assert by_path["b.py"]["introduced"]["commit"] == c3
    assert by_path["b.py"]["introduced"]["exact"] is True
    assert by_path["a.py"]["introduced"]["exact"] is False


def test_clear_messages_for_bad_repositories(tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["history", str(plain)]) == 2
    assert "not inside a git repository" in capsys.readouterr().err

    empty = make_repo(tmp_path, "empty")
    assert main(["history", str(empty)]) == 0
    assert "empty git repository" in capsys.readouterr().err

    repo = make_repo(tmp_path, "detached")
    first = commit(repo, {"a.py": "import os\n"}, "one")
    commit(repo, {"a.py": "import os\nimport sys\n"}, "two")
    git(repo, "switch", "-q", "--detach", first)
    data = json.loads(_run_ok(["history", str(repo), "--format", "json"], capsys, expect_err="detached"))
    assert data["tip"] == first and data["branch"] is None

    assert main(["history", str(repo), "--branch", "no-such-branch"]) == 2
    assert "does not name a commit" in capsys.readouterr().err


def _run_ok(argv: list[str], capsys, expect_err: str) -> str:
    assert main(argv) == 0
    out = capsys.readouterr()
    assert expect_err in out.err
    return out.out


def test_max_commits_window_reports_older_findings_at_or_before(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "import os\n"}, "one")
    boundary = commit(repo, {"a.py": "import os\nx = 1\n"}, "two", who="bob")
    last = commit(repo, {"b.py": "import sys\n"}, "three", who="carol")
    data = history_json(repo, capsys, "--max-commits", "1")
    assert [c["sha"] for c in data["commits"]] == [last]
    by_path = {f["path"]: f for f in data["findings"]}
    assert by_path["a.py"]["introduced"] == {
        **by_path["a.py"]["introduced"],
        "commit": boundary,
        "exact": False,
    }
    assert by_path["b.py"]["introduced"]["commit"] == last
    # The boundary commit is recorded (findings name it) but was not walked: the run the
    # dashboard's History page reads says one commit, as the report does.
    with open_store(repo) as store:
        run = store.history_run()
    assert run is not None and run.commits == 1 == data["stats"]["commits"]


def test_fingerprints_survive_edits_above_and_moving_a_function():
    original = "def helper(v):\n    return v == None\n\n\ndef other():\n    return f'plain'\n"
    edited = "import json\n# a comment\n\n\ndef other():\n    return f'plain'\n\n\ndef helper(v):\n    return v == None\n"
    before = {(f.code, f.fingerprint) for f in analyse(original, "pkg/mod.py").findings}
    after = {(f.code, f.fingerprint) for f in analyse(edited, "pkg/mod.py").findings}
    assert before <= after
    assert {c for c, _ in after - before} == {"F401"}


def test_moving_a_function_is_no_event_in_history(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"m.py": "def a(v):\n    return v == None\n\n\ndef b():\n    return 1\n"}, "one")
    moved = commit(
        repo, {"m.py": "def b():\n    return 1\n\n\ndef a(v):\n    return v == None\n"}, "move", who="bob"
    )
    data = history_json(repo, capsys)
    by_sha = {c["sha"]: c for c in data["commits"]}
    assert by_sha[moved]["introduced"] == [] and by_sha[moved]["removed"] == []


def test_new_since_on_a_branch_reports_only_new_findings(tmp_path, monkeypatch):
    repo = make_repo(tmp_path)
    commit(
        repo,
        {"legacy.py": "import os\n\ndef f(x):\n    return x == None\n", "keep.py": "import sys\n"},
        "old debt",
    )
    git(repo, "switch", "-q", "-c", "topic")
    commit(
        repo,
        {
            "legacy.py": "import os\n# moved down\n\ndef f(x):\n    return x == None\n\ndef g():\n    return f'x'\n"
        },
        "topic work",
        who="bob",
    )
    git(repo, "mv", "keep.py", "kept.py")
    commit(repo, {}, "rename", who="bob")
    monkeypatch.chdir(repo)
    current = []
    for name in ("legacy.py", "kept.py"):
        current.extend(analyse((repo / name).read_bytes(), name).findings)
    with open_store(repo) as store:
        fresh = new_since(current, "main", store, cwd=repo)
    assert [(f.path, f.code) for f in fresh] == [("legacy.py", "F541")]

    # From a subfolder, paths shown relative to it still compare by repo-relative fingerprint.
    sub = repo / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    shown = [f for f in analyse((repo / "legacy.py").read_bytes(), "../legacy.py").findings]
    with open_store(repo) as store:
        fresh = new_since(shown, "main", store, cwd=sub)
    assert [f.code for f in fresh] == ["F541"]


def test_blame_of_finding_lines_is_cached_per_blob(tmp_path):
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "x = 1\n"}, "one", who="alice")
    c2 = commit(repo, {"a.py": "x = 1\nimport os\n"}, "two", who="bob")
    r = repository(repo)
    blob = r.git.rev_parse("HEAD:a.py")
    with open_store(repo) as store:
        result = blame(r, store, "HEAD", "a.py", blob, [1, 2])
        assert result[1].author == "Alice Liddell"
        assert result[2].author == "Bob Builder" and result[2].commit_sha == c2
        assert set(store.cached_blame("a.py", blob, [1, 2])) == {1, 2}


def test_churn_follows_renames_and_hotspots_rank_changed_dense_files(tmp_path):
    repo = make_repo(tmp_path)
    commit(repo, {"hot.py": "import os\n", "cold.py": "import sys\n" + "x = 1\n" * 50}, "one")
    for i in range(3):
        commit(repo, {"hot.py": f"import os\nx = {i}\n"}, f"edit {i}", who="bob")
    git(repo, "mv", "hot.py", "hotter.py")
    commit(repo, {}, "rename", who="carol")
    churns = churn(repository(repo))
    assert churns["hotter.py"].changes == 5
    assert "hot.py" not in churns
    ranked = hotspots(churns, {"hotter.py": (1, 2), "cold.py": (1, 51)})
    assert [h.path for h in ranked] == ["hotter.py", "cold.py"]
    assert ranked[0].score > ranked[1].score > 0


def test_api_history_and_introductions_from_the_store(tmp_path):
    repo = make_repo(tmp_path)
    c1 = commit(repo, {"a.py": "import os\n"}, "one", who="carol")
    with open_store(repo) as store:
        result = walk_history(repo, store, HistoryOptions(), jobs=1)
        fp = result.present[0].finding.fingerprint
        intro = introductions(store, [fp])
    assert intro[fp].commit == c1 and intro[fp].author == "Carol Danvers" and intro[fp].exact


def test_cli_subprocess_prints_no_traceback_outside_a_repository(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ems", "history", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "not inside a git repository" in done.stderr


def test_since_and_path_restrict_the_walk(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"src/a.py": "import os\n", "tools/t.py": "import sys\n"}, "one")
    second = commit(repo, {"src/b.py": "import json\n"}, "two", who="bob")
    stamp = int(git(repo, "log", "-1", "--format=%ct", second))
    since = datetime.fromtimestamp(stamp - 1, UTC).isoformat()
    data = history_json(repo, capsys, "--since", since)
    assert [c["sha"] for c in data["commits"]] == [second]
    only_src = history_json(repo / "src", capsys)
    assert {f["path"] for f in only_src["findings"]} == {"src/a.py", "src/b.py"}
    assert main(["history", str(repo), "--since", "2100-01-01"]) == 2
    assert "no commits" in capsys.readouterr().err


def test_unusual_files_unicode_paths_symlinks_syntax_errors(tmp_path, capsys):
    repo = make_repo(tmp_path)
    commit(repo, {"données/é.py": "import os\n", "broken.py": "def f(:\n", "blob.py": "x = 1\n"}, "odd files")
    (repo / "link.py").symlink_to("données/é.py")
    (repo / "blob.py").write_bytes(b"\x00\xff\xfe binary")
    git(repo, "add", "link.py", "blob.py")
    fixed = commit(repo, {"broken.py": "def f():\n    pass\n"}, "fix syntax", who="bob")
    data = history_json(repo, capsys)
    paths = {f["path"] for f in data["findings"]}
    assert "données/é.py" in paths and "link.py" not in paths
    assert [e["code"] for e in {c["sha"]: c for c in data["commits"]}[fixed]["removed"]] == ["E999"]


def test_one_repo_per_repository_and_no_leaked_git_processes(tmp_path):
    import psutil

    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "import os\n"}, "one")
    me = psutil.Process()
    with open_store(repo) as store:
        for _ in range(5):
            walk_history(repo, store, HistoryOptions(), jobs=1)
            assert repository(repo) is repository(repo / "a.py")
        git_children = [p for p in me.children(recursive=True) if p.name() == "git"]
        assert len(git_children) <= 2  # GitPython's persistent cat-file processes, once
    close_repositories()
    psutil.wait_procs(git_children, timeout=5)
    assert not [p for p in me.children(recursive=True) if p.name() == "git"]


# ---------------------------------------------------------------- ems check / ems fix integration


@pytest.fixture
def git_identity(monkeypatch):
    for key, value in {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Fixer",
        "GIT_AUTHOR_EMAIL": "fixer@example.com",
        "GIT_COMMITTER_NAME": "Fixer",
        "GIT_COMMITTER_EMAIL": "fixer@example.com",
    }.items():
        monkeypatch.setenv(key, value)


def _check_json(capsys, *argv: str) -> list[dict]:
    code = main(["check", "--format", "json", "--no-cache", *argv])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    return json.loads(out.out)


def test_check_record_introduced_and_new_since_on_a_branch(tmp_path, monkeypatch, capsys):
    repo = make_repo(tmp_path)
    c1 = commit(
        repo, {"legacy.py": "import os\n\n\ndef f(x):\n    return x == None\n"}, "old debt", who="carol"
    )
    monkeypatch.chdir(repo)

    findings = _check_json(capsys, "--record")
    assert {f["code"] for f in findings} == {"F401", "E711"}
    assert all("introduced" not in f for f in findings)  # no history built yet
    with open_store(repo) as store:
        [scan] = store.scans()
        assert (scan.commit_sha, scan.branch, scan.dirty) == (c1, "main", False)
        assert scan.finding_count == 2
        assert {s.fingerprint for s in store.scan_findings(scan.id)} == {f["fingerprint"] for f in findings}

    assert main(["history", "--jobs", "1"]) == 0
    capsys.readouterr()
    git(repo, "switch", "-q", "-c", "topic")
    commit(
        repo,
        {
            "legacy.py": "import os\n# note\n\n\ndef f(x):\n    return x == None\n\n\ndef g():\n    return f'g'\n"
        },
        "topic work",
        who="bob",
    )
    findings = _check_json(capsys)
    by_code = {f["code"]: f for f in findings}
    assert by_code["F401"]["introduced"]["commit"] == c1
    assert by_code["F401"]["introduced"]["author"] == "Carol Danvers"
    assert by_code["F541"]["introduced"] is None  # committed after the history run

    fresh = _check_json(capsys, "--new-since", "main")
    assert [f["code"] for f in fresh] == ["F541"]
    assert main(["check", "--no-cache", "--new-since", "main", "--select", "F401,E711"]) == 0
    capsys.readouterr()
    assert main(["check", "--no-cache", "--new-since", "nope"]) == 2
    assert "does not name a commit" in capsys.readouterr().err


def test_fix_commit_commits_only_fixed_files_on_a_new_branch(tmp_path, monkeypatch, capsys, git_identity):
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "import os\nimport sys\n\nVALUE = sys.argv\n", "notes.py": "VALUE = 1\n"}, "start")
    (repo / "notes.py").write_text("VALUE = 2\n")  # dirty, but nothing to fix there
    monkeypatch.chdir(repo)
    code = main(["fix", "--no-cache", "--commit", "--branch", "ems-fixes", "."])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Committed 1 file(s)" in out.out
    assert git(repo, "branch", "--show-current") == "ems-fixes"
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("ems fix: F401")
    assert "- F401: 1 fix" in message and "- a.py" in message
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "a.py"
    assert "import os" not in (repo / "a.py").read_text()
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == "M notes.py"


def test_fix_commit_refuses_files_with_uncommitted_changes(tmp_path, monkeypatch, capsys, git_identity):
    repo = make_repo(tmp_path)
    head_before = commit(repo, {"a.py": "import os\n\nVALUE = 1\n"}, "start")
    (repo / "a.py").write_text("import os\n\nVALUE = 2\n")
    monkeypatch.chdir(repo)
    assert main(["fix", "--no-cache", "--commit", "."]) == 2
    err = capsys.readouterr().err
    assert "uncommitted changes" in err and "a.py (modified)" in err and "nothing was written" in err
    assert (repo / "a.py").read_text() == "import os\n\nVALUE = 2\n"
    assert git(repo, "rev-parse", "HEAD") == head_before

    assert main(["fix", "--no-cache", "--branch", "x", "."]) == 2
    assert "--branch only makes sense with --commit" in capsys.readouterr().err


def test_check_from_another_folder_uses_the_checked_projects_root(tmp_path, monkeypatch, capsys):
    """``cd /tmp && ems check /path/to/repo``: .ems/ (cache and store) lands in the repository,
    nothing in the current folder, and JSON findings still get ``introduced`` (issue 13)."""
    repo = make_repo(tmp_path)
    c1 = commit(repo, {"pkg/legacy.py": "import os\n"}, "old debt", who="carol")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["history", str(repo), "--jobs", "1"]) == 0
    capsys.readouterr()

    code = main(["check", "--format", "json", "--record", str(repo / "pkg")])
    out = capsys.readouterr()
    assert code == 1, out.err
    [finding] = json.loads(out.out)
    assert finding["introduced"]["commit"] == c1
    assert not (elsewhere / ".ems").exists()
    assert not (repo / "pkg" / ".ems").exists()
    assert (repo / ".ems" / "ems.db").is_file()
    assert cached_results(repo) and not (repo / ".ems" / "cache").exists()  # one store
    with open_store(repo) as store:
        [scan] = store.scans()
        assert scan.root == str(repo.resolve()) and scan.finding_count == 1


def test_history_report_is_data_and_history_built_reaches_a_subscriber(tmp_path):
    from ems.gitinfo.report import build_history
    from ems.runtime.events import EventBus, HistoryBuilt

    repo = make_repo(tmp_path)
    c1 = commit(repo, {"a.py": MODULE_V2}, "add area", who="bob")
    c2 = commit(repo, {"a.py": MODULE_V4}, "fix the comparison", who="carol")
    bus = EventBus()
    heard: list[HistoryBuilt] = []
    bus.subscribe(HistoryBuilt, heard.append)
    with open_store(repo) as store:
        report = build_history(repo, store, jobs=1, with_blame=True, bus=bus)
    assert [c.sha for c in report.commits] == [c1, c2]
    assert [e.code for e in report.commits[0].introduced] == ["E711"]
    [removed] = report.removed
    assert (removed.code, removed.introduced.author, removed.removed.author) == (
        "E711",
        "Bob Builder",
        "Carol Danvers",
    )
    [current] = report.findings  # MODULE_V4 imports os
    assert (current.code, current.line, current.column) == ("F401", 1, 8)
    assert current.introduced is not None and current.introduced.commit == c2
    assert current.blame is not None and current.blame.author == "Carol Danvers"
    assert report.as_dict()["findings"][0]["blame"]["commit"] == c2
    assert heard == [HistoryBuilt(str(repo.resolve()), c2, 2, 1, heard[0].seconds)]


def test_a_restricted_run_keeps_the_history_of_files_outside_it(tmp_path, monkeypatch, capsys):
    repo = make_repo(tmp_path)
    c1 = commit(repo, {"pkg/a.py": "import os\n", "tools/t.py": "import sys\n"}, "one", who="carol")
    monkeypatch.chdir(repo)
    assert main(["history", "--jobs", "1"]) == 0
    assert main(["history", "pkg", "--jobs", "1"]) == 0  # a walk of pkg/ only
    capsys.readouterr()
    by_path = {f["path"]: f for f in _check_json(capsys)}
    assert by_path["tools/t.py"]["introduced"]["commit"] == c1  # not wiped by the pkg/ run
    assert by_path["pkg/a.py"]["introduced"]["commit"] == c1


def test_the_hotspot_table_header_lines_up_with_its_columns(tmp_path, capsys):
    repo = make_repo(tmp_path)
    names = ", ".join(f"m{i}" for i in range(200))
    for index in range(12):  # recent changes of a one-line file with 201 findings: a wide score
        commit(repo, {"a.py": f"import {names}, x{index}\n", "b.py": f"x = {index}\n"}, f"change {index}")
    assert main(["history", str(repo), "--jobs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Hotspots"))
    header, rows = lines[start + 1], lines[start + 2 :]
    assert rows
    # Every column's header ends where its values end (right-aligned), and "path" starts
    # where the paths start.
    for name in ("score", "recent", "changes", "findings", "lines"):
        end = header.index(name) + len(name)
        for row in rows:
            assert row[end - 1] != " " and (end == len(row) or row[end] == " "), (name, header, row)
    for row in rows:
        assert row[header.index("path") :].strip() in ("a.py", "b.py"), (header, row)
