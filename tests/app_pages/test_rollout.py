"""AppTest for the rollout page: the checklist with progress and the live system's verdicts."""

from streamlit.testing.v1 import AppTest

from tests.app_pages.conftest import APP


def test_rollout_page_shows_progress_and_system_checks():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/rollout.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Rollout · Demo production"
    labels = {m.label for m in at.metric}
    assert {"Done", "Verified by system", "Done but failing", "Overdue", "Without owner"} <= labels
    assert int(next(m.value for m in at.metric if m.label == "Verified by system")) > 0
    assert len(at.expander) >= 10  # one per numbered section
    assert at.subheader[0].value == "Prepare for the roll-out"
