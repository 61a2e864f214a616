"""Rendering speed on one core at 200 dpi, encoding included: (a) plain 3x4 + rhythm strip as PNG,
(b) every artefact on (JPEG, since the jpeg artefact fires), and the share spent encoding.

    .venv/bin/python benchmarks/render.py            # 60 images per case
    .venv/bin/python benchmarks/render.py --quick    # 15 images per case

Pins itself to one CPU core (and OpenCV to one thread). Reference: ecg-image-kit takes about
1.1-1.4 s per plain image and 3.5-4.2 s per augmented image on a 2-core machine. Prints a table,
writes benchmarks/results/render.json and ends with one JSON line: plain_ms_per_image,
augmented_ms_per_image, encode_share (plus per-case shares, the sidecar, each layout plain and each
artefact alone at strength 1).
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
from harness import save_and_print

from ecg_core.render import LAYOUTS, PrintSettings, encode, render_ecg
from ecg_core.render.artefacts import ALL_ON, ARTEFACT_NAMES, sample_artefacts
from ecg_core.render.geometry import sidecar_json
from ecg_core.synth import synthesize_records

KIT_PLAIN_S, KIT_AUGMENTED_S = 1.1, 3.5  # the fast end of ecg-image-kit's range


def time_case(records, settings: PrintSettings, artefacts_for) -> dict:
    """Mean ms per image for drawing (+ artefacts), encoding and the sidecar JSON."""
    draw = enc = side = 0.0
    for k, record in enumerate(records):
        started = time.perf_counter()
        rendered = render_ecg(
            record.signal, record.fs, settings, header=[f"ID {record.record_id}"], artefacts=artefacts_for(k), seed=k
        )
        drawn = time.perf_counter()
        encode(rendered)
        encoded = time.perf_counter()
        sidecar_json(rendered.geometry)
        side += time.perf_counter() - encoded
        draw += drawn - started
        enc += encoded - drawn
    n = len(records)
    return {"render_ms": 1000 * draw / n, "encode_ms": 1000 * enc / n, "sidecar_ms": 1000 * side / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 images per case instead of 60")
    n = 15 if parser.parse_args().quick else 60
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    cv2.setNumThreads(1)
    records = synthesize_records(n, seed=0, fs=500.0)
    settings = PrintSettings(layout="3x4+1", dpi=200.0)
    time_case(records[:3], settings, lambda k: sample_artefacts(ALL_ON, k))  # warm caches (grid, fonts)

    plain = time_case(records, settings, lambda k: {})
    augmented = time_case(records, settings, lambda k: sample_artefacts(ALL_ON, k))
    subset = records[: max(5, n // 6)]
    layouts = {name: time_case(subset, PrintSettings(layout=name), lambda k: {}) for name in LAYOUTS}
    alone = {name: time_case(subset, settings, lambda k, name=name: {name: 1.0}) for name in ARTEFACT_NAMES}

    total = lambda case: case["render_ms"] + case["encode_ms"]  # noqa: E731
    figures = {
        "plain_ms_per_image": total(plain),
        "augmented_ms_per_image": total(augmented),
        "encode_share": (plain["encode_ms"] + augmented["encode_ms"]) / (total(plain) + total(augmented)),
        "plain_encode_share": plain["encode_ms"] / total(plain),
        "augmented_encode_share": augmented["encode_ms"] / total(augmented),
        "plain_sidecar_ms": plain["sidecar_ms"],
        "plain_speedup_vs_ecg_image_kit": 1000 * KIT_PLAIN_S / total(plain),
        "augmented_speedup_vs_ecg_image_kit": 1000 * KIT_AUGMENTED_S / total(augmented),
        **{f"plain_ms_{name}": total(case) for name, case in layouts.items()},
        **{f"only_{name}_ms": total(case) for name, case in alone.items()},
        "images_per_case": n,
    }
    figures = {k: round(v, 3) for k, v in figures.items()}
    print(f"{'case':18s} {'render ms':>10s} {'encode ms':>10s} {'total ms':>10s} {'sidecar ms':>11s}")
    cases = [
        ("plain", plain),
        ("augmented", augmented),
        *((f"plain {k}", v) for k, v in layouts.items()),
        *((f"only {k}", v) for k, v in alone.items()),
    ]
    for name, case in cases:
        print(
            f"{name:18s} {case['render_ms']:10.1f} {case['encode_ms']:10.1f} {total(case):10.1f} {case['sidecar_ms']:11.1f}"
        )
    print(
        f"speed-up vs ecg-image-kit: plain x{figures['plain_speedup_vs_ecg_image_kit']:.0f}, "
        f"augmented x{figures['augmented_speedup_vs_ecg_image_kit']:.0f}"
    )
    save_and_print("render", figures)


if __name__ == "__main__":
    main()
