"""An Mllama that reads pages kept in the store, as evaluation's answers and interpret's readings use it: a base
checkpoint folder, a run's adapter (a store prefix) and the page preprocessing the run trained with.

Nothing comes to the machine before it is needed: the adapter when the model is first asked, a chunk's pages just
before the chunk is read. A step resumed on a machine with an empty cache (the replacement of a lost one) so
downloads the pages left to read and the weights, never the rest of the store (other runs' checkpoints, pages
already answered).
"""

from __future__ import annotations

from pathlib import Path

from ecg_core.model.load import load_model_and_processor
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.store import Store


class StoredMllama:
    def __init__(self, store: Store, model_dir: str, adapter: str | None, pages: PagePreprocessing):
        self.store, self.model_dir, self.adapter, self.pages = store, model_dir, adapter, pages
        self._loaded = None

    def loaded(self) -> tuple:
        """(model, processor): the base + adapter cut to the pages' tile budget, loaded on the first call."""
        if self._loaded is None:
            adapter = str(self.store.local_dir(self.adapter)) if self.adapter else None
            self._loaded = load_model_and_processor(self.model_dir, adapter=adapter, tile_slots=self.pages.max_tiles)
        return self._loaded

    def page_root(self, rows: list[dict]) -> Path:
        """The local folder under which each row's page (its `image`, a store key) opens; only those are fetched."""
        return self.store.fetch(sorted({row["image"] for row in rows}))
