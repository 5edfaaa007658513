"""Runtime errors as findings: the pytest plugin, captured exceptions, failure grouping.

Layers, so the plugin costs a test run almost nothing:

* ``model``, ``normalise``, ``extract`` — stdlib only: the plugin and ``capture`` (which run
  inside the user's process) import just these.
* ``grouping`` — pure functions: fingerprints, group states across runs, flaky tests.
* ``record``, ``runner``, ``capture`` — services that write the store (``ems.store.testruns``)
  and run pytest or a program; the CLI, the language server and the dashboard call them.
"""
