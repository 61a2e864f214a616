"""Which weights read a page, and how the page is shown to them: the one rule evaluation's Mllama rows and
interpret's readings share.

    base        the base checkpoint folder named (`model_dir`), no adapter: untrained for ECGs
    run         that checkpoint + the run's adapter (runs/<run_id>/adapter)
    champion    the registry's champion: its adapter in registry/, on the base checkpoint it was trained on
                (`model_dir`, when given, names a local copy of that base instead)

Pages are shown as the adapter learned them (runs/<run_id>/config.json): an option may repeat the run's
preprocessing, never contradict it. Without a run's config (the base model), the options decide, else every tile
the checkpoint takes, padded. A tile budget above the checkpoint's is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core import layout
from ecg_core import preconditions as needs
from ecg_core.errors import MissingInput, WrongInput
from ecg_core.model.page_tiles import PagePreprocessing, checkpoint_tiles
from ecg_core.registry import champion_base, read_champion
from ecg_core.store import Store

READERS = ("base", "run", "champion")


@dataclass(frozen=True)
class Reader:
    """The weights that read and the pages they are shown."""

    model_dir: str  # the base checkpoint folder
    adapter: str | None  # the adapter's store prefix; None: the base model alone
    run_id: str | None  # the training run the adapter comes from
    run_config: dict | None  # runs/<run_id>/config.json, when the store holds it
    registry: dict | None  # {"champion", "adapter", "metrics"} when the registry's champion reads
    pages: PagePreprocessing
    tile: int  # the checkpoint's tile side in pixels

    @property
    def pages_from(self) -> str:
        """Where the pages were decided: the run's config key, or the options and the checkpoint."""
        return layout.run_config_key(self.run_id) if self.run_config else "options"


def choose_reader(
    store: Store,
    kind: str,
    run_id: str | None = None,
    model_dir: str | None = None,
    *,
    max_tiles: int | None = None,
    page_fit: str | None = None,
) -> Reader:
    """The reader of `kind` (one of READERS; `run_id` names a run's). A missing champion, run, adapter or base
    checkpoint raises, saying what to do; so does an option that contradicts the run's pages."""
    registry = None
    if kind == "champion":
        needs.champion(store)
        record = read_champion(store)
        run_id, adapter = record["run_id"], record["adapter"]
        registry = {"champion": run_id, "adapter": adapter, "metrics": record.get("metrics")}
        model_dir = model_dir or champion_base(store, record)
    elif kind == "run":
        adapter = layout.adapter_prefix(run_id)
    elif kind == "base":
        run_id = adapter = None
    else:
        raise ValueError(f"reader {kind!r}: expected one of {', '.join(READERS)}")
    if model_dir is None:
        raise WrongInput("name the base checkpoint (--model DIR): only the registry's champion brings its own")
    if adapter and not store.list(adapter):
        raise MissingInput(f"no adapter under {store.url(adapter)}: train run {run_id} first")
    run_key = layout.run_config_key(run_id) if run_id else None
    run_config = store.get_json(run_key) if run_key and store.exists(run_key) else None
    tile, checkpoint_max_tiles = checkpoint_tiles(model_dir)
    pages = page_preprocessing(run_config, run_key, max_tiles, page_fit, checkpoint_max_tiles)
    return Reader(model_dir, adapter, run_id, run_config, registry, pages, tile)


def page_preprocessing(
    run_config: dict | None, run_key: str | None, max_tiles: int | None, page_fit: str | None, checkpoint_max_tiles: int
) -> PagePreprocessing:
    """The run's preprocessing, which an option may repeat but never contradict; without a run (the base model
    alone), the options, else every tile the checkpoint takes, padded. A budget above the checkpoint's tiles is
    refused."""
    if run_config is None:
        pages = PagePreprocessing(max_tiles or checkpoint_max_tiles, page_fit or "pad")
    else:
        pages = _as_trained(PagePreprocessing.of_run(run_config), run_key, max_tiles, page_fit)
    if pages.max_tiles > checkpoint_max_tiles:
        raise ValueError(
            f"max_tiles {pages.max_tiles}: the checkpoint's processor takes at most {checkpoint_max_tiles}"
        )
    return pages


def _as_trained(
    trained: PagePreprocessing, run_key: str | None, max_tiles: int | None, page_fit: str | None
) -> PagePreprocessing:
    """The run's preprocessing, once every option given agrees with it."""
    for key, value in (("max_tiles", max_tiles), ("page_fit", page_fit)):
        if value is not None and value != getattr(trained, key):
            raise ValueError(
                f"{run_key}: the run trained with {key}={getattr(trained, key)!r}, so {key}={value!r} would show the "
                f"model pages it never saw; leave the option out (evaluation takes the run's preprocessing)"
            )
    return trained
