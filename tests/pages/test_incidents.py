"""AppTest for the incidents page on the demo: start, run and end an incident, its timeline, the feature switch;
the list of every incident, retrospectives, figures across incidents and the messages Mattermost refused."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from incidents import repository, retrospective
from settings import load_settings
from store import open_store
from tests.incidents.test_incident_metrics import Clock, record_incident
from tests.pages.conftest import APP
from tests.servers.streamlit_app import free_port
from ui import incidents_view
from ui.context import PageContext
from ui.incidents_view import incident_list


@pytest.fixture
def without_demo_history(monkeypatch):
    """The demo without its past incidents (demo/incidents_seed.py), for tests that need an empty history."""
    monkeypatch.setattr("demo.incidents_seed.seed_demo_incidents", lambda *_args: 0)


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


def test_timelines_show_our_incidents_and_the_playbooks_plugin_runs(without_demo_history, incidents_page):
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


# ------------------------------------------------------------------------ list, retrospective, metrics, outbox

def test_the_demo_opens_with_past_incidents_their_retrospectives_and_metrics(incidents_page, page_store):
    """A newcomer's demo has a history: the list, the retrospectives and the charts are filled."""
    past = repository.list_incidents(page_store, "production")
    assert past and not any(i.active for i in past)
    at = show(incidents_page, "All incidents")
    assert len(frame_with(at, "Playbook")) == len(past)
    at = show(at, "Retrospectives")
    assert len(at.selectbox(key="retro-incident").options) == len(past)
    assert any(a.value.strip() for a in at.text_area if a.key and a.key.startswith("retro-"))
    at = show(at, "Metrics")
    assert len(at.get("plotly_chart")) >= 3



TEAM_A, TEAM_B = "a" * 26, "b" * 26
COMMANDERS = ("c" * 26, "d" * 26, "e" * 26)
FIRST_DAY = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def page_store(tmp_path):
    """The store the app opens (MMDASH_SQLITE_PATH), for the tests to seed and to read behind the page's back."""
    opened = open_store(None, sqlite_path=tmp_path / "store.sqlite3")
    yield opened
    opened.close()


