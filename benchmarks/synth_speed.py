"""Speed of synthetic ECG generation (records/s) at 250 and 500 Hz; rendering has benchmarks/render.py.

    .venv/bin/python benchmarks/synth_speed.py            # 1,000 records per rate
    .venv/bin/python benchmarks/synth_speed.py --quick    # 200 records per rate

Prints a table, writes benchmarks/results/synth_speed.json, and ends with one JSON line:
synth_records_per_s_250hz, synth_records_per_s_500hz.
"""

from __future__ import annotations

import argparse
import time

from harness import save_and_print

from ecg_core.synth import synthesize_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 records instead of 1,000")
    n = 200 if parser.parse_args().quick else 1000
    figures = {}
    for fs in (250, 500):
        started = time.perf_counter()
        synthesize_records(n, seed=0, fs=float(fs))
        figures[f"synth_records_per_s_{fs}hz"] = round(n / (time.perf_counter() - started), 1)
    for key, value in figures.items():
        print(f"{key:32s} {value:10.1f}")
    save_and_print("synth_speed", figures)


if __name__ == "__main__":
    main()
