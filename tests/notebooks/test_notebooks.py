"""Every notebook runs top to bottom against the demo, in a real Jupyter kernel, and shows what it is for."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# What each notebook's outputs must show to prove it did its job, not merely ran; a new notebook needs an entry.
EXPECTED = {
    "health_snapshot.ipynb": ["'ok'", "Version"],
    "packet_analysis.ipynb": ["'v12, HA with 3 node folders'", "mm-1", "Unable to upload file", "Problem time:", "▶ "],
    "rollout_review.ipynb": ["# Review · Demo production", "## Progress", "## Blockers", "regression",
                             "overdue", "Mattermost server", "bytes"],
}


def test_every_notebook_has_expectations():
    assert sorted(EXPECTED) == [path.name for path in NOTEBOOKS]


def output_text(output: dict) -> str:
    """What a reader sees of one output: printed text, or a value's plain-text form."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return str(output.get("data", {}).get("text/plain", ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("MMDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MMDASH_SECRETS_FILE", str(tmp_path / "none.toml"))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = " ".join(output_text(o) for o in outputs)
    missing = [expected for expected in EXPECTED.get(path.name, []) if expected not in text]
    assert not missing, f"{path.name} did not show {missing}; its outputs were:\n{text[:3000]}"
