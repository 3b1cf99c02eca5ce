"""Chat templates: how a user prompt (and a system prompt) becomes the text a model reads.

``resolve_template(spec, tokenizer)`` gives a ``ChatTemplate`` for ``--template``:

- ``None`` or ``"model"``: the tokenizer's own chat template (None when the tokenizer has none: plain prompting);
- a built-in name: ``llama3``, ``qwen``, ``alpaca``, ``default``, written as LLaMA-Factory's templates of those names
  encode one user turn (``data/template.py``: prefix, then the system slot with the given or default system prompt,
  then the user slot), so that a model tuned with ``llamafactory-cli --template llama3`` is prompted as it was trained;
- a path to a Jinja file (Hugging Face ``chat_template`` syntax: ``messages``, ``add_generation_prompt``,
  ``bos_token``, ``eos_token``).

A template renders with ``ChatTemplate.render(messages, tokenizer=...)``; ``messages_for(prompt, system)`` builds the
messages of one request. ``ChatTemplate.manifest()`` is what manifests record (name, source, sha256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from nerprobe.errors import InputError

# LLaMA-Factory's single-turn encodings, as Jinja. ``sys`` is the system message if the messages start with one,
# else the template's default system prompt (LLaMA-Factory: ``system or template.default_system``).
_HEAD = (
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set sys = messages[0]['content'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set sys = default_system -%}{%- set turns = messages -%}{%- endif -%}"
)
_LOOP_END = "{%- endfor -%}"

BUILTIN_TEMPLATES: dict[str, dict] = {
    "llama3": {
        "default_system": "",
        "bos_token": "<|begin_of_text|>",
        "eos_token": "<|eot_id|>",
        "jinja": _HEAD + "{{ bos_token }}"
        "{%- if sys -%}{{ '<|start_header_id|>system<|end_header_id|>\\n\\n' + sys + '<|eot_id|>' }}{%- endif -%}"
        "{%- for m in turns -%}"
        "{%- if m['role'] == 'user' -%}{{ '<|start_header_id|>user<|end_header_id|>\\n\\n' + m['content'] + "
        "'<|eot_id|>' }}"
        "{%- if loop.last and add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
        "{%- elif not loop.last -%}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif -%}"
        "{%- else -%}{{ m['content'] + '<|eot_id|>' }}{%- endif -%}" + _LOOP_END,
    },
    "qwen": {
        "default_system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        "bos_token": "",
        "eos_token": "<|im_end|>",
        "jinja": _HEAD +
        "{%- if sys -%}{{ '<|im_start|>system\\n' + sys + '<|im_end|>\\n' }}{%- endif -%}"
        "{%- for m in turns -%}"
        "{%- if m['role'] == 'user' -%}{{ '<|im_start|>user\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{%- if add_generation_prompt or not loop.last -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
        "{%- else -%}{{ m['content'] + '<|im_end|>\\n' }}{%- endif -%}" + _LOOP_END,
    },
    "alpaca": {
        "default_system": "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n",
        "bos_token": "",
        "eos_token": "</s>",
        "jinja": _HEAD + "{%- if sys -%}{{ sys }}{%- endif -%}"
        "{%- for m in turns -%}"
        "{%- if m['role'] == 'user' -%}{{ '### Instruction:\\n' + m['content'] + '\\n\\n' }}"
        "{%- if add_generation_prompt or not loop.last -%}{{ '### Response:\\n' }}{%- endif -%}"
        "{%- else -%}{{ m['content'] + eos_token + '\\n\\n' }}{%- endif -%}" + _LOOP_END,
    },
    "default": {
        "default_system": "",
        "bos_token": "",
        "eos_token": "</s>",
        "jinja": _HEAD + "{%- if sys -%}{{ 'System: ' + sys + eos_token + '\\n' }}{%- endif -%}"
        "{%- for m in turns -%}"
        "{%- if m['role'] == 'user' -%}{{ 'Human: ' + m['content'] + eos_token }}"
        "{%- if add_generation_prompt or not loop.last -%}{{ '\\nAssistant:' }}{%- endif -%}"
        "{%- else -%}{{ m['content'] + eos_token + '\\n' }}{%- endif -%}" + _LOOP_END,
    },
}
MODEL_TEMPLATE = "model"
"""``--template model``: the tokenizer's own chat template (the default)."""


