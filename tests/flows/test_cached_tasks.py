"""Prefect results persisted in the store: the instruction set is built once for the same settings and data (on
any machine: one with an empty cache too), again when its output is gone or the records change. On S3 (moto over
HTTP); the pipeline test runs the same caching on a local store."""

import tasks.instruct
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.render.variants import RenderConfig
from flows.ingest import ingest_flow
from flows.instruct import instruct_flow
from flows.render import render_flow
from tasks.storage import open_store

# The demo's instruction config: two families, no Hugging Face export; caching does not depend on what is built.
DEMO_SET = {"name": "c", "datasets": ["synthetic"], "settings": InstructConfig.load("instruct/demo.yaml")}
SMALL_PAGES = RenderConfig.load("render/default.yaml", {"dpi": 30.0})


def test_instruction_set_is_cached_in_the_store_until_its_inputs_or_output_change(s3_env, monkeypatch, tmp_path):
    store_uri = f"s3://{s3_env[1]}/ecg"
    builds = []
    real = tasks.instruct.write_instruction_set
    monkeypatch.setattr(tasks.instruct, "write_instruction_set", lambda *a, **k: builds.append(1) or real(*a, **k))
    ingest_flow(store=store_uri, source="synthetic", options={"n_records": 12, "fs": 100.0})
    render_flow(store=store_uri, dataset="synthetic", settings=SMALL_PAGES)

    first = instruct_flow(store=store_uri, **DEMO_SET)
    assert instruct_flow(store=store_uri, **DEMO_SET) == first and len(builds) == 1  # cached
    assert open_store(store_uri).list("prefect-results")  # the result record lives in the store
    monkeypatch.setenv("ECGFLOW_S3_CACHE", str(tmp_path / "another-machine"))  # a second machine, its cache empty
    assert instruct_flow(store=store_uri, **DEMO_SET) == first and len(builds) == 1  # cached there too
    assert not (tmp_path / "another-machine").exists()  # cache key and result read from the store: nothing fetched

    instruct_flow(store=store_uri, **DEMO_SET | {"settings": InstructConfig.load("instruct/demo.yaml", {"seed": 1})})
    assert len(builds) == 2  # other settings: built

    store = open_store(store_uri)
    store.delete("instruct/c/stats.json")
    instruct_flow(store=store_uri, **DEMO_SET)
    assert len(builds) == 3 and store.exists("instruct/c/stats.json")  # output gone: rebuilt

    ingest_flow(store=store_uri, source="synthetic", options={"n_records": 16, "fs": 100.0})  # the records change
    render_flow(store=store_uri, dataset="synthetic", settings=SMALL_PAGES)
    assert instruct_flow(store=store_uri, **DEMO_SET)["n"] > first["n"] and len(builds) == 4


def test_s3_credentials_from_a_prefect_aws_credentials_block(s3_env, s3_endpoint, monkeypatch):
    """With ECGFLOW_AWS_CREDENTIALS_BLOCK set, the store's client comes from the block: it works with no
    AWS key in the environment at all."""
    from prefect_aws import AwsCredentials
    from prefect_aws.client_parameters import AwsClientParameters

    import tasks.storage

    AwsCredentials(
        aws_access_key_id="block-key",
        aws_secret_access_key="block-secret",
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint),
    ).save("ecg-s3", overwrite=True)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv(tasks.storage.CREDENTIALS_BLOCK, "ecg-s3")
    tasks.storage._credentials.cache_clear()
    try:
        store = open_store(f"s3://{s3_env[1]}/via-block")
        store.put_json("probe.json", {"ok": True})
        assert store.get_json("probe.json") == {"ok": True}
        assert s3_env[0].get_object(Bucket=s3_env[1], Key="via-block/probe.json")["ContentLength"] > 0
    finally:
        tasks.storage._credentials.cache_clear()
