"""A shrunk Llama 3.2 11B Vision: the real checkpoint's files around small random weights.

A downloaded `meta-llama/Llama-3.2-11B-Vision-Instruct` folder holds, besides 21 GB of weights, the files
that decide how the model is driven: tokenizer (128,256 tokens + `<|image|>`), chat template, image
processor (560 px tiles, up to 4), generation config (three stop ids). This module writes a folder with
exactly those files, copied from a real one, and random weights of a model that keeps every shape
that touches them: the real vocabulary, 560 px tiles of 14 px patches, 4 tiles and their 8 aspect
ratios, cross-attention every fifth decoder layer from the 4th (3 and 8 of 10 layers, as 3, 8, ..., 38
of the 11B's 40). Weights are saved as the hub's files are: safetensors shards under the checkpoint key
names of transformers 4.45 (`language_model.model.layers...`, `vision_model...`), which transformers 5
renames on load, and the config in the hub's layout.

    python -c "from ecg_core.model.shrunk import build_shrunk_mllama; build_shrunk_mllama('LLAMA_FILES', 'out')"
"""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import MllamaConfig, MllamaForConditionalGeneration
from transformers.models.mllama.image_processing_pil_mllama import get_all_supported_aspect_ratios

from ecg_core.model.tiny import open_image_path
from ecg_core.settings import CONFIGS

ELEVEN_B_SHAPES = CONFIGS / "models" / "llama-3.2-11b-vision.json"
# What a real checkpoint folder holds besides weights and config.json.
CHECKPOINT_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.json",
    "preprocessor_config.json",
    "generation_config.json",
)
TEXT_SHAPES = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=10,
    num_attention_heads=4,
    num_key_value_heads=2,
    cross_attention_layers=[3, 8],
)
VISION_SHAPES = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_global_layers=1,
    attention_heads=2,
    intermediate_layers_indices=[0, 1],
    vision_output_dim=32 * 3,
)  # last state + 2 intermediate ones
# transformers 5 key prefix -> the hub checkpoint's (transformers 4.45) prefix.
HUB_PREFIXES = {
    "model.language_model.": "language_model.model.",
    "lm_head.": "language_model.lm_head.",
    "model.vision_model.": "vision_model.",
    "model.multi_modal_projector.": "multi_modal_projector.",
}


def shrunk_config(slots: int = 4, text: dict | None = None, vision: dict | None = None) -> dict:
    """The 11B's config.json with small widths and depths (`text`, `vision` override them); vocabulary, tile size
    and the cross-attention pattern kept; `slots` tile slots per image (the 11B's 4, or 1 or 2 for comparisons)."""
    config = json.loads(ELEVEN_B_SHAPES.read_text())
    config["text_config"] |= TEXT_SHAPES | (text or {}) | {"eos_token_id": [128001, 128008, 128009]}  # the Instruct's
    config["vision_config"] |= VISION_SHAPES | (vision or {}) | {"max_num_tiles": slots}
    grids = get_all_supported_aspect_ratios(slots)  # (rows, cols) of at most `slots` tiles
    config["vision_config"]["supported_aspect_ratios"] = [list(grid) for grid in grids]
    config["torch_dtype"] = "float32"
    return config


def hub_key(name: str) -> str:
    prefix = next(p for p in HUB_PREFIXES if name.startswith(p))
    return HUB_PREFIXES[prefix] + name[len(prefix) :]


def save_hub_shards(state: dict[str, torch.Tensor], out_dir: Path, shards: int = 2) -> None:
    """`model-0000i-of-0000n.safetensors` + `model.safetensors.index.json`, as the hub stores the 11B."""
    names = sorted(state)
    weight_map = {}
    for i in range(shards):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {hub_key(n): state[n].contiguous() for n in names[i::shards]}
        save_file(part, out_dir / file, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(part, file)
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (out_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def build_shrunk_mllama(real_files: str | Path, out_dir: str | Path, *, seed: int = 0) -> Path:
    """Write the shrunk checkpoint to `out_dir`: `real_files`' tokenizer, template, processor and generation
    config, a hub-layout config.json and random weights (image path opened, so pages move the answers)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in CHECKPOINT_FILES:
        shutil.copyfile(Path(real_files) / name, out_dir / name)
    config = shrunk_config()
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    values = {k: v for k, v in config.items() if k not in ("architectures", "model_type", "torch_dtype")}
    torch.manual_seed(seed)
    model = MllamaForConditionalGeneration(MllamaConfig(**values))
    open_image_path(model)
    save_hub_shards(model.state_dict(), out_dir)
    return out_dir


def unpack_real_files(packed: str | Path, dest: str | Path) -> Path:
    """A model folder at `dest`, as the hub lays it out, from a copy of a checkpoint's files but the weights that
    keeps the large ones xz-compressed (tests/fixtures/llama32-vision: tokenizer.json is 17 MB plain), written
    out plain. Idempotent: a complete folder is reused."""
    dest = Path(dest)
    if (dest / "tokenizer.json").exists():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for file in Path(packed).iterdir():
        if file.suffix == ".xz":
            (partial / file.stem).write_bytes(lzma.decompress(file.read_bytes()))
        elif file.is_file():
            shutil.copy(file, partial / file.name)
    shutil.rmtree(dest, ignore_errors=True)
    partial.replace(dest)  # whole or not at all: a killed run leaves no folder that looks complete
    return dest
