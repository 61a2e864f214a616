"""Published instruction sets (ECGInstruct, ECGBench) read into our instruction-sample format.

Formats read:
  * ECGInstruct (LLaVA): a JSON array, or JSONL, of
    `{"id", "image", "conversations": [{"from": "human"|"gpt", "value": ...}]}`.
  * ECGBench: JSON array / JSONL / Parquet with `conversation` or `conversations`, `image` or
    `image_path` (Parquet may hold `image` as a `{"bytes", "path"}` struct: the path is kept, the bytes
    are not extracted), turns as `{"from": "user"|"assistant", "value"}` or `{"role", "content"}`
    (content a string or a list of `{"type": "text", "text"}` / `{"type": "image"}` parts).

Every item becomes a sample like `ecg_core.instruct.build._sample` writes it (id, image, conversations,
task_family, labels, source, split, record_id, patient_id) plus `origin`, the file it came from.
`image` stays the path as published (relative to the dataset's image root, not a store key).

Memory: JSONL and Parquet are streamed (line by line / batch by batch). A JSON *array* is loaded whole
with `json.load`: the published ECGInstruct JSON (~1 GB) then takes several GB of RAM. Convert it to
JSONL first (or stream it with ijson) on small machines; we do not add that dependency here.

Usage:
    from ecg_core.store import open_store
    from ecg_core.sources.instructions import import_instructions
    import_instructions(open_store("store"), "ecginstruct", "ECGInstruct.json", "train")
    import_instructions(open_store("store"), "ecgbench", "ptbxl_report_generation_test.json", "test")
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ecg_core import layout
from ecg_core.record_store import Rejected
from ecg_core.sources.reader import check_record_id
from ecg_core.store import Store

IMAGE_TOKEN = "<image>"
_IMAGE_IN_TEXT = re.compile(r"[ \t]*<image>[ \t]*")
PARQUET_BATCH = 1024

HUMAN_ROLES = {"human", "user"}
GPT_ROLES = {"gpt", "assistant", "model", "bot"}
SKIPPED_ROLES = {"system"}  # not part of the LLaVA format; dropped

# Matched (in this order) anywhere in the lower-cased image path: ECG-QA images are PTB-XL/MIMIC records,
# so ecg-qa is tested first. ECGBench's PTB-XL images live under e.g. "test_images/ptb_test_v4/".
SOURCE_PATTERNS = (
    (re.compile(r"ecg[-_]?qa"), "ecg-qa"),
    (re.compile(r"mimic"), "mimic-iv-ecg"),
    (re.compile(r"ptb"), "ptbxl"),
    (re.compile(r"code[-_]?15"), "code15"),
    (re.compile(r"cpsc"), "cpsc2018"),
)

# Families use the names of ecg_core.instruct.families.FAMILIES where one fits.
REPORT_QUESTION = re.compile(r"\breport\b", re.I)
ABNORMALITY_QUESTION = re.compile(
    r"abnormal|classif|diagnos|which of the following|multiple[- ]choice|options?\s*:|\([A-D]\)|\b[A-D]\)", re.I
)
FILE_FAMILIES = (
    (re.compile(r"report"), "report_generation"),
    (re.compile(r"ecg[-_]?qa|\bqa\b|_qa"), "question_answering"),
)


def source_of(image: str) -> str:
    path = image.lower()
    for pattern, source in SOURCE_PATTERNS:
        if pattern.search(path):
            return source
    return "unknown"


def family_from_question(question: str) -> str:
    if REPORT_QUESTION.search(question):
        return "report_generation"
    if ABNORMALITY_QUESTION.search(question):
        return "abnormality_detection"
    return "question_answering"


def family_from_filename(name: str) -> str | None:
    """ECGBench names its files after the task (e.g. `ptbxl_report_generation_test.json`)."""
    stem = name.lower()
    for pattern, family in FILE_FAMILIES:
        if pattern.search(stem):
            return family
    return None


# --- reading raw items --------------------------------------------------------------------------


def _raw_items(path: Path) -> Iterator[tuple[str, dict | Rejected]]:
    """(position, item) per published item; position is "line N" / "item N" / "row N" for reasons."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        row = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH):
            for item in batch.to_pylist():
                row += 1
                yield f"row {row}", item
        return
    with open(path, encoding="utf-8") as f:
        head = f.read(4096).lstrip()
    if suffix != ".jsonl" and head.startswith("["):
        try:
            with open(path, encoding="utf-8") as f:
                items = json.load(f)  # whole file in memory: see the module docstring
        except json.JSONDecodeError as err:
            yield "file", Rejected(path.name, f"file is not valid JSON: {err.msg} at line {err.lineno}")
            return
        for i, item in enumerate(items, 1):
            yield f"item {i}", item
        return
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                yield f"line {lineno}", Rejected(f"{path.name}:{lineno}", f"malformed JSON on line {lineno}: {err.msg}")
                continue
            yield f"line {lineno}", item


