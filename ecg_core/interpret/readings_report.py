"""The readings for people: a short table for the terminal and a Markdown report with a thumbnail of each page
beside its reading (thumbnails embedded, so the report opens anywhere, the Prefect UI included)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from ecg_core.interpret.reading import NOTICE

THUMBNAIL_WIDTH = 320  # px


def thumbnail_png(data: bytes, width: int = THUMBNAIL_WIDTH) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((width, width * 4))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def findings(reading: dict) -> str:
    """The labels with their probabilities, or why there are none."""
    if reading["unparsed"]:
        return "unparsed (the answer names no class)"
    if not reading["labels"]:
        return "none of the classes"
    return ", ".join(f"{label} ({reading['probabilities'][label]:.2f})" for label in reading["labels"])


def model_line(model: dict) -> str:
    if model["adapter"] is None:
        return f"base model {model['base']}, no adapter: not trained on ECGs"
    trained = model.get("trained_on") or {}
    via = f"registry champion {model['run_id']}" if model.get("registry") else f"run {model['run_id']}"
    data = f", trained on instruction set {trained['instruction_set']} ({', '.join(trained['datasets']) or '?'})"
    return f"{model['base']} + adapter of {via}{data if trained else ''}; pages {model['preprocessing']}"


def terminal_table(readings: list[dict], rejected: list[dict]) -> str:
    lines = [f"{'page':<40} findings", "-" * 100]
    lines += [f"{r['source'][-40:]:<40} {findings(r)}" for r in readings]
    lines += [f"{q['name'][-40:]:<40} REJECTED: {q['reason']}" for q in rejected]
    if readings:
        lines += ["", f"model: {model_line(readings[0]['model'])}"]
    return "\n".join(lines + [NOTICE])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def markdown_report(title: str, readings: list[dict], rejected: list[dict], thumbnails: dict[str, bytes]) -> str:
    """`thumbnails`: reading id -> PNG bytes."""
    lines = [f"# {title}", "", f"> {NOTICE}", ""]
    if readings:
        lines += [f"Model: {model_line(readings[0]['model'])}.", ""]
    lines += ["| page | reading | report |", "|---|---|---|"]
    for r in readings:
        picture = base64.b64encode(thumbnails[r["id"]]).decode()
        probabilities = ", ".join(f"{k} {v:.2f}" for k, v in r["probabilities"].items())
        cell = f"**{findings(r)}**<br>answer: {_cell(r['answer']) or '(empty)'}<br>probabilities: {probabilities}"
        source = _cell(r["source"])
        lines.append(f"| ![{source}](data:image/png;base64,{picture})<br>{source} | {cell} | {_cell(r['report'])} |")
    if rejected:
        lines += ["", f"## Rejected ({len(rejected)})", "", "| input | reason |", "|---|---|"]
        lines += [f"| {_cell(q['name'])} | {_cell(q['reason'])} |" for q in rejected]
    return "\n".join(lines) + "\n"
