"""AppTest for the packet analysis page. AppTest cannot upload a file, so the page itself is checked without an
upload, and its analysis (everything it shows once a packet is uploaded) is run on real packets through
`render_analysis`; tests/e2e/test_packet_analysis_browser.py uploads one in a real browser."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from simulator.scenarios import build_scenario
from simulator.server_config import build_config
from simulator.support_packet import build_packet
from tests.pages.conftest import APP


def analysis(path, name) -> None:
    from ui.packet_analysis_view import render_analysis

    render_analysis(path, name)


def run_analysis(path: Path) -> AppTest:
    at = AppTest.from_function(analysis, args=(path, path.name), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def write_degraded_packet(path: Path) -> Path:
    """The degraded demo's HA packet (3 nodes), with a plugin panic and our form's problem time added."""
    scenario = build_scenario("degraded")
    data = build_packet(scenario, build_config(scenario))
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    # A plugin that panics and is restarted on one node, and the form of our own packets naming a problem time.
    panic = json.dumps({"timestamp": "2026-12-06 07:10:00.000 Z", "level": "error", "msg": "panic: nil map",
                        "caller": "plugin/hclog_adapter.go:79", "plugin_id": "com.mattermost.calls"})
    members["mm-1/mattermost.log"] += (panic + "\ngoroutine 9 [running]:\n").encode()
    members["summary.json"] = json.dumps({"form": {"started_at": "2026-12-06T07:00:00+00:00"}}).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members.items():
            target.writestr(name, content)
    return path


@pytest.fixture(scope="module")
def degraded_packet(tmp_path_factory) -> Path:
    return write_degraded_packet(tmp_path_factory.mktemp("packets") / "mm_support_packet_degraded.zip")


def test_without_an_upload_the_page_says_what_to_upload():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/packet_analysis.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Packet analysis"]
    text = " ".join(i.value for i in at.info)
    assert "System Console > Commercial Support > Download Support Packet" in text
    assert "mmctl system supportpacket" in text


def test_an_ha_packet_is_analysed(degraded_packet):
    at = run_analysis(degraded_packet)
    assert [h.value for h in at.header] == ["Health", "Nodes side by side"]
    labels = [t.label for t in at.tabs]
    assert labels[0] == "Logs" and any(label.startswith("Health findings (") for label in labels)
    subheaders = [s.value for s in at.subheader]
    assert subheaders == ["Errors and warnings over time", "Top warning and error messages",
                          "Plugin panics and restarts", "Lines around the problem time"]
    assert [m.label for m in at.metric][:4] == ["Server version", "Nodes", "Generated at (UTC)", "Members"]
    tables = [df.value for df in at.dataframe]
    nodes = next(t for t in tables if "Fact" in t.columns and "mm-1" in t.columns)
    assert list(nodes.columns) == ["Fact", "mm-1", "mm-2", "mm-3"]
    assert "Version" in set(nodes["Fact"])
    templates = next(t for t in tables if "Template" in t.columns)
    assert templates.iloc[0]["Template"] == "Unable to upload file"
    plugins = next(t for t in tables if "Panics" in t.columns)
    assert plugins.set_index("Plugin").loc["com.mattermost.calls", "Panics"] == 1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace["name"] for trace in spec["data"]} == {"mm-1", "mm-2", "mm-3"}
    # The problem time defaults to the form's, and each node's lines around it are shown.
    assert at.get("date_time_input") or at.get("datetime_input")
    codes = [c.value for c in at.code]
    assert len(codes) == 3 and all("▶ " in code for code in codes)


def test_a_zip_that_is_not_a_packet_is_one_sentence(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("holiday.jpg", b"\xff\xd8")
    at = run_analysis(path)
    assert len(at.error) == 1 and "not a Mattermost support packet" in at.error[0].value
    assert not at.header


def test_a_file_that_is_not_a_zip_is_one_sentence(tmp_path):
    path = tmp_path / "packet.zip"
    path.write_text("<html>502 Bad Gateway</html>")
    at = run_analysis(path)
    assert len(at.error) == 1 and "not a zip file" in at.error[0].value
