"""The Python API: run_study, study_status and load_results, with the store named or by default.

One tiny real study (tenths, 2 configs x 2 seeds, 2 epochs) run once for the module, through
``$TUNING_STORAGE``: the API honours it as the CLI does.
"""

from __future__ import annotations

import pytest

import tuning
from tuning.errors import SpecError, StoreError
from tuning.store import Store, default_storage, open_store

pytestmark = pytest.mark.slow  # one real (tiny) study for the module

SPEC = {"name": "api", "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 2, "batch_size": 5},
        "space": {"units": [1, 2]}, "sampler": "grid", "repeats": 2}


@pytest.fixture(scope="module")
def env_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "env.db"
    url = f"sqlite:///{db}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNING_STORAGE", url)
        outcome = tuning.run_study(dict(SPEC))  # the spec names no storage
        yield url, outcome


def test_run_study_without_a_storage_uses_tuning_storage(env_store):
    url, outcome = env_store
    assert outcome.storage == url and outcome.complete == 2 and outcome.fits_run == 4
    assert Store(url, create=False).study_names() == ["api"]


def test_status_and_results_by_default_store_by_url_and_by_open_store(env_store, monkeypatch):
    url, _ = env_store
    monkeypatch.setenv("TUNING_STORAGE", url)
    by_default = tuning.study_status("api")
    store = open_store(url)
    by_store = tuning.study_status("api", store)
    assert by_default["storage"] == by_store["storage"] == url
    assert by_default["complete"] == 2 and by_default["remaining"] == 0 and by_default["fits"] == 4
    assert [t["number"] for t in by_default["best"]] == [t["number"] for t in by_store["best"]]
    assert any(line.startswith("could be the best") for line in by_store["verdict"].lines)
    results = tuning.load_results("api", store)
    assert results.storage == url and len(results.fits) == 4 and len(results.trials) == 2
    assert tuning.load_results("api").fits["config_key"].tolist() == results.fits["config_key"].tolist()


def test_an_explicit_storage_beats_the_variable(env_store, monkeypatch, tmp_path):
    url, _ = env_store
    monkeypatch.setenv("TUNING_STORAGE", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert default_storage(url) == url and default_storage() != url
    assert tuning.study_status("api", url)["complete"] == 2


def test_unknown_study_is_one_line_naming_the_store_and_its_studies(env_store):
    url, _ = env_store
    with pytest.raises(StoreError) as caught:
        tuning.study_status("nope", url)
    assert str(caught.value) == f"{url}: no study named 'nope' (studies: api)"
    with pytest.raises(StoreError, match="no study named 'nope'"):
        tuning.load_results("nope", url)


def test_missing_store_is_reported_not_created(tmp_path):
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no such store"):
        tuning.study_status("api", f"sqlite:///{missing}")
    assert not missing.exists()


def test_a_bad_margin_names_the_keyword_given(env_store):
    url, _ = env_store
    with pytest.raises(SpecError, match="^margin: ") as refused:  # Python's keyword; the CLI says --margin
        tuning.study_status("api", url, margin="lots")
    assert "--margin" not in str(refused.value)
    assert tuning.study_status("api", url, margin="10%")["verdict"].lines
