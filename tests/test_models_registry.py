"""Model specs: shipped aliases, user overrides, local paths, hub ids, one-line errors."""

from __future__ import annotations

import pytest

from nerprobe.errors import NerprobeError
from nerprobe.models.registry import load_aliases, resolve


@pytest.fixture(autouse=True)
def no_user_aliases(tmp_path, monkeypatch):
    monkeypatch.delenv("NERPROBE_ALIASES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_shipped_aliases_name_the_study_models():
    spec = resolve("qwen")
    assert (spec.base, spec.adapter, spec.alias) == ("Qwen/Qwen2.5-7B-Instruct", None, "qwen")
    assert resolve("llama").base == "meta-llama/Llama-3.1-8B-Instruct"
    assert resolve("gemma").base == "google/gemma-2-9b-it"
    assert resolve("granite").base == "ibm-granite/granite-3.1-8b-instruct"
    assert {"tiny", "tiny-base"} <= set(load_aliases())
    assert not resolve("qwen").trust_remote_code


def test_user_file_overrides_and_bundles_an_adapter(tmp_path, monkeypatch):
    user = tmp_path / "aliases.toml"
    user.write_text(
        '[qwen]\nbase = "/models/qwen-local"\n\n'
        '[qwen-ner]\nbase = "Qwen/Qwen2.5-7B-Instruct"\nadapter = "/adapters/qwen-conll"\nrevision = "abc123"\n'
    )
    monkeypatch.setenv("NERPROBE_ALIASES", str(user))
    assert resolve("qwen").base == "/models/qwen-local"
    spec = resolve("qwen-ner")
    assert (spec.base, spec.adapter, spec.revision) == ("Qwen/Qwen2.5-7B-Instruct", "/adapters/qwen-conll", "abc123")
    # an explicit --adapter replaces the bundled one
    assert resolve("qwen-ner", "/other").adapter == "/other"
    assert resolve("llama").base == "meta-llama/Llama-3.1-8B-Instruct"  # shipped ones stay


def test_user_file_in_xdg_config(tmp_path):
    d = tmp_path / "config" / "nerprobe"
    d.mkdir(parents=True)
    (d / "aliases.toml").write_text('[mine]\nbase = "org/my-model"\n')
    assert resolve("mine").base == "org/my-model"


def test_bad_user_file_is_one_line(tmp_path, monkeypatch):
    user = tmp_path / "aliases.toml"
    user.write_text("[broken]\nadapter = 'x'\n")
    monkeypatch.setenv("NERPROBE_ALIASES", str(user))
    with pytest.raises(NerprobeError, match="needs a table with a 'base' key"):
        resolve("qwen")
    monkeypatch.setenv("NERPROBE_ALIASES", str(tmp_path / "missing.toml"))
    with pytest.raises(NerprobeError, match="does not exist"):
        resolve("qwen")


def test_local_paths_and_hub_ids(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    assert resolve(str(d)).base == str(d.resolve())
    assert resolve("org/some-model", "/a").base == "org/some-model"
    with pytest.raises(NerprobeError, match="does not exist"):
        resolve(str(tmp_path / "nope"))
    with pytest.raises(NerprobeError, match="not an alias"):
        resolve("qwne")
