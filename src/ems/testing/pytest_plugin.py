"""The ``ems`` pytest plugin's entry point (group ``pytest11``): inert unless asked for.

pytest imports this module in every session once ems is installed, so it holds one hook
that returns at once unless the session was started with ``-p ems`` (on the command line,
in ``addopts`` or ``PYTEST_ADDOPTS``) or by ``ems test``, which passes ``-p ems`` itself. Only
then is the recorder (``ems.testing.recorder``) imported and registered: no option, hook
wrapper or output is added to anyone else's run.
"""

from __future__ import annotations

from typing import Any

PLUGIN_NAME = "ems"
RECORDER_NAME = "ems-recorder"
# Between ``ems test`` and the plugin (here so ``ems test`` need not import pytest):
ENV_OUTPUT = "EMS_PYTEST_OUTPUT"  # a private folder, read once by the controller
REPORT_FILE = "report.json"  # the session, written there by the controller
COVERAGE_RC = "coveragerc"  # there when coverage is measured (xdist workers read it)


def enabled(config: Any) -> bool:
    return PLUGIN_NAME in (getattr(config.option, "plugins", None) or ())


def pytest_configure(config: Any) -> None:
    if not enabled(config) or config.pluginmanager.has_plugin(RECORDER_NAME):
        return
    from ems.testing.recorder import Recorder

    config.pluginmanager.register(Recorder(config), RECORDER_NAME)
