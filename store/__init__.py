"""Persistence for what people decide and do: an audit log and versioned documents.

A SQLite file by default, PostgreSQL by URL; see ``open_store``.
"""

from store.errors import ConflictError, StoreError, StoreUnavailable
from store.records import AuditEntry, Document
from store.store import Store, open_store

__all__ = [
    "AuditEntry",
    "ConflictError",
    "Document",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]
