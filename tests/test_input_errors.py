"""A user's first-day mistakes, command by command, as a table: each ends with exit 2 and one line on stderr naming
the bad input, no traceback, nothing written to the store, and before any server starts (the commands run
in-process here with no Prefect API configured: reaching one would start a server, which the table forbids by
timing out nowhere but failing the no-server assertion). The store-reading rows run against a folder and an S3
store on moto's server; the first row also as a real process, as a person types it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from ecg_core.ingest import ingest_source
from ecg_core.sources import make_source
from ecg_core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
IMAGES = "tests/fixtures/realdata/images"
TRAIN = "train --run-id r --config tiny-cpu.yaml"

# (command line, what the one line must name); {store} and {model} are filled in per store
STORE_ROWS = [
    ("render synthetic --store {empty}", "no dataset 'synthetic'"),
    ("render nosuch --store {store}", "no dataset 'nosuch'"),
    ("instruct mine --datasets synthetic --store {store}", "has no pages"),
    (f"{TRAIN} --model {{model}} --instruct nosuch --store {{store}}", "no instruction set 'nosuch'"),
    ("evaluate --eval-id e --candidates base --instruct nosuch --store {store}", "no instruction set 'nosuch'"),
    ("evaluate --eval-id e --candidates run:ghost --store {store}", "no run 'ghost'"),
    ("evaluate --eval-id e --candidates champion --store {store}", "no champion"),
    ("judge --eval-id e --candidates run:ghost --store {store}", "no run 'ghost'"),
    (f"interpret {IMAGES} --store {{store}}", "no champion"),
    (f"interpret {IMAGES} --run-id ghost --model {{model}} --store {{store}}", "no run 'ghost'"),
    ("cnn --name c --datasets nosuch --store {store}", "no dataset 'nosuch'"),
    ("cnn --name c --datasets synthetic --store {store}", "has no pages"),
]
PATH_ROWS = [
    (f"interpret {IMAGES} --model /nonexistent/model --no-champion --store {{store}}", "model /nonexistent/model"),
    (f"{TRAIN} --model /nonexistent/model --instruct x --store {{store}}", "model /nonexistent/model"),
    (f"{TRAIN} --model {{not_a_model}} --instruct x --store {{store}}", "no config.json"),
    ("evaluate --eval-id e --candidates base --model /nonexistent/model --store {store}", "model /nonexistent/model"),
    ("ablate --name a --model /nonexistent/model --instruct x --store {store}", "model /nonexistent/model"),
    ("ingest ptbxl /nonexistent --store {store}", "ptbxl dataset /nonexistent"),
    ("interpret /nonexistent/scans --no-champion --model {model} --store {store}", "input /nonexistent/scans"),
    ("render synthetic --store {missing_store}", "typo-store: no such file or folder"),
    ("plan --model-config /nonexistent/config.json", "model config /nonexistent/config.json"),
]


@pytest.fixture(autouse=True)
def quiet_moto():
    """moto's S3 server runs in this process: its request log would land on the same stderr as the command's."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture
def stores(tmp_path, s3_env, tiny_mllama_dir):
    """A folder store and an S3 store, each holding one ingested, never rendered dataset `synthetic`, and an empty
    one of each."""
    _, bucket = s3_env
    made = {"folder": str(tmp_path / "store"), "s3": f"s3://{bucket}/store"}
    empty = {"folder": str(tmp_path / "empty"), "s3": f"s3://{bucket}/empty"}
    for uri in made.values():
        ingest_source(open_store(uri), make_source("synthetic", n_records=4, fs=100.0), None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "not-a-model").mkdir()
    return made, empty, {"model": str(tiny_mllama_dir), "not_a_model": str(tmp_path / "not-a-model")}


def _listing(uri: str) -> list[str]:
    return open_store(uri).list("")


def _mistake(argv: list[str], capfd) -> tuple[int, list[str]]:
    code = main(argv)
    err = capfd.readouterr().err
    return code, err.strip().splitlines()


@pytest.mark.parametrize("backend", ["folder", "s3"])
@pytest.mark.parametrize("line, named", STORE_ROWS)
def test_a_missing_input_in_the_store_is_one_line(stores, backend, line, named, capfd, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    uris, empty, paths = stores
    before = _listing(uris[backend])
    code, err = _mistake(line.format(store=uris[backend], empty=empty[backend], **paths).split(), capfd)
    assert code == 2 and len(err) == 1 and named in err[0] and "Traceback" not in err[0], err
    assert err[0].startswith(f"ecgflow {line.split()[0]}: ")
    assert _listing(uris[backend]) == before  # nothing written: no half-made run, evaluation or batch


@pytest.mark.parametrize("line, named", PATH_ROWS)
def test_a_wrong_path_is_one_line(stores, tmp_path, line, named, capfd, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    uris, _, paths = stores
    missing = tmp_path / "typo-store"
    code, err = _mistake(line.format(store=uris["folder"], missing_store=missing, **paths).split(), capfd)
    assert code == 2 and len(err) == 1 and named in err[0] and "Traceback" not in err[0], err
    assert not missing.exists()


def test_a_store_whose_bucket_is_not_there_is_one_line(s3_env, capfd):
    code, err = _mistake("render synthetic --store s3://no-such-bucket/x".split(), capfd)
    assert code == 2 and err == ["ecgflow render: store s3://no-such-bucket/x: the bucket does not exist"], err


@pytest.mark.parametrize(
    "line",
    [
        "train --set max_stepz=3 --model m --instruct i --run-id r",
        "pipeline --set recipe.max_stepz=3",  # a key of a stage's settings inside the pipeline's
        "render synthetic --config render/plain.yaml --set max_stepz=3",
    ],
)
def test_a_settings_key_misspelt_is_refused_with_the_allowed_keys(line, capfd):
    with pytest.raises(SystemExit) as exit_:
        main(line.split())
    err = capfd.readouterr().err
    assert exit_.value.code == 2 and "max_stepz" in err and "allowed" in err and "Traceback" not in err


def test_a_mistake_typed_at_a_terminal_prints_one_line_and_starts_no_server(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PREFECT_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    line = f"interpret {IMAGES} --model /nonexistent/model --no-champion --store {tmp_path / 'store'}"
    out = subprocess.run(
        [sys.executable, "-m", "cli", *line.split()], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "ecgflow interpret: model /nonexistent/model: no such folder; give a local Llama 3.2 Vision (Mllama) "
        "checkpoint folder"
    ], out.stderr
    assert not (tmp_path / "home" / "ecgflow-stack").exists()  # no server was started for it
