"""Loading checks (before any weight is read), dtype/prompt style, and fingerprints."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from model_fixtures import make_random_tiny_model
from nerprobe.errors import NerprobeError
from nerprobe.models import fingerprint as fpmod
from nerprobe.models.loading import check_spec, load_model
from nerprobe.models.registry import ModelSpec, resolve


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NERPROBE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    a = make_random_tiny_model(root / "a", seed=0)
    b = make_random_tiny_model(root / "b", seed=1)
    plain = make_random_tiny_model(root / "plain", seed=0, chat_template=False)
    return a, b, plain


def make_adapter(base, out, *, manifest_fp=None):
    """A real PEFT LoRA adapter saved from ``base`` (random B so it changes outputs)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(out, safe_serialization=True)
    if manifest_fp is not None:
        (out / "nerprobe_adapter.json").write_text(json.dumps({"base_fingerprint": manifest_fp}))
    return out


def test_load_cpu_fp32_with_chat_template(models):
    a, _, plain = models
    loaded = load_model(resolve(str(a)))
    assert loaded.device == "cpu" and loaded.dtype == torch.float32
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.prompt_style == "chat_template"
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.manifest()["fingerprints"]["base"].startswith("sha256:")
    assert load_model(resolve(str(plain)), lazy=True).prompt_style == "plain"


def test_missing_model_and_adapter_are_one_line(models, tmp_path):
    a, _, _ = models
    with pytest.raises(NerprobeError, match="does not exist"):
        check_spec(ModelSpec(base=str(tmp_path / "nope")))
    with pytest.raises(NerprobeError, match="adapter directory .* does not exist"):
        check_spec(ModelSpec(base=str(a), adapter=str(tmp_path / "no-adapter")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NerprobeError, match="no adapter_config.json"):
        check_spec(ModelSpec(base=str(a), adapter=str(empty)))
    with pytest.raises(NerprobeError, match="no config.json"):
        check_spec(ModelSpec(base=str(empty)))


def test_pickle_only_model_is_refused(models, tmp_path):
    a, _, _ = models
    d = tmp_path / "pickled"
    shutil.copytree(a, d)
    (d / "model.safetensors").rename(d / "pytorch_model.bin")
    with pytest.raises(NerprobeError, match="safetensors only"):
        check_spec(ModelSpec(base=str(d)))


def test_adapter_for_another_base_is_refused_before_weights_load(models, tmp_path, monkeypatch):
    a, b, _ = models
    adapter = make_adapter(a, tmp_path / "adapter")
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(a)
    check_spec(ModelSpec(base=str(a), adapter=str(adapter)))  # fits
    import transformers

    def boom(*args, **kwargs):
        raise AssertionError("weights were loaded before the check")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", boom)
    with pytest.raises(NerprobeError, match="was trained on .*/a, not on the base model .*/b"):
        load_model(ModelSpec(base=str(b), adapter=str(adapter)))


def test_adapter_manifest_fingerprint_decides(models, tmp_path):
    a, b, _ = models
    fp_a = fpmod.base_fingerprint(str(a))
    # a copy of base a at another path: the name differs, the fingerprint in nerprobe's manifest matches
    copy = tmp_path / "a-moved"
    shutil.copytree(a, copy)
    adapter = make_adapter(a, tmp_path / "adapter", manifest_fp=fp_a)
    check_spec(ModelSpec(base=str(copy), adapter=str(adapter)))
    # base b carries a's directory name but other weights: the manifest refuses it
    impostor = tmp_path / "x" / "a"
    shutil.copytree(b, impostor)
    with pytest.raises(NerprobeError, match="trained on another base model"):
        check_spec(ModelSpec(base=str(impostor), adapter=str(adapter)))


def test_adapter_changes_outputs_and_fingerprint(models, tmp_path):
    a, _, _ = models
    adapter = make_adapter(a, tmp_path / "adapter")
    base = load_model(ModelSpec(base=str(a)))
    tuned = load_model(ModelSpec(base=str(a), adapter=str(adapter)))
    assert base.fingerprint != tuned.fingerprint
    ids = base.tokenizer("EU rejects German call", return_tensors="pt")
    with torch.no_grad():
        assert not torch.allclose(base.model(**ids).logits, tuned.model(**ids).logits)


def test_fingerprint_follows_content_not_path(models, tmp_path):
    a, b, _ = models
    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    assert fpmod.base_fingerprint(str(copy)) == fpmod.base_fingerprint(str(a))
    assert fpmod.base_fingerprint(str(b)) != fpmod.base_fingerprint(str(a))
    (copy / "README.md").write_text("notes")  # not a model file
    assert fpmod.base_fingerprint(str(copy)) == fpmod.base_fingerprint(str(a))
    cfg = json.loads((copy / "config.json").read_text())
    cfg["rope_theta"] = 1234.0
    (copy / "config.json").write_text(json.dumps(cfg))
    assert fpmod.base_fingerprint(str(copy)) != fpmod.base_fingerprint(str(a))
    assert fpmod.base_fingerprint("org/model", "v1") == "hub:org/model@v1"


def test_file_digests_are_cached_by_size_and_mtime(models, tmp_path, monkeypatch):
    a, _, _ = models
    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    first = fpmod.directory_fingerprint(copy)
    calls = []
    real = fpmod.hashlib.file_digest
    monkeypatch.setattr(fpmod.hashlib, "file_digest", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert fpmod.directory_fingerprint(copy) == first and calls == []  # nothing re-hashed
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert fpmod.directory_fingerprint(copy) != first and len(calls) == 1  # only the changed file


# -- hub ids: the local cache first, one line in under two seconds when the model is not there -------------------
def _fake_hub_cache(root, repo_id, model_dir):
    """A Hugging Face hub cache holding ``model_dir``'s files as the snapshot of ``repo_id`` at main."""
    org, name = repo_id.split("/")
    repo = root / f"models--{org}--{name}"
    snap = repo / "snapshots" / ("0" * 40)
    shutil.copytree(model_dir, snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    return root


def test_hub_id_not_cached_offline_fails_fast_in_one_line(tmp_path, monkeypatch):
    import time

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(NerprobeError) as err:
        check_spec(ModelSpec("someorg/not-here"))
    assert time.perf_counter() - t0 < 2
    msg = str(err.value)
    assert "\n" not in msg and "someorg/not-here is not in the local Hugging Face cache" in msg
    assert "hf download someorg/not-here" in msg and "local model folder" in msg


def test_hub_id_not_cached_without_network_fails_fast(tmp_path, monkeypatch):
    """Online but with the hub unreachable (a closed port): one line, no retries, within the hub timeout."""
    import time

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    t0 = time.perf_counter()
    with pytest.raises(NerprobeError, match="cannot be reached") as err:
        check_spec(ModelSpec("someorg/not-here"))
    assert time.perf_counter() - t0 < 2 and "\n" not in str(err.value)


def test_cached_hub_id_loads_without_network(models, tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = _fake_hub_cache(tmp_path / "hub", "tinyorg/tiny", models[0])
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model(ModelSpec("tinyorg/tiny"), device="cpu", dtype="fp32")
    assert loaded.model is not None and loaded.fingerprint
