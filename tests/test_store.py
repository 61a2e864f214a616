"""The artifact store: one suite run against both backends, a local folder and S3 over real HTTP (moto's
server on 127.0.0.1, through boto3), plus what only S3 has: atomic publishing, multipart, clear errors."""

import pytest

from ecg_core.store import LocalStore, S3Store, open_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store(tmp_path / "s")
    _, bucket = request.getfixturevalue("s3_env")
    return open_store(f"s3://{bucket}/some/prefix")


def test_bytes_json_jsonl_and_listing(store):
    store.put_bytes("a/b/c.bin", b"xyz")
    store.put_json("a/meta.json", {"k": [1, 2]})
    store.put_jsonl("a/rows.jsonl", [{"i": 1}, {"i": 2}])
    store.put_bytes("ab/other.bin", b"1")
    assert store.get_bytes("a/b/c.bin") == b"xyz"
    assert store.get_json("a/meta.json") == {"k": [1, 2]}
    assert store.get_jsonl("a/rows.jsonl") == [{"i": 1}, {"i": 2}]
    assert store.list("a") == ["a/b/c.bin", "a/meta.json", "a/rows.jsonl"]  # not "ab/..."
    assert store.list("missing") == []
    assert store.exists("a/meta.json") and not store.exists("a/nope")
    store.delete("a/meta.json")
    store.delete("a/never-there")
    assert store.list("a") == ["a/b/c.bin", "a/rows.jsonl"]


def test_missing_key_and_escaping_key_are_clear_errors(store):
    with pytest.raises(FileNotFoundError, match="no object 'x.json'"):
        store.get_bytes("x.json")
    with pytest.raises(ValueError, match="escapes the store root"):
        store.put_bytes("../outside", b"")


def test_put_dir_and_local_dir_round_trip(store, tmp_path):
    local = tmp_path / "out"
    (local / "adapter").mkdir(parents=True)
    (local / "adapter" / "w.bin").write_bytes(b"1")
    (local / "log.jsonl").write_text("{}\n")
    assert store.put_dir(local, "runs/r1") == ["runs/r1/adapter/w.bin", "runs/r1/log.jsonl"]
    assert store.get_bytes("runs/r1/adapter/w.bin") == b"1"
    mirrored = store.local_dir("runs/r1")
    assert (mirrored / "adapter" / "w.bin").read_bytes() == b"1" and (mirrored / "log.jsonl").read_text() == "{}\n"


def test_file_uri_is_a_local_store(tmp_path):
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)


def test_s3_publishes_atomically_and_leaves_no_temporary_objects(s3_env):
    client, bucket = s3_env
    store = open_store(f"s3://{bucket}/p")
    assert isinstance(store, S3Store)
    big = bytes(range(256)) * (70 * 2**20 // 256)  # 70 MB: above the multipart threshold
    store.put_bytes("big.bin", big)
    assert store.get_bytes("big.bin") == big
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["p/big.bin"]  # the temporary upload key is gone
    assert store.url("big.bin") == f"s3://{bucket}/p/big.bin"


@pytest.mark.slow
def test_s3_configuration_errors_are_clear_before_any_work(s3_env, s3_endpoint, monkeypatch):
    with pytest.raises(ValueError, match="s3://no-such-bucket/x: the bucket does not exist"):
        open_store("s3://no-such-bucket/x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(ValueError, match="cannot reach the S3 endpoint"):
        open_store(f"s3://{s3_env[1]}/x")


def test_s3_failure_mid_upload_leaves_nothing_under_the_final_key(s3_env, monkeypatch):
    client, bucket = s3_env
    store = open_store(f"s3://{bucket}/p")
    store.put_bytes("model.bin", b"old")

    def broken_copy(*args, **kwargs):
        raise ConnectionError("connection lost while publishing")

    monkeypatch.setattr(store.client, "copy", broken_copy)  # the upload went up, publishing it fails
    with pytest.raises(ConnectionError):
        store.put_bytes("model.bin", b"new" * 1000)
    with pytest.raises(ConnectionError):
        store.put_bytes("fresh.bin", b"x")
    assert store.get_bytes("model.bin") == b"old"  # the previous version stands, whole
    assert not store.exists("fresh.bin")
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["p/model.bin"]  # no temporaries


@pytest.mark.parametrize("by_head", [True, False])
def test_fetch_brings_exactly_the_keys_asked(store, by_head):
    for key in ("images/d/r1/0.png", "images/d/r2/0.png", "runs/r/checkpoint-5/optimizer.pt"):
        store.put_bytes(key, key.encode())
    if not by_head:
        store.FETCH_BY_HEAD = 0  # sized by listing their folders, as an instruction set's thousands of pages are
    root = store.fetch(["images/d/r2/0.png"])
    assert root == store.local_root() and (root / "images/d/r2/0.png").read_bytes() == b"images/d/r2/0.png"
    if store.remote:  # a cache: nothing else came down
        assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["images/d/r2/0.png"]
    with pytest.raises(FileNotFoundError, match="no object 'images/d/r9/0.png'"):
        store.fetch(["images/d/r1/0.png", "images/d/r9/0.png"])