def messages_for(prompt: str, system: str | None = None) -> list[dict]:
    """The chat messages of one request: the system prompt (when given) and the user prompt."""
    head = [{"role": "system", "content": system}] if system is not None else []
    return head + [{"role": "user", "content": prompt}]


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template: ``name`` (built-in name, file name or ``model``), ``source`` (``builtin``, the file's path or
    ``tokenizer``), the Jinja ``text``, and for built-ins the default system prompt and special-token texts."""

    name: str
    source: str
    text: str
    default_system: str = ""
    bos_token: str = ""
    eos_token: str = ""

    @property
    def sha256(self) -> str:
        """``sha256:<hex>`` of the template text (manifests, cache keys)."""
        return "sha256:" + hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def manifest(self) -> dict:
        """What a manifest records: name, source, the text's sha256 and the default system prompt."""
        return {"name": self.name, "source": self.source, "sha256": self.sha256, "default_system": self.default_system}

    def render(self, messages: list[dict], *, tokenizer=None, add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages``; ``bos_token``/``eos_token`` are the tokenizer's (as LLaMA-Factory fills its
        ``{"bos_token"}``/``{"eos_token"}`` slots), else the template's own.

        A template that fails to render raises ``InputError`` (field ``template``) naming it."""
        from jinja2.exceptions import TemplateError

        bos = getattr(tokenizer, "bos_token", None) or self.bos_token
        eos = getattr(tokenizer, "eos_token", None) or self.eos_token
        try:
            return _compile(self.text).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                              bos_token=bos or "", eos_token=eos or "",
                                              default_system=self.default_system)
        except TemplateError as err:
            raise InputError(None, None, f"chat template {self.name} does not render: {err}",
                             field="template") from None


_COMPILED: dict[str, object] = {}


def _compile(text: str):
    """The Jinja template of ``text``, compiled once, in the sandbox transformers uses for chat templates."""
    if text not in _COMPILED:
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message):
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        _COMPILED[text] = env.from_string(text)
    return _COMPILED[text]


def builtin_template(name: str) -> ChatTemplate:
    """The built-in template ``name`` (``InputError`` with field ``template`` for an unknown one)."""
    entry = BUILTIN_TEMPLATES.get(name)
    if entry is None:
        raise InputError(None, None, f"unknown chat template {name!r} (built-in: {', '.join(BUILTIN_TEMPLATES)}, "
                         f"{MODEL_TEMPLATE}; or a Jinja file)", field="template")
    return ChatTemplate(name, "builtin", entry["jinja"], entry["default_system"], entry["bos_token"],
                        entry["eos_token"])


def resolve_template(spec: str | None, tokenizer=None) -> ChatTemplate | None:
    """The ``ChatTemplate`` that ``--template`` names (see the module docstring); None for the model's own template
    when the tokenizer has none (plain prompting). ``InputError`` (field ``template``) for an unknown name, a file that
    cannot be read or a template that does not compile."""
    if spec is None or spec == MODEL_TEMPLATE:
        text = getattr(tokenizer, "chat_template", None)
        return ChatTemplate(MODEL_TEMPLATE, "tokenizer", text) if isinstance(text, str) and text else None
    if spec in BUILTIN_TEMPLATES or spec == "empty":
        if spec == "empty":
            return ChatTemplate("empty", "builtin", _HEAD + "{%- for m in turns -%}{{ m['content'] }}" + _LOOP_END)
        return builtin_template(spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        return builtin_template(spec)  # not a file either: the unknown-name error lists the built-ins
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(str(path), None, f"cannot read the chat template: {err}", field="template") from None
    from jinja2.exceptions import TemplateSyntaxError

    try:
        _compile(text)
    except TemplateSyntaxError as err:
        raise InputError(str(path), err.lineno, f"not a Jinja template: {err.message}", field="template") from None
    return ChatTemplate(path.name, str(path), text)


def render_request(template: ChatTemplate | None, prompt: str, system: str | None = None, tokenizer=None) -> str:
    """The text a model reads for one user ``prompt``: through ``template`` (with ``system``), or, without a
    template, the plain ``prompt + "\\n"`` (a system prompt then goes first, on its own line)."""
    if template is None:
        return (f"{system}\n" if system else "") + prompt + "\n"
    return template.render(messages_for(prompt, system), tokenizer=tokenizer)


def training_texts(template: ChatTemplate | None, prompt: str, response: str, system: str | None = None,
                   tokenizer=None) -> tuple[str, str]:
    """``(prompt text, full text)`` of one SFT example as the model reads it: the prompt through ``template`` (with
    the generation prompt), and the whole conversation with the response closed as the template closes an assistant
    turn (llama3 ``<|eot_id|>``, qwen ``<|im_end|>\\n``, alpaca ``eos\\n\\n``). The loss goes on the part after the
    prompt text. Without a template: ``prompt + "\\n"`` and ``prompt + "\\n" + response``."""
    head = render_request(template, prompt, system, tokenizer)
    if template is None:
        return head, head + response
    full = template.render(messages_for(prompt, system) + [{"role": "assistant", "content": response}],
                           tokenizer=tokenizer, add_generation_prompt=False)
    if not full.startswith(head):
        raise InputError(None, None, f"chat template {template.name}: the conversation does not start with the "
                         "prompt as rendered for generation", field="template")
    return head, full


def _jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal (ASCII, escapes that Jinja's lexer reads back to ``text``)."""
    import json

    return json.dumps(text, ensure_ascii=True)


def tokenizer_chat_template(template: ChatTemplate | None, system: str | None, tokenizer_template: str | None) -> str:
    """A Jinja text for ``tokenizer.chat_template`` with which ``tokenizer.apply_chat_template`` on a user turn
    (and an assistant turn) writes exactly what nerprobe prompts with: ``render_request(template, prompt, system)``
    and, for training, ``training_texts``'s full text. So training code that renders through the tokenizer (the SFT
    encoder) trains on the prompts that generation will use.

    ``template`` None keeps the tokenizer's own template (``tokenizer_template``, which must exist) and only adds the
    system prompt. The built-ins' default system prompt and special-token texts are set inside the Jinja text (the
    tokenizer's own bos/eos win, as in ``ChatTemplate.render``); ``system`` goes first when the messages bring no
    system turn of their own."""
    if template is None:
        if not tokenizer_template:
            raise InputError(None, None, "--system needs a chat template and the model has none: pass --template "
                             "(llama3, qwen, alpaca, default or a Jinja file)", field="template")
        head, body = "", tokenizer_template
    else:
        head = (f"{{%- set default_system = {_jinja_literal(template.default_system)} -%}}"
                f"{{%- if not bos_token -%}}{{%- set bos_token = {_jinja_literal(template.bos_token)} -%}}{{%- endif -%}}"
                f"{{%- if not eos_token -%}}{{%- set eos_token = {_jinja_literal(template.eos_token)} -%}}{{%- endif -%}}")
        body = template.text
    if system is not None:
        head += ("{%- if not (messages and messages[0]['role'] == 'system') -%}"
                 f"{{%- set messages = [{{'role': 'system', 'content': {_jinja_literal(system)}}}] + messages -%}}"
                 "{%- endif -%}")
    return head + body
