"""The pages' error boundary: an unexpected error is one sentence with a reference, the log has the traceback under
that reference, Streamlit's control flow passes untouched, and errors outside a page run show no traceback."""

import re
import tomllib
import traceback

import pytest
import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.runtime.scriptrunner import RerunData, RerunException, StopException
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP, ROOT
from ui.errors import boundary

REFERENCE = re.compile(r"reference \*\*([0-9a-f]{8})\*\*")
SERVER_PATH = str(ROOT)


def failing_summary(*_args, **_kwargs):
    raise RuntimeError(f"summary failed reading {SERVER_PATH}/checklists/rollout.yaml")


def test_a_page_that_raises_shows_one_sentence_and_the_log_has_the_traceback(monkeypatch, page_failures):
    monkeypatch.setattr("checklists.board.summarise", failing_summary)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/rollout.py").run()

    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Rollout · Demo production"]  # what ran before the error stays
    [error] = [e.value for e in at.error]
    assert error.startswith("Something went wrong on this page") and error.count(".") == 1
    reference = REFERENCE.search(error).group(1)
    assert SERVER_PATH not in error and "RuntimeError" not in error
    assert at.sidebar.selectbox(key="environment").value == "production"  # the rest of the app still works

    record = page_failures.pop()
    assert (record.name, record.levelname) == ("mmdash.pages", "ERROR")
    assert (record.reference, record.page, record.environment) == (reference, "Rollout", "production")
    assert reference in record.getMessage() and "'Rollout'" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
    assert "failing_summary" in "".join(traceback.format_exception(*record.exc_info))


def test_every_failure_gets_its_own_reference(monkeypatch, page_failures):
    monkeypatch.setattr("checklists.board.summarise", failing_summary)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/rollout.py").run()
    at.run()
    first, second = page_failures.pop(), page_failures.pop()
    assert first.reference != second.reference
    assert REFERENCE.search(at.error[0].value).group(1) == second.reference


@pytest.mark.parametrize("control", [StopException(), RerunException(RerunData()),
                                     FragmentHandledException(RuntimeError("shown by the fragment already"))])
def test_streamlit_control_flow_passes_through_untouched(control, page_failures):
    with pytest.raises(type(control)) as raised, boundary("Health", "production"):
        raise control
    assert raised.value is control
    assert not page_failures.records


def test_st_stop_rerun_and_switch_page_still_work_inside_a_page():
    def app():
        import streamlit as st

        from ui.errors import run_page

        def stops() -> None:
            st.write("before stop")
            st.stop()
            st.write("after stop")

        def reruns() -> None:
            st.session_state.runs = st.session_state.get("runs", 0) + 1
            if st.session_state.runs == 1:
                st.rerun()
            st.write(f"run {st.session_state.runs}")

        def switches() -> None:
            st.switch_page(target)

        def arrived() -> None:
            st.write("switched")

        target = st.Page(arrived, url_path="target")
        which = st.session_state.get("which", "stops")
        first = st.Page({"stops": stops, "reruns": reruns, "switches": switches}[which], default=True)
        run_page(st.navigation([first, target]), "production")

    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    assert [m.value for m in at.markdown] == ["before stop"]
    for which, shown in (("reruns", "run 2"), ("switches", "switched")):
        at.session_state["which"] = which
        at.run()
        assert [m.value for m in at.markdown] == [shown]
    assert not at.error and not at.exception


@pytest.fixture
def committed_error_details():
    """client.showErrorDetails as .streamlit/config.toml sets it for the served app, whatever this process read."""
    configured = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]["showErrorDetails"]
    before = st.get_option("client.showErrorDetails")
    st.set_option("client.showErrorDetails", configured)
    yield configured
    st.set_option("client.showErrorDetails", before)


def assert_no_details(at: AppTest) -> None:
    [shown] = at.exception
    assert shown.stack_trace == [] and not shown.proto.type
    assert "secret-host" not in shown.message and SERVER_PATH not in shown.message
    assert "RuntimeError" not in str(shown.proto)


def test_a_failing_callback_shows_no_traceback(committed_error_details):
    def app():
        import streamlit as st

        def fail() -> None:
            raise RuntimeError(f"callback failed on secret-host in {__file__}")

        st.button("Go", on_click=fail)

    assert committed_error_details == "none"
    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    at.button[0].click().run()
    assert_no_details(at)


def test_a_failing_fragment_shows_no_traceback_and_no_second_message(committed_error_details, page_failures):
    def app():
        import streamlit as st

        from ui.errors import run_page

        @st.fragment
        def panel() -> None:
            raise RuntimeError(f"fragment failed on secret-host in {__file__}")

        def page() -> None:
            st.write("page")
            panel()

        run_page(st.navigation([st.Page(page, title="Health")]), "production")

    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    assert_no_details(at)
    assert not at.error and not page_failures.records  # Streamlit showed and logged it: no second message
