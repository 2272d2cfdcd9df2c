"""The pages' error boundary: an unexpected exception becomes one sentence with a reference on the page, and the
server log carries the full traceback under that same reference, so nobody sees server paths or code.

Streamlit's control flow (st.stop, st.rerun, st.switch_page) raises BaseExceptions (StopException and
RerunException from streamlit.runtime.scriptrunner) that `except Exception` never sees. A fragment that failed
has already shown its error and raises FragmentHandledException, which passes through as well. Errors outside a
page run (widget callbacks, fragment reruns) are Streamlit's to show, and .streamlit/config.toml sets
client.showErrorDetails to "none" so that it shows them without message or traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.navigation.page import StreamlitPage

log = logging.getLogger("mmdash.pages")


def run_page(page: StreamlitPage, environment: str) -> None:
    """Run the page that st.navigation chose, inside the boundary."""
    with boundary(page.title, environment):
        page.run()


@contextmanager
def boundary(page: str, environment: str) -> Iterator[None]:
    """Whatever fails inside, as one sentence here and a traceback in the log (logger mmdash.pages)."""
    try:
        yield
    except FragmentHandledException:
        raise
    except Exception as exc:
        reference = secrets.token_hex(4)  # short enough to read out, random so no two failures share one
        log.error("page %r failed in environment %r (reference %s)", page, environment, reference, exc_info=exc,
                  extra={"reference": reference, "page": page, "environment": environment})
        st.error(f"Something went wrong on this page and it stopped; the dashboard's log has the details under "
                 f"reference **{reference}**, so give that to whoever runs the dashboard.", icon=":material/error:")