def frame_with(at: AppTest, column: str):
    """The one table with this column (AppTest does not expose a dataframe's key)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def seed_incidents(store, monkeypatch, count: int) -> list:
    """`count` past incidents, one every 6 hours from FIRST_DAY; every 5th one still active."""
    clock = Clock(FIRST_DAY)
    seeded = []
    with monkeypatch.context() as patched:
        patched.setattr("store.store.utc_now", clock)
        for n in range(count):
            seeded.append(record_incident(
                store, clock, FIRST_DAY + timedelta(hours=6 * n), [5 + n % 7, 10, 20], ended=n % 5 != 4,
                name=f"Past incident {n}", team_id=TEAM_A if n % 2 else TEAM_B, commander_id=COMMANDERS[n % 3],
                playbook_id="major-outage" if n % 4 else "security-incident"))
    return seeded


def test_the_list_of_500_incidents_builds_fast_and_filters(page_store, monkeypatch):
    incidents = seed_incidents(page_store, monkeypatch, 500)
    started = time.perf_counter()
    frame = incident_list(repository.list_incidents(page_store, "production"), {}, {}, {}, datetime.now(UTC))
    built = time.perf_counter() - started
    assert len(frame) == 500 and built < 1.0
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/incidents.py").run()
    started = time.perf_counter()
    show(at, "All incidents")
    rendered = time.perf_counter() - started
    print(f"\n500 incidents: list read and built in {built * 1000:.0f} ms; "
          f"the page's run took {rendered * 1000:.0f} ms")
    assert rendered < 3.0  # the whole app run (sidebar, navigation, this view) on a 2-CPU machine
    shown = frame_with(at, "Duration")
    assert len(shown) == 500 and shown.iloc[0]["Incident"] == "Past incident 499"  # newest first
    assert set(shown["Commander"]) == set(COMMANDERS)  # unknown to Mattermost: ids, not "@None"
    assert not any("show as ids" in c.value for c in at.caption)  # Mattermost answered; it just knows none

    at.segmented_control(key="list-state").set_value("Ended").run()
    ended = frame_with(at, "Duration")
    assert len(ended) == 400 and set(ended["State"]) == {"ended"}
    at.multiselect(key="list-teams").set_value([TEAM_A]).run()
    at.multiselect(key="list-commanders").set_value([COMMANDERS[0]]).run()
    narrowed = frame_with(at, "Duration")
    wanted = [i for i in incidents if not i.active and i.team_id == TEAM_A and i.commander_id == COMMANDERS[0]]
    assert sorted(narrowed["Incident"]) == sorted(i.name for i in wanted)
    at.multiselect(key="list-teams").set_value([]).run()
    at.multiselect(key="list-commanders").set_value([]).run()
    at.multiselect(key="list-playbooks").set_value(["security-incident"]).run()
    at.date_input(key="list-dates").set_value((FIRST_DAY.date(), FIRST_DAY.date() + timedelta(days=1))).run()
    days = frame_with(at, "Duration")
    # Days 1 and 2 hold incidents 0..7; the security ones are every 4th (0, 4); 4 is active, filtered out.
    assert list(days["Incident"]) == ["Past incident 0"]
    assert not at.exception, at.exception


def test_with_mattermost_unreachable_the_list_names_people_and_teams_by_id(page_store, monkeypatch):
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__TOKEN", "t" * 26)
    settings = load_settings()
    context = PageContext(settings, settings.environment("production"), None, page_store, "dana")
    incidents = seed_incidents(page_store, monkeypatch, 6)
    started = time.perf_counter()
    names, teams, problem = incidents_view.people_and_teams(context, incidents)
    assert (names, teams) == ({}, {}) and time.perf_counter() - started < 1.0
    assert "Could not read users" in problem
    frame = incident_list(incidents, names, teams, {}, datetime.now(UTC))
    assert set(frame["Commander"]) == set(COMMANDERS) and set(frame["Team"]) == {TEAM_A, TEAM_B}


def end_through_the_page(at: AppTest, name: str) -> AppTest:
    at = start(at, name)
    next(b for b in at.button if b.label == "End it now").click().run()
    assert not at.exception, at.exception
    return at


def test_a_retrospective_is_written_saved_and_never_overwrites_a_concurrent_edit(without_demo_history, incidents_page,
                                                                                 page_store):
    at = show(incidents_page, "Retrospectives")
    assert any("No incident has ended yet" in i.value for i in at.info)
    at = end_through_the_page(at, "Payments <b>slow</b>")
    show(at, "Retrospectives")
    assert any("Payments <b>slow</b>" in o for o in at.selectbox(key="retro-incident").options)
    areas = [a for a in at.text_area if a.key and a.key.startswith("retro-")]
    assert areas and areas[0].label
    areas[0].set_value("Card payments took 30 s <script>alert(1)</script>")
    next(b for b in at.button if b.label == "Save retrospective").click().run()
    assert not at.error, [e.value for e in at.error]
    incident = next(i for i in repository.list_incidents(page_store, "production") if not i.active)
    stored = page_store.get(retrospective.RETROSPECTIVE_KIND, incident.id, "production")
    assert stored.version == 1
    assert stored.body["sections"][0]["text"] == "Card payments took 30 s <script>alert(1)</script>"
    assert any("Last saved by" in c.value for c in at.caption)
    assert {"Time in each stage", "Checklist"} <= {h.value for h in at.subheader}
    assert {"Markdown", "HTML (printable)"} <= {b.label for b in at.get("download_button")}

    # Someone else saves in between: this page's next save is refused and its text stays in the form.
    theirs = retrospective.build(page_store, incident, [], None)
    retrospective.save(page_store, theirs, ["Their summary"] + [""] * (len(theirs.sections) - 1), actor="lee")
    areas = [a for a in at.text_area if a.key and a.key.startswith("retro-")]
    areas[0].set_value("My second thoughts")
    next(b for b in at.button if b.label == "Save retrospective").click().run()
    assert any("Someone else saved this retrospective" in e.value and "reload" in e.value for e in at.error)
    assert next(a for a in at.text_area if a.key and a.key.startswith("retro-")).value == "My second thoughts"
    assert page_store.get(retrospective.RETROSPECTIVE_KIND, incident.id, "production").body["sections"][0][
        "text"] == "Their summary"
    next(b for b in at.button if b.label.startswith("Reload")).click().run()
    assert next(a for a in at.text_area if a.key and a.key.startswith("retro-")).value == "Their summary"
    assert not at.error


def test_metrics_show_charts_across_incidents(page_store, monkeypatch):
    seed_incidents(page_store, monkeypatch, 40)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/incidents.py").run()
    show(at, "Metrics")
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(specs) == 4
    assert '"Incidents per month"' in specs[0] and '"2026-01"' in specs[0]
    assert "Time to acknowledge" in specs[1] and "Time to resolve" in specs[2]
    assert '"Triage"' in specs[3]
    table = frame_with(at, "Month")
    assert set(table["Month"]) == {"2026-01"} and table["Incidents"].sum() == 40
    assert any("Time to acknowledge: from the start" in c.value for c in at.caption)


def test_messages_mattermost_refused_for_good_are_shown_with_their_reason(page_store, monkeypatch):
    incident = seed_incidents(page_store, monkeypatch, 1)[0]
    repository.queue_message(page_store, "production", incident.id, message="We are back up.", actor="dana",
                             channel="ops/ops-alerts", status=repository.FAILED,
                             error="Mattermost refused the post: the channel is archived.")
    repository.queue_message(page_store, "production", incident.id, message="Still coming", actor="dana",
                             channel="ops/ops-alerts")
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/incidents.py").run()
    assert any("refused 1 channel message(s) for good" in w.value for w in at.warning)
    refused = frame_with(at, "Why")
    assert list(refused["Message"]) == ["We are back up."]
    assert refused.iloc[0]["Why"] == "Mattermost refused the post: the channel is archived."
    assert refused.iloc[0]["Incident"] == "Past incident 0"
