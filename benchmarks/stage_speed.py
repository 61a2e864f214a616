"""Speed of the data stages on one core: synthesis (records/s), rendering and PNG encoding (ms/image).

    .venv/bin/python benchmarks/stage_speed.py            # full: 1,000 records, ~2 min on 2 cores
    .venv/bin/python benchmarks/stage_speed.py --quick    # 200 records, well under a minute

Prints a table, writes benchmarks/results/stage_speed.json, and ends with one JSON line:
synth_records_per_s_250hz, synth_records_per_s_500hz, render_ms_per_image_100dpi, png_ms_per_image_100dpi,
render_ms_per_image_200dpi, png_ms_per_image_200dpi.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tqdm import tqdm

from ecg_core.render import render_ecg, save_png
from ecg_core.synth import synthesize_records

RESULTS = Path(__file__).resolve().parent / "results"


def per_item_seconds(fn, items, desc: str) -> float:
    started = time.perf_counter()
    for item in tqdm(items, desc=desc, leave=False):
        fn(item)
    return (time.perf_counter() - started) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 records instead of 1,000")
    n = 200 if parser.parse_args().quick else 1000
    figures = {}
    for fs in (250, 500):
        started = time.perf_counter()
        records = synthesize_records(n, seed=0, fs=float(fs))
        figures[f"synth_records_per_s_{fs}hz"] = n / (time.perf_counter() - started)
    images = n // 4
    for dpi in (100, 200):
        subset = records[:images]
        rendered = []
        figures[f"render_ms_per_image_{dpi}dpi"] = 1000 * per_item_seconds(
            lambda r: rendered.append(render_ecg(r.signal, r.fs, dpi=dpi)), subset, f"render {dpi} dpi"
        )
        figures[f"png_ms_per_image_{dpi}dpi"] = 1000 * per_item_seconds(save_png, rendered, f"png {dpi} dpi")
    figures = {k: round(v, 2) for k, v in figures.items()}
    for key, value in figures.items():
        print(f"{key:32s} {value:10.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stage_speed.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
