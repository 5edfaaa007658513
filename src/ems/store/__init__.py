"""The project's memory: scans, findings, history and caches in one SQLite file.

Faces import from here only (``open_store``, ``Store`` and the record types). The names
are loaded on first use (PEP 562): ``ems check`` reads its result cache
(``ems.store.cache``) without importing the store's record types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ems.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from ems.store.db import (
        SCHEMA_VERSION,
        BlameLine,
        BlobAnalysis,
        CachedFinding,
        CommitRow,
        HistoryEvent,
        HistoryRun,
        Lifetime,
        Scan,
        ScanRecord,
        Store,
        StoreCorruptError,
        StoredFinding,
        StoreError,
        StoreLockedError,
        StoreSchemaError,
        default_store_path,
        open_store,
    )

__all__ = [
    "SCHEMA_VERSION",
    "BlameLine",
    "BlobAnalysis",
    "CachedFinding",
    "CommitRow",
    "HistoryEvent",
    "HistoryRun",
    "Lifetime",
    "Scan",
    "ScanRecord",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StoreSchemaError",
    "StoredFinding",
    "default_store_path",
    "open_store",
]

_HOMES = {
    "SCHEMA_VERSION": "ems.store.db",
    "BlameLine": "ems.store.db",
    "BlobAnalysis": "ems.store.db",
    "CachedFinding": "ems.store.db",
    "CommitRow": "ems.store.db",
    "HistoryEvent": "ems.store.db",
    "HistoryRun": "ems.store.db",
    "Lifetime": "ems.store.db",
    "Scan": "ems.store.db",
    "ScanRecord": "ems.store.db",
    "Store": "ems.store.db",
    "StoreCorruptError": "ems.store.db",
    "StoreError": "ems.store.db",
    "StoreLockedError": "ems.store.db",
    "StoreSchemaError": "ems.store.db",
    "StoredFinding": "ems.store.db",
    "default_store_path": "ems.store.db",
    "open_store": "ems.store.db",
}

__getattr__ = lazy_exports(__name__, _HOMES)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
