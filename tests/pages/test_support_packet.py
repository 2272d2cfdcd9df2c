"""AppTest for the support packet page: form, generation with progress, review, download."""

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP


def open_packet_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/support_packet.py").run()
    assert not at.exception, at.exception
    return at


def test_the_form_refuses_what_is_wrong():
    at = open_packet_page()
    at.button(key="FormSubmitter:packet_form-Generate support packet").click().run()
    assert any("Describe the issue" in e.value for e in at.error)
    assert not at.get("download_button")


def test_generate_review_and_download_in_the_demo():
    at = open_packet_page()
    assert any("Packets generated" in c.value for c in at.caption)
    at.text_area[0].set_value("Uploads fail for everyone since 09:00")
    at.button(key="FormSubmitter:packet_form-Generate support packet").click().run()
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == ["Review before download"]
    assert at.get("download_button"), "no download offered"
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith("Redactions") for s in subheaders) and "Files" in subheaders
    at.switch_page("pages/support_packet.py").run()
    assert any("Packets generated for Demo production from this dashboard: 1" in c.value for c in at.caption)


def test_log_level_warning_and_change():
    at = open_packet_page()
    at.selectbox(key="environment").set_value("staging").run()
    at.switch_page("pages/support_packet.py").run()
    # The degraded demo logs at DEBUG already; production is at INFO.
    at.selectbox(key="environment").set_value("production").run()
    at.switch_page("pages/support_packet.py").run()
    assert any("Your support packet output will be limited until log level is changed" in w.value for w in at.warning)
    at.checkbox(key="confirm_debug").check().run()
    next(b for b in at.button if b.label == "Change log level to DEBUG").click().run()
    assert any("from INFO to DEBUG" in s.value for s in at.success)
    at.switch_page("pages/support_packet.py").run()
    assert any(b.label == "Restore log level INFO" for b in at.button)


def test_pseudonymised_packet_and_a_short_key_refused():
    at = open_packet_page()
    at.text_area[0].set_value("Logins fail")
    key_input = next(t for t in at.text_input if t.label.startswith("Pseudonymisation key"))
    key_input.set_value("short")
    at.button(key="FormSubmitter:packet_form-Generate support packet").click().run()
    assert any("at least 16 characters" in e.value for e in at.error)
    key_input = next(t for t in at.text_input if t.label.startswith("Pseudonymisation key"))
    key_input.set_value("a-long-enough-secret-key")
    at.button(key="FormSubmitter:packet_form-Generate support packet").click().run()
    assert not at.exception, at.exception
    assert at.get("download_button")
