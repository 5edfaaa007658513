"""The language server shows recorded test failures at the raising line, and clears them.

End to end: ``ems test`` (a real pytest run in a subprocess) writes the store; the real
server, started over stdio, notices the run by itself and publishes ``ems-test``
diagnostics; hover and the "re-run this test" action work on them; a fix and a passing run
clear them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from sample_projects import child_env, ems, make_project, write
from server_fixtures import TIMEOUT, LspTestClient, change_document, open_document, running_server

APP = "def parse(value):\n    return int(value)\n"
TESTS = (
    "import pytest\n\nimport app\n\n\n"
    "@pytest.mark.parametrize('v', ['x', 'y'])\n"
    "def test_parse(v):\n"
    "    assert app.parse(v) == 0\n"
)


async def wait_until(
    client: LspTestClient, uri: str, check: Callable[[list[lsp.Diagnostic]], bool], timeout: float = TIMEOUT
) -> list[lsp.Diagnostic]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: list[lsp.Diagnostic] | None = None
    while loop.time() < deadline:
        for params in reversed(client.recorder.published):
            if params.uri == uri:
                last = list(params.diagnostics)
                if check(last):
                    return last
                break
        await asyncio.sleep(0.05)
    raise AssertionError(f"diagnostics for {uri} never matched; last: {last!r}")


def runtime(diagnostics: list[lsp.Diagnostic]) -> list[lsp.Diagnostic]:
    return [d for d in diagnostics if d.source == "ems-test"]


async def ems_test_async(root: Path) -> int:
    loop = asyncio.get_running_loop()
    done = await loop.run_in_executor(None, lambda: ems(root, "test", "--no-coverage", "-q"))
    return done.returncode


@pytest.mark.asyncio
async def test_failure_shown_at_raising_line_then_cleared_by_a_fix_and_a_passing_run(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", {"app.py": APP, "tests/test_app.py": TESTS})
    assert await ems_test_async(root) == 1
    async with running_server(root, env=child_env()) as client:
        uri = open_document(client, root / "app.py", APP)
        diagnostics = await wait_until(client, uri, lambda d: bool(runtime(d)))
        [diag] = runtime(diagnostics)
        assert diag.severity == lsp.DiagnosticSeverity.Error
        assert diag.range == lsp.Range(lsp.Position(1, 11), lsp.Position(1, 21))  # int(value)
        assert diag.message.startswith("ValueError: invalid literal for int() with base 10: ")
        assert "2 failing tests" in diag.message
        related = {
            (r.location.uri, r.location.range.start.line, r.message) for r in diag.related_information or []
        }
        test_uri = (root / "tests" / "test_app.py").as_uri()
        assert (test_uri, 7, "called from here: test_parse") in related
        assert (test_uri, 7, "failing test: tests/test_app.py::test_parse[x]") in related

        # The test file is not open: it gets its diagnostic at the test's calling line too.
        in_test = runtime(await wait_until(client, test_uri, lambda d: bool(runtime(d))))
        assert [d.range.start.line for d in in_test] == [7]
        assert "raised in app.py:2" in in_test[0].message

        hover = await client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(1, 12))
        )
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        assert "2 failing tests" in hover.contents.value and "**new**" in hover.contents.value
        assert "since run 1 (commit" in hover.contents.value

        actions = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                lsp.TextDocumentIdentifier(uri), diag.range, lsp.CodeActionContext(diagnostics=[diag])
            )
        )
        [rerun] = [a for a in actions or [] if isinstance(a, lsp.Command)]
        assert (rerun.title, rerun.command) == ("Re-run these 2 tests", "ems.rerunTest")
        result = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(rerun.command, rerun.arguments)
        )
        assert result["exitCode"] == 1 and [g["state"] for g in result["summary"]["groups"]] == ["ongoing"]

        # Fix the code and re-run from the editor: the diagnostic goes.
        fixed = "def parse(value):\n    return int(value) if value.isdigit() else 0\n"
        write(root, {"app.py": fixed})
        result = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(rerun.command, rerun.arguments)
        )
        assert result["exitCode"] == 0 and [g["state"] for g in result["summary"]["groups"]] == ["fixed"]
        await wait_until(client, uri, lambda d: not runtime(d))
        await wait_until(client, test_uri, lambda d: not runtime(d))

        # Break it again and run the suite outside the editor: the server notices on its own.
        broken = "def parse(value):\n\n    return int(value)\n"
        write(root, {"app.py": broken})
        assert await ems_test_async(root) == 1
        diagnostics = await wait_until(client, uri, lambda d: bool(runtime(d)))
        # The buffer still has the old text: the recorded line 3 is found by its text on line 2.
        assert runtime(diagnostics)[0].range.start.line == 1
        change_document(client, uri, [lsp.TextDocumentContentChangeWholeDocument(text=broken)])
        diagnostics = await wait_until(
            client, uri, lambda d: bool(runtime(d)) and runtime(d)[0].range.start.line == 2
        )
        hover = await client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(2, 12))
        )
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        assert "**regressed**" in hover.contents.value


@pytest.mark.asyncio
async def test_uncovered_lines_are_hints_only_when_asked(tmp_path: Path) -> None:
    app = "def used():\n    return 1\n\n\ndef unused():\n    return 2\n"
    root = make_project(
        tmp_path / "proj",
        {"app.py": app, "tests/test_a.py": "import app\n\ndef test_used():\n    assert app.used() == 1\n"},
    )
    assert ems(root, "test", "-q").returncode == 0
    async with running_server(root, env=child_env(), init_options={"coverageHints": True}) as client:
        uri = open_document(client, root / "app.py", app)
        diagnostics = await wait_until(client, uri, lambda d: any(x.source == "ems-coverage" for x in d))
        hints = [d for d in diagnostics if d.source == "ems-coverage"]
        assert [(d.range.start.line, d.severity) for d in hints] == [(5, lsp.DiagnosticSeverity.Hint)]
    async with running_server(root, env=child_env()) as client:
        uri = open_document(client, root / "app.py", app)
        await wait_until(client, uri, lambda d: True)
        await asyncio.sleep(2 * 1.0)  # two more polls of the store
        published = [p for p in client.recorder.published if p.uri == uri]
        assert published and not any(d.source == "ems-coverage" for p in published for d in p.diagnostics)


@pytest.mark.asyncio
async def test_a_captured_exception_is_an_ems_run_diagnostic(tmp_path: Path) -> None:
    script = "def main(order):\n    return {'a': 1}[order]\n\n\nmain('order-17')\n"
    root = make_project(tmp_path / "proj", {"job.py": script})
    assert ems(root, "run", "--", sys.executable, "job.py").returncode == 1
    async with running_server(root, env=child_env()) as client:
        uri = open_document(client, root / "job.py", script)
        diagnostics = await wait_until(client, uri, lambda d: any(x.source == "ems-run" for x in d))
        [diag] = [d for d in diagnostics if d.source == "ems-run"]
        assert diag.severity == lsp.DiagnosticSeverity.Error
        assert diag.range.start.line == 1 and diag.message.startswith("KeyError: <str>")
        related = [r.message for r in diag.related_information or []]
        assert related == ["called from here: <module>"]