# --- normalising one item -----------------------------------------------------------------------


def _text(content) -> tuple[str, bool]:
    """(text, has_image_part) of a turn's content: a string or a list of typed parts."""
    if content is None:
        return "", False
    if isinstance(content, str):
        return content, False
    if isinstance(content, list):
        texts, has_image = [], False
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type") == "image" or "image" in part and part.get("type") != "text":
                    has_image = True
                elif part.get("text") is not None:
                    texts.append(str(part["text"]))
        return "\n".join(texts), has_image
    return str(content), False


def _image_path(item: dict) -> str | None:
    image = item.get("image", item.get("image_path"))
    if isinstance(image, dict):  # HF Image feature in Parquet: {"bytes", "path"}
        image = image.get("path")
    if isinstance(image, list):  # a one-image list
        image = image[0] if len(image) == 1 else None
    return image if isinstance(image, str) and image.strip() else None


def _conversations(raw) -> list[dict] | str:
    """Normalised turns, or the reason they cannot be used."""
    if not isinstance(raw, list) or not raw:
        return "no conversation"
    turns = []
    for i, turn in enumerate(raw):
        if not isinstance(turn, dict):
            return f"turn {i} is not an object"
        role = str(turn.get("from", turn.get("role", ""))).lower()
        if role in SKIPPED_ROLES:
            continue
        if role in HUMAN_ROLES:
            role = "human"
        elif role in GPT_ROLES:
            role = "gpt"
        else:
            return f"turn {i} has unknown role {role!r}"
        text, _ = _text(turn.get("value", turn.get("content")))
        turns.append({"from": role, "value": text})
    if not any(t["from"] == "human" for t in turns):
        return "no human turn"
    if not any(t["from"] == "gpt" for t in turns):
        return "no gpt turn"
    if turns[0]["from"] != "human":
        return "first turn is not from human"
    for i, t in enumerate(turns):
        if IMAGE_TOKEN in t["value"]:  # exactly one placeholder, at the start of the first human turn
            if t["from"] == "human":  # a mid-text placeholder leaves one space, not two
                t["value"] = _IMAGE_IN_TEXT.sub(" ", t["value"]).strip()
            else:
                t["value"] = t["value"].replace(IMAGE_TOKEN, "")
        if t["from"] == "gpt" and not t["value"].strip():
            return f"empty answer in turn {i}"
    question = turns[0]["value"].strip()
    if not question:
        return "empty question"
    turns[0]["value"] = f"{IMAGE_TOKEN}\n{question}"
    return turns


