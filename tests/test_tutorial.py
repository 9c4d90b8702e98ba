"""docs/tutorial.ipynb runs from top to bottom, so that it cannot fall behind the code it teaches."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

TUTORIAL = REPO / "docs" / "tutorial.ipynb"


@pytest.mark.slow
def test_the_tutorial_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for module in ("ipykernel", "SALib", "ema_workbench"):
        pytest.importorskip(module)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook writes its results into a temporary folder
    notebook = nbformat.read(TUTORIAL, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "commit the notebook without outputs"
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "mean paired difference" in text and "mu_star" in text and "csto_monitors" in text
    assert any(p.name.startswith("bordersim-tutorial-") for p in tmp_path.iterdir())
