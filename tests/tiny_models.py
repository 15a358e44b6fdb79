"""A tiny BERT saved with ``save_pretrained``, built by hand for offline tests (no downloads).

One token per character (WordLevel), BERT normaliser and pre-tokenizer, ``[CLS] $A [SEP]`` around each
text, 32 hidden dims. Weights come from ``torch.manual_seed(0)`` inside a forked RNG, so building one
leaves the global torch RNG untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def save_tiny_bert(
    folder: Path,
    tokens: Iterable[str],
    *,
    specials: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]"),
    max_len: int = 64,
    layers: int = 2,
    pooling_layer: bool = False,
    **config: float,
) -> dict[str, int]:
    """Write a tiny BERT (model + fast tokenizer) into ``folder``; return its vocabulary.

    Args:
        folder: where to save.
        tokens: the vocabulary after the special tokens, in order (usually single characters).
        specials: the special tokens, first in the vocabulary (``[PAD]`` = 0).
        max_len: the tokenizer's ``model_max_length``.
        layers: number of transformer layers.
        pooling_layer: whether the BertModel has its pooler.
        **config: extra BertConfig fields (e.g. ``initializer_range``).
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([*specials, *tokens])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        **({"mask_token": "[MASK]"} if "[MASK]" in specials else {}),
        model_max_length=max_len,
    )
    bert_config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
        **config,
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        BertModel(bert_config, add_pooling_layer=pooling_layer).save_pretrained(folder)
    fast.save_pretrained(folder)
    return vocab
