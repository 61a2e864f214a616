import pytest

from ecg_core.store import LocalStore, open_store


def test_local_store_bytes_json_jsonl_and_listing(tmp_path):
    store = open_store(tmp_path / "s")
    assert isinstance(store, LocalStore)
    store.put_bytes("a/b/c.bin", b"xyz")
    store.put_json("a/meta.json", {"k": [1, 2]})
    store.put_jsonl("a/rows.jsonl", [{"i": 1}, {"i": 2}])
    assert store.get_bytes("a/b/c.bin") == b"xyz"
    assert store.get_json("a/meta.json") == {"k": [1, 2]}
    assert store.get_jsonl("a/rows.jsonl") == [{"i": 1}, {"i": 2}]
    assert store.list("a") == ["a/b/c.bin", "a/meta.json", "a/rows.jsonl"]
    assert store.list("missing") == []
    assert store.exists("a/meta.json") and not store.exists("a/nope")


def test_missing_key_and_escaping_key_are_clear_errors(tmp_path):
    store = open_store(f"file://{tmp_path}")
    with pytest.raises(FileNotFoundError, match="no object 'x.json'"):
        store.get_bytes("x.json")
    with pytest.raises(ValueError, match="escapes the store root"):
        store.put_bytes("../outside", b"")


def test_put_dir_uploads_a_folder(tmp_path):
    local = tmp_path / "out"
    (local / "adapter").mkdir(parents=True)
    (local / "adapter" / "w.bin").write_bytes(b"1")
    (local / "log.jsonl").write_text("{}\n")
    store = open_store(tmp_path / "store")
    assert store.put_dir(local, "runs/r1") == ["runs/r1/adapter/w.bin", "runs/r1/log.jsonl"]
    assert store.get_bytes("runs/r1/adapter/w.bin") == b"1"
