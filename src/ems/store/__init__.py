"""The project's memory: scans, findings, history and caches in one SQLite file.

Faces import from here only (``open_store``, ``Store`` and the record types).
"""

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
