"""AppTest for the rollout page: every view on the demo, and the page without its store."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP


@pytest.fixture
def rollout_page():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/rollout.py").run()
    assert not at.exception, at.exception
    return at


def show(at: AppTest, view: str) -> AppTest:
    at.segmented_control(key="rollout_view").set_value(view).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_checklist_shows_progress_and_system_checks(rollout_page):
    at = rollout_page
    assert at.title[0].value == "Rollout · Demo production"
    labels = {m.label for m in at.metric}
    assert {"Done", "Verified by system", "Done but failing", "Overdue", "Without owner"} <= labels
    assert int(next(m.value for m in at.metric if m.label == "Verified by system")) > 0
    assert next(m.value for m in at.metric if m.label == "Done") != "0%"  # the demo's example progress
    assert any(e.label.startswith("Needs attention") for e in at.expander)
    assert sum(e.label[0].isdigit() for e in at.expander) == 16  # one per numbered section
    assert at.subheader[0].value == "Prepare for the roll-out"


def test_environments_side_by_side(rollout_page):
    at = show(rollout_page, "Environments")
    assert [s.value for s in at.subheader][:3] == ["Per section, percent done", "Per item", "Burn-up"]
    matrix = at.dataframe[0].value
    assert {"Demo production", "Demo staging", "Demo dev"} <= set(matrix.columns)
    assert len(matrix) == 16
    # Staging runs the degraded scenario, so the live checks tell the environments apart even with no progress.
    assert len(at.dataframe[1].value) > 0
    # The demo comes with six weeks of example progress, so the burn-up has a history to draw.
    burn_up = at.get("plotly_chart")[0].proto.spec
    assert '"Done"' in burn_up and '"Total scope"' in burn_up


def test_schedule_shows_a_gantt_of_every_task(rollout_page):
    at = show(rollout_page, "Schedule")
    assert {m.label for m in at.metric} >= {"Tasks", "Overdue", "Planned finish"}
    figure = at.get("plotly_chart")[0].proto.spec
    assert '"today"' in figure and "Write the system architecture document" in figure
    assert len(at.dataframe[0].value) == 14  # the data editor: one row per task


def test_team_and_sizing(rollout_page):
    at = show(rollout_page, "Team and sizing")
    assert [s.value for s in at.subheader][:2] == ["Team", "Hardware sizing"]
    assert "Project manager" in set(at.dataframe[0].value["Role"])
    at.number_input[0].set_value(5000).run()
    sizing = at.dataframe[1].value
    assert sizing.iloc[-1]["Component"] == "Total" and at.warning  # beyond the plan's table: extrapolated, said so


def test_review_meeting_page_and_its_sections(rollout_page):
    at = show(rollout_page, "Review meeting")
    assert {m.label for m in at.metric} >= {"Done", "Regressions", "Blockers", "Open findings"}
    headings = [m.value.split("\n")[0] for m in at.markdown if m.value.startswith("## ")]
    assert [h.split(" (")[0] for h in headings] == ["## Progress", "## Blockers", "## Usage", "## Performance trends",
                                                   "## Open health findings"]
    assert len(at.get("download_button")) == 3


def test_configuration_drift_between_staging_and_production(rollout_page):
    at = show(rollout_page, "Configuration drift")
    assert at.selectbox(key="drift-Left-env").value == "staging"
    compared = next(m for m in at.metric if m.label == "Settings compared")
    assert int(compared.value.replace(",", "")) > 300
    assert int(next(m.value for m in at.metric if m.label == "Drift")) > 0
    assert "********************************" not in at.dataframe[0].value.to_csv()


def test_without_its_store_the_page_says_so_and_still_shows_the_checklist(monkeypatch):
    monkeypatch.setenv("MMDASH_STORE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/rollout.py").run()
    assert not at.exception, at.exception
    assert any("store is unavailable" in w.value for w in at.warning)
    assert sum(e.label[0].isdigit() for e in at.expander) == 16
    show_schedule = at.segmented_control(key="rollout_view").set_value("Schedule").run()
    assert any("store is unavailable" in e.value for e in show_schedule.error)
