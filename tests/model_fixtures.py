"""A tiny random causal LM with a real BPE tokenizer and a chat template, for tests that need a model.

``make_random_tiny_model(path, seed=0)`` saves, in well under two seconds, a 2-layer Qwen2ForCausalLM (hidden 64) whose
tokenizer is a byte-level BPE trained with ``tokenizers`` on a few hundred words, including the chat special tokens
``<|im_start|>``/``<|im_end|>`` and a Qwen-style chat template. Weights are random (fixed by ``seed``), so outputs are
gibberish, but deterministic: enough to test loading, batching, caching, adapters and fingerprints.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_WORDS = """
EU rejects German call to boycott British lamb . Peter Blackburn BRUSSELS 1996-08-22 The European Commission said on
Thursday it disagreed with German advice to consumers to shun British lamb until scientists determine whether mad cow
disease can be transmitted to sheep . Germany 's representative to the European Union 's veterinary committee Werner
Zwingmann said on Wednesday consumers should buy sheepmeat from countries other than Britain until the scientific
advice was clearer . Rare Hendrix song draft sells for almost $ 17,000 . China says Taiwan spoils atmosphere for talks .
Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria in a Group C championship match on
Friday . Nadim Ladki AL-AIN , United Arab Emirates 1996-12-06 . Recognize the named entities in the sentence . Mark
each entity with its label : person , organization , location , miscellaneous . PER ORG LOC MISC <PER> </PER> <ORG>
</ORG> <LOC> </LOC> <MISC> </MISC> [ ] { } " : , entity type text offset start end Input Output Sentence Answer
IL-2 gene expression and NF-kappa B activation through CD28 requires reactive oxygen production by 5-lipoxygenase .
protein DNA RNA cell_line cell_type Alice Bob Paris London Berlin Microsoft Google Reuters Monday Tuesday the a an of
in on at to from with by and or but is was are were be been has have had not no yes one two three four five six seven
eight nine ten @ # http www com said says told asked new old big small first last year week day time people world
"""


def _train_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer (``tokenizers``) wrapped as a ``PreTrainedTokenizerFast`` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [ln for ln in _WORDS.strip().splitlines() if ln.strip()]
    tok.train_from_iterator(lines * 3, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_random_tiny_model(path, seed: int = 0, *, chat_template: bool = True) -> Path:
    """Save a tiny random Qwen2ForCausalLM and its tokenizer to ``path``; returns ``Path(path)``.

    ``chat_template=False`` saves a tokenizer without a chat template (to test the plain-prompt fallback).
    Weights are saved as safetensors only.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    # Random init with std 0.02 makes logits nearly flat; a larger scale gives varied, length-dependent outputs
    # (and clear argmax margins), which is what the batching tests need to be meaningful.
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path
