"""Once-only requests across replicas: a claim is a store document created by the first request that names a key
(a card button's nonce, a dialog's), so a second one, here or on another replica sharing the store, finds it
taken. A claim whose request failed is released, so the person can fix the form and send it again."""

from __future__ import annotations

from store import ConflictError, Store

CLAIMED, FAILED, DONE = "claimed", "failed", "done"


def claim(store: Store, kind: str, key: str, environment: str, *, actor: str) -> int | None:
    """Take the key; answers the claim's version (for ``settle``), or None when another request holds or used it."""
    try:
        return store.put(kind, key, environment, {"state": CLAIMED}, actor=actor, expected_version=None).version
    except ConflictError:
        document = store.get(kind, key, environment)
        if document is None or document.body.get("state") != FAILED:
            return None
        try:
            return store.put(kind, key, environment, {"state": CLAIMED}, actor=actor,
                             expected_version=document.version, audit=False).version
        except ConflictError:
            return None


def settle(store: Store, kind: str, key: str, environment: str, version: int, *, ok: bool, actor: str) -> None:
    """Mark the claimed request done, or failed (which frees the key for another try)."""
    store.put(kind, key, environment, {"state": DONE if ok else FAILED}, actor=actor, expected_version=version,
              audit=False)
