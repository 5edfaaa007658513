"""The server's stdin reader: a pipe (what editors give) is read on the event loop, anything
else in a thread as pygls does; broken framing ends the input either way."""

from __future__ import annotations

import os
from pathlib import Path

from ems.server.framing import FramedInput, LoopReader

MESSAGE = b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]"


async def read_all(reader: LoopReader) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(2):
        out += [await reader.readline(), await reader.readline()]
        out.append(await reader.readexactly(int(out[-2].split(b":")[1])))
    out.append(await reader.readline())  # the end of the input
    return out


EXPECTED = [b"Content-Length: 2\r\n", b"\r\n", b"{}", b"Content-Length: 3\r\n", b"\r\n", b"[1]", b""]


async def test_a_pipe_is_read_on_the_event_loop() -> None:
    read, write = os.pipe()
    os.write(write, MESSAGE)
    os.close(write)
    reader = LoopReader(FramedInput(os.fdopen(read, "rb")))
    assert await read_all(reader) == EXPECTED
    assert reader._stream is not None and not reader._threaded


async def test_a_regular_file_is_read_in_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(MESSAGE)
    with path.open("rb") as stream:
        reader = LoopReader(FramedInput(stream))
        assert await read_all(reader) == EXPECTED
        assert reader._threaded


async def test_a_header_block_without_a_length_ends_the_input() -> None:
    read, write = os.pipe()
    os.write(write, b"Content-Type: x\r\n\r\n{}")
    os.close(write)
    framed = FramedInput(os.fdopen(read, "rb"))
    reader = LoopReader(framed)
    assert await reader.readline() == b"Content-Type: x\r\n"
    assert await reader.readline() == b""
    assert framed.broken and await reader.readexactly(2) == b""
