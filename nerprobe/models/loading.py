"""Loading a base model (+ LoRA adapter) and its tokenizer, after checking that they exist and fit together.

- dtype auto: bfloat16 on a GPU that supports it (float16 on an older GPU), float32 on CPU;
- device auto: CUDA when present, else CPU;
- safetensors only (``use_safetensors=True``), ``trust_remote_code`` off unless the spec asks for it;
- prompts use the tokenizer's own chat template; a tokenizer without one falls back to plain
  ``instruction\\ninput\\n`` prompting, and ``LoadedModel.prompt_style`` says which was used (for the manifest).

``check_spec`` raises a one-line ``NerprobeError`` for a missing model or adapter, or an adapter trained on another
base, before a single weight is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nerprobe.errors import NerprobeError
from nerprobe.models.fingerprint import ADAPTER_MANIFEST_NAMES, spec_fingerprints
from nerprobe.models.spec import ModelSpec, bad_value


def auto_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_dtype(device: str, dtype=None):
    """``dtype`` if given (a torch dtype or its name), else bf16 on a GPU that has it, fp16 on an older GPU, fp32 on CPU."""
    import torch

    if dtype is not None:
        if isinstance(dtype, str):
            try:
                return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}.get(dtype) or getattr(
                    torch, dtype
                )
            except AttributeError:
                raise bad_value("dtype", f"unknown dtype '{dtype}' (bf16, fp16, fp32)") from None
        return dtype
    if str(device).startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


# -- checks before loading ------------------------------------------------------------------------------------------
def _check_local_base(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise bad_value("model", f"{path} has no config.json (not a Hugging Face model directory)")
    if not any(path.glob("*.safetensors")):
        if any(path.glob("*.bin")) or any(path.glob("*.pt")):
            raise bad_value("model", f"{path} has only pickle weights (.bin); nerprobe loads safetensors only")
        raise bad_value("model", f"{path} has no .safetensors weights")


#: Seconds to wait for the hub when a model is not in the local cache: long enough for a working network, short
#: enough that an offline machine hears at once what to do (huggingface_hub would retry for ~30 s with warnings).
HUB_TIMEOUT_S = 1.0
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")


def hub_cached(repo_id: str, revision: str | None = None) -> bool:
    """Whether the local Hugging Face cache holds ``repo_id``'s config and safetensors weights (no network)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str)

    return cached("config.json") and any(cached(w) for w in _WEIGHT_FILES)


