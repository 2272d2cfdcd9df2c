"""AppTest for app.py: the demo signs in by itself; a configured server shows only a sign-in first."""

import json

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP

PAGES = ["pages/health.py", "pages/support_packet.py", "pages/rollout.py", "pages/incidents.py",
         "pages/fleet.py"]


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_demo_signs_in_and_says_so():
    at = run_app()
    assert any("Demo mode" in info.value for info in at.info)
    assert at.title[0].value == "Health · Demo production"
    assert [s.label for s in at.selectbox] == ["Environment"]


def test_every_page_renders_without_exception_and_keeps_the_demo_banner():
    at = run_app()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
        assert any("Demo mode" in info.value for info in at.info), page


def test_health_page_shows_kpis_tables_and_charts():
    at = run_app()
    assert "Score" in [m.label for m in at.metric]  # the default view, from the stored snapshot
    show(at, "Usage")  # the licence, usage tiles and charts need the live facts: their own view
    labels = [m.label for m in at.metric]
    for label in ("Version", "Edition", "License days left", "Users", "DAU / MAU", "Posts", "Teams", "Channels"):
        assert label in labels
    values = {m.label: m.value for m in at.metric}
    assert values["Version"][0].isdigit()
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    titles = {chart["layout"]["title"]["text"] for chart in charts}
    # The third is read from the demo's Mattermost database (demo/database.py): posts by weekday and hour.
    peak = {t for t in titles if t.startswith("Peak usage: posts by weekday and hour, last 7 days")}
    assert titles - peak == {"Posts per day", "Active users per day (users who posted)"} and len(peak) == 1
    assert all(chart["data"][0]["y"] for chart in charts)
    show(at, "Server, plugins and jobs")
    assert len(at.dataframe) == 5  # server, license, plugins, cluster nodes, jobs
    show(at, "Findings")
    assert any(e.label.startswith("Platform") for e in at.expander)
    assert any("Collected" in s.value and "Mattermost API" in s.value for s in at.success)


def show(at: AppTest, section: str) -> None:
    at.segmented_control(key="health_section").set_value(section).run()
    assert not at.exception, at.exception


def test_switching_to_the_degraded_demo_environment_shows_its_problems():
    at = run_app()
    at.selectbox(key="environment").set_value("staging").run()
    assert not at.exception
    assert at.title[0].value == "Health · Demo staging"
    show(at, "Usage")
    values = {m.label: m for m in at.metric}
    assert int(values["License days left"].value) <= 30
    show(at, "Server, plugins and jobs")
    warnings = " ".join(w.value for w in at.warning)
    assert "different configuration hashes" in warnings


def configure(monkeypatch, url: str, token: str | None = None):
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", url)
    if token:
        monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__TOKEN", token)


def test_configured_server_shows_only_a_sign_in(monkeypatch, simulator):
    configure(monkeypatch, simulator.url)
    at = run_app()
    assert at.title[0].value == "Sign in"
    assert not at.metric and not at.get("plotly_chart")
    assert not any("Demo mode" in info.value for info in at.info)


def test_sign_in_with_an_admin_token_opens_the_dashboard(monkeypatch, simulator):
    configure(monkeypatch, simulator.url)
    at = run_app()
    at.text_input[0].set_value(simulator.admin_token)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Health · Production"
    assert at.metric  # collected with the visitor's own token, since no service token is configured


def test_signing_out_shows_the_sign_in_and_is_audited(monkeypatch, simulator, tmp_path):
    from store import open_store

    configure(monkeypatch, simulator.url)
    at = run_app()
    at.text_input[0].set_value(simulator.admin_token)
    at.button[0].click().run()
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Sign in"
    with open_store(None, sqlite_path=tmp_path / "store.sqlite3") as store:
        signed = [e.action for e in store.audit(environment="production", actor=simulator.admin_username)
                  if e.action in ("sign_in", "sign_out")]
    assert signed == ["sign_out", "sign_in"]


def test_sign_in_refuses_a_non_admin_and_a_wrong_token(monkeypatch, simulator):
    configure(monkeypatch, simulator.url)
    at = run_app()
    at.text_input[0].set_value(simulator.user_token)
    at.button[0].click().run()
    assert at.title[0].value == "Sign in"
    assert "not a system admin" in at.error[0].value
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert "rejected the token" in at.error[0].value


def test_sign_in_with_username_and_password(monkeypatch, simulator):
    configure(monkeypatch, simulator.url, token=simulator.admin_token)
    at = run_app()
    at.text_input[1].set_value(simulator.admin_username)
    at.text_input[2].set_value("wrong password")
    at.button[1].click().run()
    assert "refused the sign-in" in at.error[0].value
    at.text_input[2].set_value(simulator.admin_password)
    at.button[1].click().run()
    assert at.title[0].value == "Health · Production"


