"""AppTest for the incidents page on the demo: start, run and end an incident, its timeline, the feature switch."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP


@pytest.fixture
def incidents_page():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/incidents.py").run()
    assert not at.exception, at.exception
    return at


def show(at: AppTest, view: str) -> AppTest:
    at.segmented_control(key="incidents_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


def start(at: AppTest, name: str) -> AppTest:
    show(at, "Start")
    at.selectbox(key="start-playbook").set_value("major-outage").run()
    at.text_input[0].set_value(name)
    at.button[0].click().run()  # the form's "Start incident"
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return show(at, "Active")


def test_start_check_move_and_end_an_incident(incidents_page):
    at = start(incidents_page, "Checkout is down")
    active = at.dataframe[0].value
    assert list(active["Incident"]) == ["Checkout is down"]
    assert active.iloc[0]["Commander"] == "@sysadmin" and active.iloc[0]["Stage"].startswith("1/4 Triage")
    assert active.iloc[0]["Channel"].startswith("http://127.0.0.1")

    first_item = next(box for box in at.checkbox if box.label.startswith("1. "))
    first_item.check().run()
    assert next(box for box in at.checkbox if box.label.startswith("1. ")).value is True
    assert next(m for m in at.metric if m.label == "Checklist (this stage)").value.startswith("1/")

    at.selectbox(key=next(s.key for s in at.selectbox if s.key and s.key.startswith("stage-"))).set_value(
        "Mitigate").run()
    next(b for b in at.button if b.label == "Change stage").click().run()
    assert at.dataframe[0].value.iloc[0]["Stage"].startswith("2/4 Mitigate")
    events = at.dataframe[1].value
    assert {"incident_started", "item_checked", "stage_changed"} <= set(events["type"])

    next(b for b in at.button if b.label == "End it now").click().run()
    assert any("No active incidents" in i.value for i in at.info)


def test_timelines_show_our_incidents_and_the_playbooks_plugin_runs(incidents_page):
    at = start(incidents_page, "Search is slow")
    show(at, "Timelines")
    options = at.selectbox(key="timeline-incident").options
    assert any("Search is slow" in o and "dashboard" in o for o in options)
    assert any("playbooks plugin" in o for o in options)  # the simulator carries the plugin's runs
    assert at.selectbox(key="timeline-incident").value is not None
    assert {m.label for m in at.metric} >= {"Total duration (ongoing)", "To first check"}
    assert '"incident_started"' in at.get("plotly_chart")[0].proto.spec
    at.text_input(key="incident-search").set_value("search slow").run()
    assert all("Search is slow" in o for o in at.selectbox(key="timeline-incident").options)


def test_playbooks_view_lists_the_playbooks_as_code(incidents_page):
    at = show(incidents_page, "Playbooks")
    assert any(e.label.startswith("Major outage") for e in at.expander)


def test_turning_incidents_off_hides_them_and_on_again_shows_everything(incidents_page):
    at = start(incidents_page, "Disk almost full")
    at.toggle(key="feature-incidents").set_value(False).run()
    assert not at.exception, at.exception
    at.switch_page("pages/health.py").run()
    with pytest.raises(Exception):  # noqa: B017 (the page is no longer in the navigation)
        at.switch_page("pages/incidents.py").run()
    at.toggle(key="feature-incidents").set_value(True).run()
    at.switch_page("pages/incidents.py").run()
    assert list(at.dataframe[0].value["Incident"]) == ["Disk almost full"]
