"""The Streamlit face: ``ems dashboard`` serves ``app.py``; pages render store queries.

No analysis and no report assembly here: pages call services (``ems.runtime``,
``ems.gitinfo``, ``ems.fixes``, ``ems.store.queries``) and turn their results into widgets.
Importing this package imports no Streamlit (the CLI needs only ``security`` and ``launch``).
"""
