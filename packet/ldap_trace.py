"""An LDAP trace for the packet: the connection, bind and searches the LDAP collector makes, as ldap3 logs them.

Support asks for it when LDAP sign-in or sync fails. ldap3 hides passwords itself (hide_sensitive_data); the
trace then goes through the packet's redaction and leak gate like every other file.
"""

from __future__ import annotations

import io
import logging
import threading

import ldap3.utils.log as ldap3_log

from collectors import ldap
from collectors.runner import run_async
from settings import LdapSettings

_TRACE_LOCK = threading.Lock()  # ldap3's log settings are process-wide: one trace at a time


def ldap_trace(settings: LdapSettings) -> bytes:
    """Run the LDAP collector once with protocol logging on; returns the log and the collector's verdict."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("ldap3")
    with _TRACE_LOCK:
        previous = (logger.level, ldap3_log.get_library_log_detail_level(),
                    ldap3_log.get_library_log_hide_sensitive_data(), logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        ldap3_log.set_library_log_hide_sensitive_data(True)
        ldap3_log.set_library_log_detail_level(ldap3_log.PROTOCOL)
        try:
            result = run_async(ldap.collect(settings, None))
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous[0])
            ldap3_log.set_library_log_detail_level(previous[1])
            ldap3_log.set_library_log_hide_sensitive_data(previous[2])
            logger.propagate = previous[3]
    verdict = f"\nresult: {result.status.value}" + (f": {result.error}" if result.error else "") + "\n"
    return (buffer.getvalue() + verdict).encode()
