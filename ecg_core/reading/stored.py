"""A reader's Mllama with the pages it reads kept in the store, as evaluation's answers and interpret's readings
use it: the base checkpoint folder, the adapter (a store prefix) and the page preprocessing of a `Reader`.

Nothing comes to the machine before it is needed: the adapter when the model is first asked, a chunk's pages just
before the chunk is read. A step resumed on a machine with an empty cache (the replacement of a lost one) so
downloads the pages left to read and the weights, never the rest of the store (other runs' checkpoints, pages
already answered).
"""

from __future__ import annotations

from pathlib import Path

from ecg_core.model.load import load_model_and_processor
from ecg_core.reading.reader import Reader
from ecg_core.store import Store


class StoredMllama:
    def __init__(self, store: Store, reader: Reader):
        self.store, self.reader, self.pages = store, reader, reader.pages
        self._loaded = None

    def loaded(self) -> tuple:
        """(model, processor): the base + adapter cut to the pages' tile budget, loaded on the first call."""
        if self._loaded is None:
            adapter = str(self.store.local_dir(self.reader.adapter)) if self.reader.adapter else None
            self._loaded = load_model_and_processor(
                self.reader.model_dir, adapter=adapter, tile_slots=self.pages.max_tiles
            )
        return self._loaded

    def page_root(self, rows: list[dict]) -> Path:
        """The local folder under which each row's page (its `image`, a store key) opens; only those are fetched."""
        return self.store.fetch(sorted({row["image"] for row in rows}))
