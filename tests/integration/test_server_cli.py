"""``ems serve`` as a process: options, and stdout carries nothing but protocol frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def parse_frames(data: bytes) -> list[dict[str, object]]:
    """Split stdout into LSP messages; anything else in it fails the test."""
    messages = []
    while data:
        header, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"stray bytes on stdout: {data[:200]!r}"
        assert header.startswith(b"Content-Length: "), f"stray bytes on stdout: {header[:200]!r}"
        fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


def test_serve_logs_to_the_log_file_and_speaks_only_lsp_on_stdout(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    stdin = b"".join(
        [
            frame(
                {
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": {}},
                }
            ),
            frame({"method": "initialized", "params": {}}),
            frame({"id": 2, "method": "shutdown", "params": None}),
            frame({"method": "exit", "params": None}),
        ]
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ems",
            "serve",
            "--stdio",
            "--log-file",
            str(log_file),
            "--log-level",
            "debug",
        ],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    messages = parse_frames(done.stdout)
    init = next(m for m in messages if m.get("id") == 1)
    assert init["result"]["serverInfo"]["name"] == "ems"  # type: ignore[index]
    assert any(m.get("id") == 2 for m in messages)
    text = log_file.read_text(encoding="utf-8")
    assert "ems language server starting" in text and "initialized" in text
