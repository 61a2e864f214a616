"""Pictures of results (loss curves, per-label bars) as PNG bytes, drawn with matplotlib's Agg backend."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def loss_curve_png(log_rows: list[dict], title: str) -> bytes:
    """Training (and, where logged, evaluation) loss against step, from train_log.jsonl rows."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, style in (("loss", "-"), ("eval_loss", "o-")):
        points = [(r["step"], r[key]) for r in log_rows if key in r]
        if points:
            ax.plot(*zip(*points), style, label=key.replace("_", " "))
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def per_label_f1_png(metrics_by_model: dict[str, dict], title: str) -> bytes:
    """Grouped bars: per-label F1 of each model (baseline vs fine-tuned, ...)."""
    models = list(metrics_by_model)
    labels = metrics_by_model[models[0]]["labels"]
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, model in enumerate(models):
        f1 = [metrics_by_model[model]["per_label"][label]["f1"] for label in labels]
        ax.bar([j + i * width for j in range(len(labels))], f1, width, label=model)
    ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(labels))], labels)
    ax.set(ylim=(0, 1), ylabel="F1", title=title)
    ax.legend()
    return _png(fig)
