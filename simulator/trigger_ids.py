"""Trigger ids: what lets an integration open a dialog for the user who clicked its button or ran its command.

Follows server/public/model/integration_action.go GenerateTriggerId and DecodeAndVerifyTriggerId: the trigger id
is base64(StdEncoding) of "<client trigger id>:<user id>:<millis>:" followed by the base64 of an ECDSA signature
(SHA-256, ASN.1 DER) of that text, made with the server's asymmetric signing key (P-256). The client trigger id is
what the client is told; the signed trigger id is what the integration gets. A trigger id older than the timeout
(ServiceSettings.OutgoingIntegrationRequestsTimeout seconds in OpenInteractiveDialog) is refused.

The simulator makes a new key on every start, so trigger ids of an earlier run do not verify, as they would not on
a server whose key changed.
"""

from __future__ import annotations

import base64
import binascii
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from simulator import errors
from simulator.ids import random_id

_ECDSA = ec.ECDSA(hashes.SHA256())


def _error(suffix: str, message: str) -> errors.AppError:
    return errors.AppError(f"interactive_message.decode_trigger_id.{suffix}", message, 400)


class TriggerIds:
    """The signing key of one simulator run, with GenerateTriggerId and DecodeAndVerifyTriggerId."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def generate(self, user_id: str, at_ms: int | None = None) -> tuple[str, str]:
        """(client trigger id, trigger id). `at_ms` backdates the trigger id (tests of expiry only)."""
        client_trigger_id = random_id()
        millis = int(time.time() * 1000) if at_ms is None else at_ms
        data = f"{client_trigger_id}:{user_id}:{millis}:"
        signature = self._key.sign(data.encode(), _ECDSA)
        trigger_id = base64.b64encode((data + base64.b64encode(signature).decode()).encode()).decode()
        return client_trigger_id, trigger_id

    def verify(self, trigger_id: str, timeout_s: float) -> tuple[str, str]:
        """(client trigger id, user id) of a trigger id this key signed less than `timeout_s` ago; otherwise
        the AppError upstream answers, checked in upstream's order (format, expiry, then signature)."""
        try:
            decoded = base64.b64decode(trigger_id.encode(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise _error("base64_decode_failed", "Failed to decode base64 for trigger ID for interactive dialog.") \
                from None
        parts = decoded.split(":")
        if len(parts) != 4:
            raise _error("missing_data", "Trigger ID missing required data for interactive dialog.")
        client_trigger_id, user_id, stamp, encoded_signature = parts
        try:
            millis = int(stamp)  # strconv.ParseInt's error is ignored upstream: a bad stamp reads as 0
        except ValueError:
            millis = 0
        if time.time() * 1000 - millis > timeout_s * 1000:
            raise _error("expired", f"Trigger ID for interactive dialog is expired. Maximum TTL is {timeout_s:g}s.")
        try:
            signature = base64.b64decode(encoded_signature.encode(), validate=True)
        except (binascii.Error, ValueError):
            raise _error("base64_decode_failed_signature",
                         "Failed to decode base64 for signature of trigger ID for interactive dialog.") from None
        try:
            decode_dss_signature(signature)
        except ValueError:
            raise _error("signature_decode_failed",
                         "Failed to decode ASN.1 signature of trigger ID for interactive dialog.") from None
        try:
            self._key.public_key().verify(signature, f"{client_trigger_id}:{user_id}:{stamp}:".encode(), _ECDSA)
        except InvalidSignature:
            raise _error("verify_signature_failed",
                         "Signature verification failed of trigger ID for interactive dialog.") from None
        return client_trigger_id, user_id
