"""The study specs under studies/ load, and notebooks/quickstart.ipynb runs end to end.

The notebook is executed the way Jupyter would run it: nbclient starts the ``python3`` kernel
that ipykernel (a test extra) installs into this environment, the kernel's working directory is
notebooks/, and the notebook's parameters come from environment variables, set here to a small
study (few epochs, 2 seeds, the notebook's default runner with one worker process) in a temporary
store. The own-data notebook fits in the kernel itself (its arrays live only there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuning.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "studies").glob("*.yaml"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_studies_exist():
    names = {path.stem for path in SPECS}
    assert {"quickstart", "cells", "echo", "damped_sine", "addition", "two_sine", "cumsum",
            "tuning_axes"} <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_study_spec_loads(path: Path):
    spec = load_spec(path)
    assert spec.name == path.stem  # `tuning status <file stem>` finds the study
    header = path.read_text().split("\n", 1)[0]
    assert header.startswith("# "), "a spec starts with a comment saying what it reproduces"
    assert f"tuning run studies/{path.name}" in path.read_text(), "a spec names the command that runs it"


def test_study_names_are_unique():
    names = [load_spec(path).name for path in SPECS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_small(path: Path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert path.stat().st_size < 1_000_000
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "tuning.run_study(" in source and "tuning.load_results(" in source
    if path.stem not in ("quickstart", "own_data"):  # a tutorial notebook runs its own spec, which must exist
        (spec,) = re.findall(r'SPEC_FILE = "([^"]+)"', source)
        assert (ROOT / spec).is_file()


def _outputs(notebook) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # test extras: a missing one fails the test rather than skipping it
    import ipykernel  # noqa: F401
    import nbclient
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    # The python3 kernel must be found without `python -m ipykernel install --user`: a fresh
    # `pip install -e ".[test]"` is all CI does. ipykernel's wheel puts the spec under
    # sys.prefix, and jupyter_client runs its "python" with this interpreter (sys.executable).
    KernelSpecManager().get_kernel_spec("python3")  # NoSuchKernel if not

    store = tmp_path / "nb.db"
    monkeypatch.setenv("TUNING_NB_EPOCHS", "10")
    monkeypatch.setenv("TUNING_NB_SEEDS", "2")
    monkeypatch.setenv("TUNING_NB_STORAGE", str(store))
    monkeypatch.setenv("TUNING_NB_RUNNER", "auto")
    monkeypatch.setenv("TUNING_NB_JOBS", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")

    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError if any cell fails

    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "could_be_best" in html and "prob_best" in html and "skill_vs_baseline" in html, "the summary table is shown"
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "could be the best:" in text and "seeds needed:" in text, "the verdict is printed"
    assert "evidence" in html, "the diagnosis table is shown"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the seed box plot and the learning curves are shown"
    assert store.is_file(), "the study went to the store named by TUNING_NB_STORAGE"


@pytest.mark.slow
def test_own_data_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Arrays from memory, a Conv1D + LSTM + attention builder and an unchanged KerasTuner
    build(hp), each a study, and the best model refitted: the notebook of docs/own-data.md."""
    import nbclient
    import nbformat

    store = tmp_path / "own.db"
    monkeypatch.setenv("TUNING_NB_EPOCHS", "2")
    monkeypatch.setenv("TUNING_NB_SEEDS", "2")
    monkeypatch.setenv("TUNING_NB_STORAGE", str(store))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(ROOT / "notebooks" / "own_data.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()

    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "could be the best:" in text
    assert "(0, 0)" in text, "the second run of the builder study fitted nothing and reused nothing new"
    assert "dict_keys(['learning_rate', 'units'])" in text, "the space was read off build(hp)"
    assert "validation accuracy of the exported model" in text
    from tuning.store import Store

    assert set(Store(f"sqlite:///{store}").study_names()) == {"sensors_lstm", "sensors_attention", "sensors_kerastuner"}
