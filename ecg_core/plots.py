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


def roc_curves_png(truth_and_scores: dict[str, tuple], labels: list[str], title: str) -> bytes:
    """One panel per label: the ROC curve of each model from its label scores (truth and scores are
    [n, len(labels)] arrays), with its AUC in the legend; a label absent from the test set is marked so."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, axes = plt.subplots(1, len(labels), figsize=(3 * len(labels), 3.2), squeeze=False)
    for j, (label, ax) in enumerate(zip(labels, axes[0])):
        for model, (truth, scores) in truth_and_scores.items():
            if 0 < truth[:, j].sum() < len(truth):
                fpr, tpr, _ = roc_curve(truth[:, j], scores[:, j])
                ax.plot(fpr, tpr, label=f"{model} {roc_auc_score(truth[:, j], scores[:, j]):.2f}")
            else:
                ax.text(0.5, 0.5, "absent from test set", ha="center", fontsize=8)
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(title=label, xlabel="false positive rate", ylabel="true positive rate" if j == 0 else None)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title, y=1.04)
    return _png(fig)
