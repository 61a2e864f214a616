"""The store layout: every key a stage reads or writes (relative to the store URI), built here and nowhere
else, so stages and tools find each other's output through these functions, never by spelling a key.

    records/<dataset>/                          records_prefix
        shard-<tag><index>.parquet              shard_key
        manifest.json                           manifest_key
        quarantine.jsonl                        records_quarantine_key
        fingerprints.json                       fingerprints_key
    images/<dataset>/                           images_prefix
        <record_id>/<variant><extension>        image_key
        <record_id>/<variant>.json              geometry_key
        index.jsonl                             index_key
        quarantine.jsonl                        images_quarantine_key
        render_config.json                      render_config_key
        gallery.jpg                             gallery_key
        _done/<fingerprint>/<shard>.json        render_done_key
    instruct/<name>/                            instruct_prefix
        <split>.jsonl                           split_key
        stats.json                              instruct_stats_key
        skipped.jsonl                           skipped_key
        quarantine.jsonl                        instruct_quarantine_key
        images/<path>                           imported_image_key
    runs/<run_id>/                              run_prefix
        config.json                             run_config_key
        train_log.jsonl                         train_log_key
        adapter/                                adapter_prefix
        loss_curve.png                          loss_curve_key
        finished.json                           run_finished_key
    eval/<eval_id>/                             eval_prefix
        preprocessing.json                      preprocessing_key
        <set>/<benchmark>/                      benchmark_prefix
            questions.jsonl                     questions_key
            skipped.jsonl                       benchmark_skipped_key
            predictions-<row>.jsonl             predictions_key
            judge-<row>.jsonl                   judgements_key
            metrics.json                        benchmark_metrics_key
        metrics.json                            metrics_key
        leaderboard.md                          leaderboard_md_key
        leaderboard.json                        leaderboard_key
        table.md                                table_key
        roc_curves.png                          roc_curves_key
        per_label_f1.png                        per_label_f1_key
        ablation.json                           ablation_rows_key
        ablation.md                             ablation_table_key
    eval/judge-cache/                           judge_cache_prefix
    eval/answer-cache/                          answer_cache_prefix
    cnn/<name>/                                 cnn_prefix
        table.md                                cnn_table_key
        <kind>/                                 cnn_kind_prefix
            predictions.jsonl                   cnn_predictions_key
            history.jsonl                       cnn_history_key
            rejected.jsonl                      cnn_rejected_key
            model.pt                            cnn_weights_key
            metrics.json                        cnn_metrics_key
            loss_curve.png                      cnn_loss_curve_key
    registry/
        champion.json                           champion_key
        models/<run_id>/adapter/                registry_adapter_prefix
        decisions/<name>.json                   decision_key
        slots/                                  retraining_slots_prefix
            <run_id>.json                       retraining_slot_key
    predictions/<batch>/                        batch_prefix
        pages/<page>                            batch_page_key
        pages.jsonl                             batch_pages_key
        readings.jsonl                          readings_key
        rejected.jsonl                          batch_rejected_key
        report.md                               batch_report_key
    models/<name>/                              model_prefix
        config.json                             model_config_key
    prefect-results/                            results_prefix

The ablation table shares eval/ with evaluations (eval/<name>/ablation.md), and the judge cache is one
folder for every evaluation, so a judgement is paid for once. The trainer writes checkpoints and the rest of
its output under runs/<run_id>/ itself; an instruction set's Hugging Face export sits in its folder.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# records/: canonical records (ecg_core.record_store, ecg_core.ingest)


def records_prefix(dataset: str) -> str:
    return f"records/{dataset}"


def shard_key(dataset: str, tag: str, index: int) -> str:
    return f"{records_prefix(dataset)}/shard-{tag}{index:05d}.parquet"


def manifest_key(dataset: str) -> str:
    return f"{records_prefix(dataset)}/manifest.json"


def records_quarantine_key(dataset: str) -> str:
    return f"{records_prefix(dataset)}/quarantine.jsonl"


def fingerprints_key(dataset: str) -> str:
    return f"{records_prefix(dataset)}/fingerprints.json"


# images/: rendered pages (ecg_core.image_store)


def images_prefix(dataset: str) -> str:
    return f"images/{dataset}"


def image_key(dataset: str, record_id: str, variant: int, extension: str) -> str:
    return f"{images_prefix(dataset)}/{record_id}/{variant}{extension}"


def geometry_key(dataset: str, record_id: str, variant: int) -> str:
    return image_key(dataset, record_id, variant, ".json")


def index_key(dataset: str) -> str:
    return f"{images_prefix(dataset)}/index.jsonl"


def images_quarantine_key(dataset: str) -> str:
    return f"{images_prefix(dataset)}/quarantine.jsonl"


def render_config_key(dataset: str) -> str:
    return f"{images_prefix(dataset)}/render_config.json"


def gallery_key(dataset: str) -> str:
    return f"{images_prefix(dataset)}/gallery.jpg"


def render_done_key(dataset: str, fingerprint: str, shard: str) -> str:
    """The marker of a finished batch (a records shard) under one render config."""
    return f"{images_prefix(dataset)}/_done/{fingerprint}/{PurePosixPath(shard).stem}.json"


# instruct/: instruction sets (ecg_core.instruct.dataset)


def instruct_prefix(name: str) -> str:
    return f"instruct/{name}"


def split_file(split: str) -> str:
    """A split's file name in its set's folder (the trainer reads the folder's local copy)."""
    return f"{split}.jsonl"


def split_key(name: str, split: str) -> str:
    return f"{instruct_prefix(name)}/{split_file(split)}"


def instruct_stats_key(name: str) -> str:
    return f"{instruct_prefix(name)}/stats.json"


def skipped_key(name: str) -> str:
    return f"{instruct_prefix(name)}/skipped.jsonl"


def instruct_quarantine_key(name: str) -> str:
    return f"{instruct_prefix(name)}/quarantine.jsonl"


def imported_image_key(name: str, path: str) -> str:
    """A page of an imported set: copied from beside its file, or drawn from the ingested record."""
    return f"{instruct_prefix(name)}/images/{path}"


# runs/: training runs. The trainer writes into the run's folder itself, under these names.
RUN_CONFIG, TRAIN_LOG, ADAPTER = "config.json", "train_log.jsonl", "adapter"


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}"