def run_with_single_sign_on(monkeypatch, simulator, tmp_path, email: str) -> AppTest:
    """The app with an [auth] section, for a visitor the identity provider vouched for as `email`."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[environments.production.mattermost]\nurl = "{simulator.url}"\ntoken = "{simulator.admin_token}"\n'
        '[auth]\nredirect_uri = "http://127.0.0.1/oauth2callback"\ncookie_secret = "x"\n', encoding="utf-8")
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(secrets))
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    return at


def test_oidc_identity_must_be_a_mattermost_admin(monkeypatch, simulator, tmp_path):
    at = run_with_single_sign_on(monkeypatch, simulator, tmp_path, simulator.admin_email)
    assert not at.exception, at.exception
    assert at.title[0].value == "Health · Production"


def test_a_failing_server_is_one_sentence_and_the_page_keeps_working(monkeypatch, simulator):
    configure(monkeypatch, simulator.url, token=simulator.admin_token)
    at = run_app()
    at.text_input[0].set_value(simulator.admin_token)
    at.button[0].click().run()
    simulator.faults.set("*", status=502)
    next(b for b in at.button if b.label == "Collect now").click().run()
    assert not at.exception
    assert at.title[0].value == "Health · Production"
    [line] = [e.value for e in at.error if "Mattermost API" in e.value]
    assert "HTTP 502" in line
    assert "Version" not in [m.label for m in at.metric]
    assert "Nothing to show until the Mattermost API answers" in " ".join(i.value for i in at.info)


def test_malformed_settings_name_the_setting(monkeypatch):
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", "chat.example.com")
    at = run_app()
    assert "not usable" in at.error[0].value
    assert any("MMDASH_PRODUCTION__MATTERMOST__URL" in md.value for md in at.markdown)


def test_a_link_names_its_environment():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["env"] = "staging"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Health · Demo staging"
    at.selectbox(key="environment").set_value("production").run()
    assert at.query_params["env"] == "production"


def test_settings_changes_take_effect_without_a_restart(monkeypatch, simulator):
    at = run_app()
    assert at.title[0].value == "Health · Demo production"
    monkeypatch.setenv("MMDASH_PRODUCTION__MATTERMOST__URL", simulator.url)
    at.run()
    assert at.title[0].value == "Sign in"


def test_oidc_identity_that_is_not_an_admin_is_refused(monkeypatch, simulator, tmp_path):
    at = run_with_single_sign_on(monkeypatch, simulator, tmp_path, simulator.user_email)
    assert at.title[0].value == "Sign in"
    assert "not a system admin" in at.error[0].value


def test_database_panels_with_a_real_mattermost_database(monkeypatch, simulator, postgres_server):
    import psycopg

    from tests.servers.mattermost_schema import build_mattermost_database

    name = postgres_server.create_database()
    dsn = postgres_server.url(name).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        build_mattermost_database(conn, posts=3000)
    configure(monkeypatch, simulator.url, token=simulator.admin_token)
    monkeypatch.setenv("MMDASH_PRODUCTION__DATABASE__DSN", dsn)
    at = run_app()
    at.text_input[0].set_value(simulator.admin_token)
    at.button[0].click().run()
    assert not at.exception, at.exception
    show(at, "Usage")
    labels = [m.label for m in at.metric]
    assert {"Public channels", "Direct chats", "Group chats"} <= set(labels)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Peak usage") for t in titles)
    show(at, "Database")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Database connections by state") for t in titles)
    assert any("Collected" in s.value and "Mattermost database" in s.value for s in at.success)


def test_metrics_panels_with_a_real_prometheus(monkeypatch, prometheus_server, prometheus_simulator):
    configure(monkeypatch, prometheus_simulator.url, token=prometheus_simulator.admin_token)
    settings = prometheus_server.settings()
    monkeypatch.setenv("MMDASH_PRODUCTION__PROMETHEUS__URL", settings.url)
    monkeypatch.setenv("MMDASH_PRODUCTION__PROMETHEUS__USERNAME", settings.username)
    monkeypatch.setenv("MMDASH_PRODUCTION__PROMETHEUS__PASSWORD", settings.password.get_secret_value())
    at = run_app()
    at.text_input[0].set_value(prometheus_simulator.admin_token)
    at.button[0].click().run()
    assert not at.exception, at.exception
    show(at, "Metrics")

    def chart_titles():
        return {json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")}

    assert {"CPU", "Resident memory", "Goroutines", "File descriptors used"} <= chart_titles()
    traces = next(json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")
                  if json.loads(c.proto.spec)["layout"]["title"]["text"] == "CPU")
    assert len(traces) == 2  # one line per node
    at.selectbox(key="metrics_group").set_value("Latency").run()
    assert {"API latency p50", "API latency p99"} <= chart_titles()
    at.segmented_control(key="metrics_range").set_value("7 days").run()
    assert not at.exception, at.exception
    assert any("UTC, one point every" in c.value for c in at.caption)
