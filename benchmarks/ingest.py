"""Ingest speed and memory on PTB-XL-layout input built from the real PTB-XL records in tests/fixtures.

    .venv/bin/python benchmarks/ingest.py            # 600 records (the 10 real 500 Hz records, repeated)
    .venv/bin/python benchmarks/ingest.py --quick    # 150 records
    .venv/bin/python benchmarks/ingest.py --records 5000   # memory check: peak RSS must not grow with N

Builds `ptbxl_database.csv`, `scp_statements.csv` and `records500/` in a temporary folder in the published
layout (one WFDB record per row, written with wfdb.wrsamp), ingests it into a temporary store on one core,
prints the figures, writes benchmarks/results/ingest.json and ends with one JSON line:
records_per_s, peak_rss_mb, records.
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path

import wfdb
from harness import REALDATA, save_and_print

from ecg_core.ingest import ingest_source
from ecg_core.sources import make_source
from ecg_core.store import open_store


def build_ptbxl_folder(root: Path, n_records: int) -> None:
    """n rows cycling over the real ecg_id 6000-6009 rows and signals, each under its own new ecg_id."""
    with open(REALDATA / "meta" / "ptbxl_database_rows.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["ecg_id"] != "1"]
    signals = {r["ecg_id"]: wfdb.rdrecord(str(REALDATA / "wfdb_dat" / f"HR0{r['ecg_id']}")) for r in rows}
    root.mkdir(parents=True, exist_ok=True)
    (root / "scp_statements.csv").write_bytes((REALDATA / "meta" / "scp_statements.csv").read_bytes())
    out_rows = []
    for ecg_id in range(1, n_records + 1):
        row = dict(rows[ecg_id % len(rows)])
        source = signals[row["ecg_id"]]
        folder = f"records500/{(ecg_id // 1000) * 1000:05d}"
        (root / folder).mkdir(parents=True, exist_ok=True)
        name = f"{ecg_id:05d}_hr"
        wfdb.wrsamp(
            name,
            fs=500,
            units=["mV"] * 12,
            sig_name=["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"],
            p_signal=source.p_signal,
            fmt=["16"] * 12,
            adc_gain=[1000.0] * 12,
            baseline=[0] * 12,
            write_dir=str(root / folder),
        )
        row.update(
            ecg_id=str(ecg_id),
            patient_id=f"{ecg_id // 2}.0",
            filename_hr=f"{folder}/{name}",
            filename_lr=f"records100/{folder[10:]}/{ecg_id:05d}_lr",
        )
        out_rows.append(row)
    with open(root / "ptbxl_database.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(out_rows[0]))
        writer.writeheader()
        writer.writerows(out_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="150 records instead of 600")
    parser.add_argument("--records", type=int, help="any other count (memory must stay flat as it grows)")
    args = parser.parse_args()
    n = args.records or (150 if args.quick else 600)
    with tempfile.TemporaryDirectory() as tmp:
        folder, store = Path(tmp) / "ptb-xl", open_store(Path(tmp) / "store")
        build_ptbxl_folder(folder, n)
        started = time.perf_counter()
        report = ingest_source(store, make_source("ptbxl"), folder)
        seconds = time.perf_counter() - started
    figures = {
        "records_per_s": round(report.new / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "records": report.new,
        "rejected": report.rejected,
    }
    print(
        f"ingested {report.new} PTB-XL records in {seconds:.2f} s: {figures['records_per_s']} records/s, "
        f"peak RSS {figures['peak_rss_mb']} MB, {report.rejected} rejected"
    )
    save_and_print("ingest", figures)


if __name__ == "__main__":
    main()
