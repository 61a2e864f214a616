"""A tiny random Llama-3.2-Vision (Mllama) checkpoint, built locally, that learns from images on a CPU.

It is written to disk in the layout of a real `meta-llama/Llama-3.2-11B-Vision-Instruct` directory, so the
code under test loads it through the very path the 11B takes (`MllamaForConditionalGeneration` and
`MllamaProcessor.from_pretrained`). The build recipe (init scale 0.1, cross-attention gates
2.0, global vision gates pi/4, a wide lm_head) was measured to learn on 2 CPU cores: at transformers' default init the image barely moves the answer logits and LoRA cannot fix that.

    python -c "from ecg_core.model.tiny import build_tiny_mllama; build_tiny_mllama('tiny', corpus=['MI'])"
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GenerationConfig,
    MllamaConfig,
    MllamaForConditionalGeneration,
    MllamaImageProcessorPil,
    MllamaProcessor,
    PreTrainedTokenizerFast,
)

BOS, EOS, EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"
PAD, IMAGE = "<|finetune_right_pad_id|>", "<|image|>"
# Llama 3 order (128000, 128001, 128004, 128006, 128007, 128009, 128010): after the BPE vocabulary, with
# `<|image|>` last so that its id equals the text vocabulary size, as in the real checkpoint.
SPECIAL_TOKENS = [BOS, EOS, PAD, "<|start_header_id|>", "<|end_header_id|>", EOT, "<|python_tag|>"]

# The 11B's image normalisation (OpenAI CLIP statistics), not the processor class defaults.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Llama 3's pre-tokenizer split: keeps "\n\n" apart from the word after it, so an answer's tokens do not
# depend on the header before it.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The message part of Llama-3.2-11B-Vision-Instruct's chat template, which writes message text as given
# (no trimming). It renders image conversations character for character as the real one (a test compares
# them); the real one's tool-calling branches and its dated system prompt for text-only chats are left out.
CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system = messages[0]['content'] if messages[0]['content'] is string"
    " else messages[0]['content'][0]['text'] %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system | trim + '<|eot_id|>' }}"
    "{%- set messages = messages[1:] %}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for content in message['content'] %}"
    "{%- if content['type'] == 'image' %}{{- '<|image|>' }}"
    "{%- elif content['type'] == 'text' %}{{- content['text'] }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def train_tokenizer(corpus: list[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Byte-level BPE with Llama 3's split and special tokens, trained on `corpus` and the template words.

    Training on the questions and answers makes each class code one or two tokens, which the tiny model
    needs to learn in minutes.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    template_text = "\n\n".join(["user", "assistant", "system", ""])  # what the chat template writes
    tok.train_from_iterator([*corpus, template_text], trainer=trainer)
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.add_special_tokens([IMAGE])
    # Like Llama 3: plain encode() prepends BOS; chat-template text already has it (encode it without specials).
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, tok.token_to_id(BOS))]),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOT, pad_token=PAD, model_max_length=2048
    )


def tiny_config(tokenizer: PreTrainedTokenizerFast, image_size: int) -> MllamaConfig:
    """Mllama shapes small enough for 2 CPU cores, with the notes' init scale (0.1 instead of 0.02).

    Text vocabulary = every token but <|image|>: lm_head never predicts the image token, and the
    embedding table holds vocab_size + 8 rows, exactly like the 11B (128256 text tokens, image 128256).
    """
    ids = tokenizer.convert_tokens_to_ids
    vision = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_global_layers=1,
        attention_heads=4,
        image_size=image_size,
        patch_size=14,
        max_num_tiles=1,
        supported_aspect_ratios=[[1, 1]],
        intermediate_layers_indices=[0, 1],
        vision_output_dim=64 * 3,  # last hidden state + the 2 intermediate layers, concatenated
        initializer_range=0.1,
    )
    text = dict(
        vocab_size=ids(IMAGE),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        cross_attention_layers=[1],
        max_position_embeddings=2048,
        initializer_range=0.1,
        bos_token_id=ids(BOS),
        eos_token_id=[ids(EOS), ids(EOT)],
        pad_token_id=ids(PAD),
    )
    return MllamaConfig(vision_config=vision, text_config=text, image_token_index=ids(IMAGE))


def open_image_path(model: MllamaForConditionalGeneration, lm_head_std: float = 0.5) -> None:
    """Start the image path open: random init leaves the cross-attention gates at 0 (the image has no effect)
    and LoRA cannot move gates, which are not linear layers. A wide lm_head makes answer logits differ."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("cross_attn_attn_gate", "cross_attn_mlp_gate")):
                param.fill_(2.0)
            elif "global_transformer" in name and name.endswith(("gate_attn", "gate_ffn")):
                param.fill_(math.pi / 4)
        model.lm_head.weight.normal_(0.0, lm_head_std)


def build_tiny_mllama(
    out_dir: str | Path, *, corpus: list[str], image_size: int = 224, seed: int = 0, vocab_size: int = 1024
) -> Path:
    """Write a tiny random Mllama checkpoint (model, processor, tokenizer, chat template) to `out_dir`."""
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(corpus, vocab_size)
    # The PIL backend needs no torchvision; it saves as "MllamaImageProcessor", like the 11B's.
    image_processor = MllamaImageProcessorPil(
        size={"height": image_size, "width": image_size},
        max_image_tiles=1,  # one tile: 4 tiles would be 4x the vision work, which the tiny demo cannot afford
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
    )
    processor = MllamaProcessor(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)

    config = tiny_config(tokenizer, image_size)
    torch.manual_seed(seed)
    model = MllamaForConditionalGeneration(config)
    open_image_path(model)

    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir
