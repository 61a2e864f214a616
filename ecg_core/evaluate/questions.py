"""A task's questions ready to ask: each with a page in the store, and a truth its metric can read.

Our own questions point at rendered pages already. An imported (ECGBench) question points at its published
image path: the page is there when the import found it beside the file; when it is not, a PTB-XL question
(its id or path names the ecg_id, e.g. "ptb-report-07190_hr-0") gets the page drawn from the ingested PTB-XL
record, with the default render settings; any other is skipped with the reason, never guessed.
"""

from __future__ import annotations

import re

from ecg_core import layout
from ecg_core.evaluate.benchmark_tasks import Task
from ecg_core.evaluate.grading import gradable
from ecg_core.image_store import render_variant
from ecg_core.record_store import read_records
from ecg_core.render.encode import EXTENSIONS
from ecg_core.render.variants import RenderConfig
from ecg_core.store import Store

PAGE_SETTINGS = RenderConfig(format="png")  # the default printout and artefacts, always PNG: its key is known
PTBXL_DATASET = "ptbxl"  # where `ecgflow ingest ptbxl` puts PTB-XL
PTBXL_ID = re.compile(r"(?<![\d])(\d{1,5})_(?:hr|lr)(?![a-z])")  # "07190_hr" in an ECGBench id or image path


def ptbxl_record_id(sample: dict) -> str | None:
    """The ingested record an imported PTB-XL question shows, by the ecg_id its id or image path names."""
    match = PTBXL_ID.search(sample["id"]) or PTBXL_ID.search(sample["image"])
    return f"ptbxl-{int(match[1])}" if match and sample["source"] == PTBXL_DATASET else None


class Pages:
    """Pages for imported questions whose image is missing: drawn once from the ingested PTB-XL records."""

    def __init__(self, store: Store, instruct: str):
        self.store, self.instruct = store, instruct
        self._records = None

    def records(self) -> dict:
        if self._records is None:  # read only when a page is missing, and then once
            present = self.store.exists(layout.manifest_key(PTBXL_DATASET))
            self._records = {r.record_id: r for r in read_records(self.store, PTBXL_DATASET)} if present else {}
        return self._records

    def page_for(self, sample: dict) -> str | None:
        """A store key of the sample's page, or None (then `missing_reason` says why)."""
        if self.store.exists(sample["image"]):
            return sample["image"]
        record_id = ptbxl_record_id(sample)
        if record_id is None or record_id not in self.records():
            return None
        key = layout.imported_image_key(self.instruct, f"{record_id}{EXTENSIONS[PAGE_SETTINGS.format]}")
        if not self.store.exists(key):
            data, _, _ = render_variant(self.records()[record_id], PAGE_SETTINGS, 0)
            self.store.put_bytes(key, data)
        return key

    def missing_reason(self, sample: dict) -> str:
        record_id = ptbxl_record_id(sample)
        if record_id is None:
            return f"image {sample['image']} is not in the store and the question names no PTB-XL record"
        return f"image {sample['image']} is not in the store and {record_id} is not ingested (ecgflow ingest ptbxl)"


def task_questions(store: Store, task: Task, test: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the task's questions with their pages, [{id, reason}] for each one left out)."""
    pages, kept, skipped = Pages(store, task.instruct), [], []
    for sample in test:
        if not task.takes(sample):
            continue
        page = pages.page_for(sample)
        if page is None:
            skipped.append({"id": sample["id"], "reason": pages.missing_reason(sample)})
        else:
            kept.append(sample | {"image": page})
    readable, unreadable = gradable(task, kept)
    return readable, skipped + unreadable
