"""Identifiers shaped like Mattermost's own, so clients that check lengths or alphabets accept them."""

from __future__ import annotations

import hashlib
import json
import random
import secrets

# Mattermost ids (model.NewId) are 26 characters of this base32 alphabet.
ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
ID_LENGTH = 26


def new_id(rng: random.Random) -> str:
    """A deterministic id: scenarios must produce the same data on every start."""
    return "".join(rng.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def valid_id(value: str) -> bool:
    """model.IsValidId: 26 letters or digits."""
    return len(value) == ID_LENGTH and value.isalnum()


def random_id() -> str:
    """A non-deterministic id for things that must not be guessable (sessions, request ids)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def md5_hex(value: object) -> str:
    """Hash of a JSON-able value; Mattermost uses md5 hex digests for config and client-config hashes."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
