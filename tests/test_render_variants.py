"""Render configs and variants: validation with the allowed values, determinism by (seed, record, variant),
the shipped YAML configs, and the gallery command."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from cli.main import main
from ecg_core.render.variants import RenderConfig, sample_variant, variant_seed
from ecg_core.settings import CONFIGS


@pytest.mark.parametrize("name", ["default.yaml", "plain.yaml"])
def test_shipped_configs_load(name):
    config = RenderConfig.load(CONFIGS / "render" / name)
    assert config.variants >= 1 and config.fingerprint() == RenderConfig.from_mapping(config.to_dict()).fingerprint()


def test_variants_are_deterministic_and_varied():
    config = RenderConfig.load(CONFIGS / "render" / "default.yaml")
    first = [sample_variant(config, "rec-1", k) for k in range(12)]
    assert first == [sample_variant(config, "rec-1", k) for k in range(12)]
    assert first[0].artefacts == {} and first[0].settings.layout == "3x4+1"  # plain_first
    assert len({v.settings.layout for v in first[1:]}) > 1 and any(v.artefacts for v in first[1:])
    assert [sample_variant(config, "rec-2", k) for k in range(12)] != first
    assert variant_seed(0, "rec-1", 1) != variant_seed(1, "rec-1", 1)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"variants": 0}, "variants must be a whole number"),
        ({"format": "gif"}, "format must be one of auto, png, jpeg"),
        ({"options": {"layout": ["3x4", "5x5"]}}, "layout must be one of 3x4, 3x4"),
        ({"options": {"colour": ["red"]}}, "print option must be one of layout"),
        ({"options": {"grid": []}}, "give at least one value"),
        ({"artefacts": {"smudge": {"probability": 1, "strength": [0, 1]}}}, "allowed: folds, creases"),
        ({"artefacts": {"blur": {"probability": 2, "strength": [0, 1]}}}, "probability must be in"),
        ({"dpi": 100, "colour": 1}, r"unknown key\(s\) colour; allowed: artefacts, dpi"),
    ],
)
def test_bad_configs_name_the_allowed_values(values, message):
    with pytest.raises(ValueError, match=message):
        RenderConfig.from_mapping(values)


def test_fingerprint_follows_what_changes_the_images():
    base = RenderConfig(variants=2)
    assert base.fingerprint() == RenderConfig(variants=2).fingerprint()
    assert (
        base.fingerprint()
        != RenderConfig(variants=2, seed=1).fingerprint()
        != RenderConfig(variants=2, dpi=100).fingerprint()
    )


def test_gallery_command_writes_every_layout_and_artefact(tmp_path, capsys):
    assert main(["gallery", str(tmp_path / "g")]) == 0
    out = tmp_path / "g"
    images = sorted(p for p in out.iterdir() if p.suffix in (".png", ".jpg") and p.stem[:2].isdigit())
    names = [p.stem for p in images]
    assert any("layout-12x1" in n for n in names) and any("artefact-perspective" in n for n in names)
    for image in images:
        sidecar = json.loads(image.with_suffix(".json").read_text())
        assert Image.open(image).size == (sidecar["width_px"], sidecar["height_px"])
    assert Image.open(out / "contact_sheet.jpg").width > 1000 and "<img" in (out / "index.html").read_text()
    assert "images of record" in capsys.readouterr().out
