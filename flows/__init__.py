"""Prefect flows, one per stage, plus the end-to-end pipeline and the demo."""

from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