def normalise(item, *, origin: str, split: str, position: str, file_family: str | None = None) -> dict | Rejected:
    if not isinstance(item, dict):
        return Rejected(f"{origin}:{position}", f"{position} is not an object")
    sample_id = item.get("id")
    if sample_id is None or str(sample_id).strip() == "":
        return Rejected(f"{origin}:{position}", f"missing id ({position})")
    sample_id = str(sample_id)
    if reason := check_record_id(sample_id):
        return Rejected(sample_id, reason)
    image = _image_path(item)
    if image is None:
        return Rejected(sample_id, "missing image")
    turns = _conversations(item.get("conversations", item.get("conversation")))
    if isinstance(turns, str):
        return Rejected(sample_id, turns)
    question = turns[0]["value"][len(IMAGE_TOKEN) + 1 :]
    source = source_of(image)
    return {
        "id": sample_id,
        "image": image,
        "conversations": turns,
        "task_family": file_family or family_from_question(question),
        "topic": None,  # published sets name no topic or answer style
        "style": None,
        "labels": [],  # published sets carry no structured labels; answers are free text
        "source": source,
        # MIMIC-IV-ECG's images, or ones whose dataset the path does not tell, stay on the site (evaluate/endpoint.py)
        "credentialed": source in ("mimic-iv-ecg", "unknown"),
        "split": split,
        "record_id": Path(image).stem,
        "patient_id": None,
        "origin": origin,
    }


def read_instruction_file(
    path: str | Path, split: str = "train", *, ecgbench: bool | None = None
) -> Iterator[dict | Rejected]:
    """Samples (our format) or Rejected(id, reason) for each item of a published instruction file.

    `ecgbench`: take the task family from the file name (ECGBench names files after the task); by
    default it is done when the name names a task (e.g. "report"), else families come from questions.
    """
    path = Path(path)
    file_family = family_from_filename(path.stem) if ecgbench is not False else None
    for position, item in _raw_items(path):
        if isinstance(item, Rejected):
            yield item
        else:
            yield normalise(item, origin=path.name, split=split, position=position, file_family=file_family)


# --- into the store -----------------------------------------------------------------------------


def _copy_image(store: Store, name: str, root: Path, image: str) -> str:
    """The page's store key when the published image lies beside the file (under `root`), else its path as
    published (evaluation then draws it from the ingested record, or skips the question)."""
    source = root / image
    if not source.is_file():
        return image
    key = layout.imported_image_key(name, image)
    if not store.exists(key):
        store.put_bytes(key, source.read_bytes())
    return key


def import_instructions(store: Store, name: str, path: str | Path, split: str, *, ecgbench: bool | None = None) -> dict:
    """Write the file's samples to instruct/<name>/<split>.jsonl and its rejects to quarantine.jsonl; images
    found beside the file (the published layout: paths relative to its folder) are copied into the set.

        Several files can go into one set: samples and rejects from *other* files already there are kept,
        those from this file (same `origin`) are replaced, so re-importing a file is idempotent. Identical
        (image, first question) pairs are kept once (the first wins, earlier files first).
    """
    path = Path(path)
    split_key, quarantine_key = layout.split_key(name, split), layout.instruct_quarantine_key(name)
    kept = [s for s in store.get_jsonl(split_key) if s.get("origin") != path.name] if store.exists(split_key) else []
    quarantine = (
        [q for q in store.get_jsonl(quarantine_key) if q.get("origin") != path.name]
        if store.exists(quarantine_key)
        else []
    )
    seen = {(s["image"], s["conversations"][0]["value"]) for s in kept}
    samples, rejected, duplicates = [], [], 0
    for item in read_instruction_file(path, split, ecgbench=ecgbench):
        if isinstance(item, Rejected):
            rejected.append({"id": item.record_id, "reason": item.reason, "origin": path.name})
            continue
        item["image"] = _copy_image(store, name, path.parent, item["image"])
        key = (item["image"], item["conversations"][0]["value"])
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        samples.append(item)
    store.put_jsonl(split_key, kept + samples)
    store.put_jsonl(quarantine_key, quarantine + rejected)
    return {
        "n": len(samples),
        "rejected": len(rejected),
        "duplicates": duplicates,
        "per_source": dict(sorted(Counter(s["source"] for s in samples).items())),
        "per_family": dict(sorted(Counter(s["task_family"] for s in samples).items())),
    }
