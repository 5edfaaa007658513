"""The language server does not lint what `exclude` leaves out of a check (over stdio)."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_fixtures import open_document, running_server, wait_for_diagnostics

pytestmark = pytest.mark.asyncio


async def test_an_opened_file_that_exclude_leaves_out_gets_no_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F401"]\nextend-exclude = ["migrations"]\n')
    (tmp_path / "migrations").mkdir()
    async with running_server(
        tmp_path, init_options={"configurationPreference": "filesystemFirst"}
    ) as client:
        excluded = open_document(client, tmp_path / "migrations" / "m1.py", "import os\n")
        checked = open_document(client, tmp_path / "app.py", "import os\n")
        assert [d.code for d in await wait_for_diagnostics(client, checked, 1)] == ["F401"]
        assert await wait_for_diagnostics(client, excluded, 1) == []
        # a default exclusion too: a library's source reached by go-to-definition
        library = open_document(client, tmp_path / ".venv" / "lib" / "mod.py", "import os\n")
        assert await wait_for_diagnostics(client, library, 1) == []