def _hub_offline() -> bool:
    import os

    from huggingface_hub import constants

    flags = (os.environ.get(v, "") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return bool(constants.HF_HUB_OFFLINE) or any(f.strip().lower() in ("1", "true", "yes", "on") for f in flags)


def _not_cached_message(repo_id: str, why: str) -> str:
    from huggingface_hub import constants

    return (f"{repo_id} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}: download it "
            f"where there is a network (`hf download {repo_id}`, then copy the cache or set HF_HOME), or pass a "
            "local model folder")


def _check_hub_base(spec: ModelSpec) -> None:
    """A hub id must be in the local cache (config and safetensors weights; nothing is fetched), or the hub must
    answer within ``HUB_TIMEOUT_S`` that the model exists. One line otherwise, in under two seconds, no retries."""
    if hub_cached(spec.base, spec.revision):
        return
    if _hub_offline():
        raise bad_value("model", _not_cached_message(spec.base, "the hub is off (HF_HUB_OFFLINE)"))
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(spec.base, revision=spec.revision, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        raise bad_value("model", f"{spec.base} is gated on the hub: accept its licence and log in "
                        "(`hf auth login`), or pass a local model folder") from None
    except RepositoryNotFoundError:
        raise bad_value("model", f"no model {spec.base} on the hub (nor in the local cache); check the id, or "
                        "pass a local model folder") from None
    except RevisionNotFoundError:
        raise bad_value("model", f"{spec.base} has no revision {spec.revision!r} on the hub") from None
    except Exception as err:  # noqa: BLE001 - no network, DNS, proxy, timeout: all mean "cannot reach the hub"
        raise bad_value("model", _not_cached_message(spec.base, f"the hub cannot be reached "
                                                     f"({type(err).__name__})")) from None


def local_only(name_or_path: str, revision: str | None = None) -> bool:
    """Whether loading ``name_or_path`` must not touch the network: a local folder, a hub id whose files are all
    cached, or the hub switched off. ``from_pretrained(..., local_files_only=...)`` then never retries."""
    if Path(name_or_path).expanduser().is_dir():
        return True
    return _hub_offline() or hub_cached(name_or_path, revision)


def _same_base(recorded: str, base: str) -> bool:
    """Whether an adapter's recorded ``base_model_name_or_path`` names ``base`` (same id, same path, or same final name)."""
    if recorded == base:
        return True
    r, b = Path(recorded).expanduser(), Path(base).expanduser()
    if r.exists() and b.exists():
        return r.resolve() == b.resolve()
    # a hub id recorded at training, the same model given as a local copy (or the reverse): compare the model name
    return r.name.lower() == b.name.lower() and bool(r.name)


def read_adapter_manifest(adapter: Path) -> dict | None:
    """nerprobe's own adapter manifest (written by training), or None when the adapter has none."""
    for name in ADAPTER_MANIFEST_NAMES:
        p = adapter / name
        if p.is_file():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                raise NerprobeError(f"{p}: adapter manifest is not valid JSON") from None
            if isinstance(data, dict):
                return data
    return None


def _check_adapter(spec: ModelSpec, base_fp: str) -> None:
    adapter = Path(spec.adapter).expanduser()
    if not adapter.is_dir():
        raise bad_value("adapter", f"adapter directory {spec.adapter} does not exist")
    config_path = adapter / "adapter_config.json"
    if not config_path.is_file():
        raise bad_value("adapter", f"{spec.adapter} has no adapter_config.json (not a PEFT adapter directory)")
    if not (adapter / "adapter_model.safetensors").is_file():
        raise bad_value("adapter", f"{spec.adapter} has no adapter_model.safetensors (safetensors only)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        raise NerprobeError(f"{config_path}: not valid JSON") from None
    manifest = read_adapter_manifest(adapter)
    recorded_fp = (manifest or {}).get("base_fingerprint")
    if recorded_fp:
        # nerprobe's manifest pins the exact base weights: stronger than a name, so it decides alone
        if recorded_fp.split(":")[-1] != base_fp.split(":")[-1]:
            raise bad_value("adapter", f"{spec.adapter} was trained on another base model "
                       f"(its base fingerprint {recorded_fp[:23]}…, {spec.base} has {base_fp[:23]}…)")
        return
    recorded = config.get("base_model_name_or_path")
    if recorded and not _same_base(str(recorded), spec.base):
        raise bad_value("adapter", f"{spec.adapter} was trained on {recorded}, not on the base model {spec.base}")


def check_spec(spec: ModelSpec) -> dict:
    """Check that base and adapter exist and fit together, reading no weights; returns ``spec_fingerprints(spec)``.

    Raises a one-line ``NerprobeError`` otherwise.
    """
    base = Path(spec.base).expanduser()
    if base.is_dir():
        _check_local_base(base)
    elif base.exists() or spec.base.startswith(("/", ".", "~")):
        raise bad_value("model", f"model directory {spec.base} does not exist")
    else:
        _check_hub_base(spec)
    if spec.adapter is not None and not Path(spec.adapter).expanduser().is_dir():
        raise bad_value("adapter", f"adapter directory {spec.adapter} does not exist")
    fps = spec_fingerprints(spec)
    if spec.adapter is not None:
        _check_adapter(spec, fps["base"])
    return fps


# -- loading --------------------------------------------------------------------------------------------------------
def load_tokenizer(spec_or_name, *, revision: str | None = None, trust_remote_code: bool = False):
    """The tokenizer of a base model, set up for batched generation: left padding, a pad token."""
    from transformers import AutoTokenizer

    name = spec_or_name.base if isinstance(spec_or_name, ModelSpec) else str(spec_or_name)
    if isinstance(spec_or_name, ModelSpec):
        revision, trust_remote_code = spec_or_name.revision, spec_or_name.trust_remote_code
    try:
        tok = AutoTokenizer.from_pretrained(name, revision=revision, trust_remote_code=trust_remote_code,
                                            local_files_only=local_only(name, revision))
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise bad_value("model", f"cannot load the tokenizer of {name} ({first})") from None
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base(name_or_path: str, *, device=None, dtype=None, revision=None, trust_remote_code=False):
    """Load a base model and its tokenizer; returns ``(model, tokenizer)`` with the model in eval mode on ``device``."""
    from transformers import AutoModelForCausalLM

    device = auto_device(device)
    dtype = auto_dtype(device, dtype)
    tokenizer = load_tokenizer(name_or_path, revision=revision, trust_remote_code=trust_remote_code)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            name_or_path,
            revision=revision,
            dtype=dtype,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            local_files_only=local_only(name_or_path, revision),
        )
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise bad_value("model", f"cannot load {name_or_path} ({first})") from None
    model.to(device)
    model.eval()
    return model, tokenizer


@dataclass
class LoadedModel:
    """A model ready for generation: weights, tokenizer, the spec it came from and its fingerprint.

    ``fingerprints`` holds the parts (``base``, ``adapter``, ``model``) for run manifests; ``prompt_style`` is
    ``"chat_template"`` or ``"plain"``. With ``load_model(..., lazy=True)`` the weights are read on first access of
    ``.model`` (so a fully cached run never loads them).
    """

    tokenizer: object
    spec: ModelSpec
    fingerprint: str
    device: str
    dtype: object
    fingerprints: dict = field(default_factory=dict)
    _model: object = None

    @property
    def model(self):
        """The (PEFT-wrapped when there is an adapter) model, loaded on first use when lazy."""
        if self._model is None:
            self._model = _load_weights(self.spec, self.device, self.dtype)
        return self._model

    @property
    def prompt_style(self) -> str:
        """``"chat_template"`` when the tokenizer has its own chat template, else ``"plain"``."""
        return "chat_template" if getattr(self.tokenizer, "chat_template", None) else "plain"

    def manifest(self) -> dict:
        """What a run manifest records about this model."""
        return {
            "spec": {
                "alias": self.spec.alias,
                "base": self.spec.base,
                "adapter": self.spec.adapter,
                "revision": self.spec.revision,
                "trust_remote_code": self.spec.trust_remote_code,
            },
            "fingerprint": self.fingerprint,
            "fingerprints": self.fingerprints,
            "device": self.device,
            "dtype": str(self.dtype).replace("torch.", ""),
            "prompt_style": self.prompt_style,
        }


def _load_weights(spec: ModelSpec, device: str, dtype):
    model, _ = load_base(
        spec.base, device=device, dtype=dtype, revision=spec.revision, trust_remote_code=spec.trust_remote_code
    )
    if spec.adapter is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, str(Path(spec.adapter).expanduser()))
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise bad_value("adapter", f"cannot load {spec.adapter} onto {spec.base} ({first})") from None
        model.eval()
    return model


def load_model(spec: ModelSpec, *, device=None, dtype=None, lazy: bool = False) -> LoadedModel:
    """Check ``spec`` (``check_spec``), then load tokenizer and weights (weights on first use when ``lazy``)."""
    fps = check_spec(spec)
    device = auto_device(device)
    dtype = auto_dtype(device, dtype)
    tokenizer = load_tokenizer(spec)
    loaded = LoadedModel(
        tokenizer=tokenizer, spec=spec, fingerprint=fps["model"], device=device, dtype=dtype, fingerprints=fps
    )
    if not lazy:
        loaded.model  # noqa: B018 - load now
    return loaded