def run_config_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}/{RUN_CONFIG}"


def train_log_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}/{TRAIN_LOG}"


def adapter_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}/{ADAPTER}"


def loss_curve_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}/loss_curve.png"


def run_finished_key(run_id: str) -> str:
    """The settings a run finished with, written last: a re-run with the same settings trains nothing."""
    return f"{run_prefix(run_id)}/finished.json"


# eval/: evaluations and ablation tables


def eval_prefix(eval_id: str) -> str:
    return f"eval/{eval_id}"


def preprocessing_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/preprocessing.json"


def benchmark_prefix(eval_id: str, instruct: str, benchmark: str) -> str:
    """A benchmark's questions, predictions and metrics: benchmark <instruct>/<benchmark> (ecg_core.evaluate.benchmarks)."""
    return f"{eval_prefix(eval_id)}/{instruct}/{benchmark}"


def questions_key(eval_id: str, instruct: str, benchmark: str) -> str:
    return f"{benchmark_prefix(eval_id, instruct, benchmark)}/questions.jsonl"


def benchmark_skipped_key(eval_id: str, instruct: str, benchmark: str) -> str:
    return f"{benchmark_prefix(eval_id, instruct, benchmark)}/skipped.jsonl"


def predictions_key(eval_id: str, instruct: str, benchmark: str, row: str) -> str:
    return f"{benchmark_prefix(eval_id, instruct, benchmark)}/predictions-{row}.jsonl"


def judgements_key(eval_id: str, instruct: str, benchmark: str, row: str) -> str:
    return f"{benchmark_prefix(eval_id, instruct, benchmark)}/judge-{row}.jsonl"


def benchmark_metrics_key(eval_id: str, instruct: str, benchmark: str) -> str:
    return f"{benchmark_prefix(eval_id, instruct, benchmark)}/metrics.json"


def leaderboard_md_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/leaderboard.md"


def leaderboard_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/leaderboard.json"


def metrics_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/metrics.json"


def table_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/table.md"


def roc_curves_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/roc_curves.png"


def per_label_f1_key(eval_id: str) -> str:
    return f"{eval_prefix(eval_id)}/per_label_f1.png"


def ablation_rows_key(name: str) -> str:
    return f"{eval_prefix(name)}/ablation.json"


def ablation_table_key(name: str) -> str:
    return f"{eval_prefix(name)}/ablation.md"


def judge_cache_prefix() -> str:
    return eval_prefix("judge-cache")


def answer_cache_prefix() -> str:
    """API candidates' answers by (model, prompt, image): a re-run, or another evaluation, asks nothing twice."""
    return eval_prefix("answer-cache")


# cnn/: reference CNNs (ecg_core.cnn)


def cnn_prefix(name: str) -> str:
    return f"cnn/{name}"


def cnn_table_key(name: str) -> str:
    return f"{cnn_prefix(name)}/table.md"


def cnn_kind_prefix(name: str, kind: str) -> str:
    return f"{cnn_prefix(name)}/{kind}"


def cnn_predictions_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/predictions.jsonl"


def cnn_history_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/history.jsonl"


def cnn_rejected_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/rejected.jsonl"


def cnn_weights_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/model.pt"


def cnn_metrics_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/metrics.json"


def cnn_loss_curve_key(name: str, kind: str) -> str:
    return f"{cnn_kind_prefix(name, kind)}/loss_curve.png"


# registry/: the promoted model (ecg_core.registry)


def champion_key() -> str:
    return "registry/champion.json"


def registry_adapter_prefix(run_id: str) -> str:
    return f"registry/models/{run_id}/adapter"


def decision_key(name: str) -> str:
    return f"registry/decisions/{name}.json"


def retraining_slots_prefix() -> str:
    return "registry/slots"


def retraining_slot_key(run_id: str) -> str:
    """A retraining slot that retrains, with the records it trains on: a re-run of the same slot resumes it."""
    return f"{retraining_slots_prefix()}/{run_id}.json"


# predictions/: readings of new ECG images by a trained model (ecg_core.interpret)


def batch_prefix(batch: str) -> str:
    return f"predictions/{batch}"


def batch_page_key(batch: str, page: str) -> str:
    return f"{batch_prefix(batch)}/pages/{page}"


def batch_pages_key(batch: str) -> str:
    """Every input read so far, with the pages it gave: a re-run decodes only the rest."""
    return f"{batch_prefix(batch)}/pages.jsonl"


def readings_key(batch: str) -> str:
    return f"{batch_prefix(batch)}/readings.jsonl"


def batch_rejected_key(batch: str) -> str:
    return f"{batch_prefix(batch)}/rejected.jsonl"


def batch_report_key(batch: str) -> str:
    return f"{batch_prefix(batch)}/report.md"


# models/: base checkpoints built in the store (the tiny Mllama of the demo and CPU runs)


def model_prefix(name: str) -> str:
    return f"models/{name}"


def model_config_key(name: str) -> str:
    return f"{model_prefix(name)}/config.json"


# prefect-results/: Prefect's persisted task results (tasks.storage)


def results_prefix() -> str:
    return "prefect-results"
