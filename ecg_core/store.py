"""The artifact store every stage reads and writes: keys like `records/synthetic/shard-00000.parquet`.

`open_store(uri)` picks the backend from the URI: a folder path (or `file://`) gives `LocalStore`,
`s3://bucket/prefix` gives `S3Store` (any S3-compatible service). Backends implement the byte-level
methods; everything else (JSON, JSONL, folders) is built on them.

Tools that need paths (the Trainer, PIL) read a local copy: `local_root()` is the folder that holds or mirrors
the store's keys, `fetch(keys)` brings exactly those keys into it, `local_dir(prefix)` a whole folder. On a
machine with an empty cache, fetching only what a step reads (a run's newest checkpoint, the pages of one
instruction set) keeps a resume from downloading the store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from ecg_core.errors import WrongInput


class Store(ABC):
    uri: str
    remote: bool  # True when the local copy is a cache of objects kept elsewhere (what is written must be sent)

    # --- the byte-level contract a backend implements -------------------------------------------
    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """All keys under `prefix`, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object (no error if it is not there)."""

    @abstractmethod
    def local_root(self) -> Path:
        """The local folder that holds, or mirrors, the store's keys at their relative paths; nothing is fetched."""

    @abstractmethod
    def fetch(self, keys: list[str]) -> Path:
        """Make each key present in `local_root()` (new or changed objects only); returns `local_root()`."""

    @abstractmethod
    def local_dir(self, prefix: str) -> Path:
        """A local folder holding the objects under `prefix` (for tools that need paths: Trainer, PIL)."""

    # --- conveniences shared by every backend ----------------------------------------------------
    def put_json(self, key: str, obj) -> None:
        self.put_bytes(key, json.dumps(obj, indent=2, sort_keys=True).encode())

    def get_json(self, key: str):
        return json.loads(self.get_bytes(key))

    def put_jsonl(self, key: str, rows: list[dict]) -> None:
        self.put_bytes(key, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())

    def get_jsonl(self, key: str) -> list[dict]:
        return [json.loads(line) for line in self.get_bytes(key).decode().splitlines() if line.strip()]

    def put_dir(self, local: Path, prefix: str, skip: Callable[[str], bool] = lambda relative: False) -> list[str]:
        """Upload every file under `local` to `prefix/<relative path>` but those `skip` names; returns the keys
        written."""
        keys = []
        for path in sorted(Path(local).rglob("*")):
            relative = path.relative_to(local).as_posix()
            if path.is_file() and not skip(relative):
                key = f"{prefix.rstrip('/')}/{relative}"
                self.put_bytes(key, path.read_bytes())
                keys.append(key)
        return keys

    def _refuse_missing(self, missing: list[str]) -> None:
        if missing:
            raise FileNotFoundError(f"no object {missing[0]!r} in store {self.uri} ({len(missing)} missing)")

    def url(self, key: str) -> str:
        """A link people can open (used in reports and Prefect artifacts)."""
        return f"{self.uri.rstrip('/')}/{key}"


class LocalStore(Store):
    """A folder on disk; the default store (`./demo-store` for the demo)."""

    remote = False

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise ValueError(f"store key {key!r} escapes the store root")
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half an object, a killed writer leaves none

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object {key!r} in store {self.uri}")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file() and not p.name.endswith(".part")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_root(self) -> Path:
        return self.root

    def fetch(self, keys: list[str]) -> Path:
        self._refuse_missing([key for key in keys if not self.exists(key)])  # the objects are the files: no copy
        return self.root

    def local_dir(self, prefix: str) -> Path:
        path = self._path(prefix)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_dir(self, local: Path, prefix: str, skip: Callable[[str], bool] = lambda relative: False) -> list[str]:
        target = self._path(prefix)
        if Path(local).resolve() == target:  # already in place (trainer wrote straight into the store)
            return self.list(prefix)
        return super().put_dir(local, prefix, skip)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()


class S3Store(Store):
    """`s3://bucket/prefix` through boto3. Endpoint, region and credentials come from the standard AWS
    environment (AWS_ENDPOINT_URL for MinIO and other S3-compatible stores, AWS_ACCESS_KEY_ID, ...) or
    from `client` (e.g. one built from a Prefect AWS credentials block).

    - Publishing is atomic: an object is uploaded under a temporary key, its size and SHA-256 are checked,
      then it is copied to its final key; a crash never leaves a half-written artifact under its name.
    - Large objects go up in parallel multipart chunks (boto3's transfer manager).
    - Throttling and 5xx answers are retried with backoff (botocore's adaptive retry mode).
    - `local_dir(prefix)` mirrors the objects under `prefix` into a local cache folder, for tools that
      need paths (the Trainer, PIL); `put_dir` sends such a folder back.
    Wrong credentials, a missing bucket or an unreachable endpoint fail at construction, before any work.
    """

    remote = True
    MULTIPART_BYTES = 64 * 2**20  # multipart above 64 MB, in 64 MB parts
    TEMP_MARK = ".part-"  # temporary keys of uploads in flight; never listed

    def __init__(self, uri: str, client=None, cache_dir: str | Path | None = None):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.uri = uri.rstrip("/")
        self.bucket, _, prefix = uri[len("s3://") :].partition("/")
        self.prefix = prefix.strip("/")
        # Patient by default (8 tries, adaptive), yet the user's own AWS_MAX_ATTEMPTS / AWS_RETRY_MODE win, as in any
        # boto3 program: a Config in code would otherwise override them.
        retries = {
            "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", 8)),
            "mode": os.environ.get("AWS_RETRY_MODE", "adaptive"),
        }
        self.client = client or boto3.client("s3", config=Config(retries=retries))
        self.transfer = TransferConfig(
            multipart_threshold=self.MULTIPART_BYTES, multipart_chunksize=self.MULTIPART_BYTES
        )
        cache_root = Path(cache_dir or os.environ.get("ECGFLOW_S3_CACHE") or Path(tempfile.gettempdir()) / "ecgflow-s3")
        self.cache = cache_root / self.bucket / self.prefix
        self._check_bucket()

    def _check_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reason = {
                "404": "the bucket does not exist",
                "NoSuchBucket": "the bucket does not exist",
                "403": "access denied: check the AWS credentials",
                "AccessDenied": "access denied: check the AWS credentials",
            }
            raise WrongInput(f"store {self.uri}: {reason.get(code, code or str(error))}") from None
        except BotoCoreError as error:  # no credentials, unreachable endpoint, ...
            raise WrongInput(
                f"store {self.uri}: cannot reach the S3 endpoint ({type(error).__name__}: {error})"
            ) from None

    def _key(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError(f"store key {key!r} escapes the store root")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        final = self._key(key)
        temp = f"{final}{self.TEMP_MARK}{uuid.uuid4().hex}"
        digest = hashlib.sha256(data).hexdigest()
        self.client.upload_fileobj(
            io.BytesIO(data), self.bucket, temp, ExtraArgs={"Metadata": {"sha256": digest}}, Config=self.transfer
        )
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=temp)
            if head["ContentLength"] != len(data) or head.get("Metadata", {}).get("sha256") != digest:
                raise OSError(f"store {self.uri}: upload of {key!r} did not verify (size or checksum differ)")
            self.client.copy({"Bucket": self.bucket, "Key": temp}, self.bucket, final, Config=self.transfer)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=temp)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"no object {key!r} in store {self.uri}") from None

    def _size(self, key: str) -> int | None:
        """The object's size, None when there is none."""
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._size(key) is not None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _objects(self, prefix: str) -> dict[str, int]:
        """Key -> size of every published object under the folder `prefix`."""
        root = f"{self.prefix}/" if self.prefix else ""
        objects = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix) if prefix else root
        ):
            objects |= {
                o["Key"][len(root) :]: o["Size"] for o in page.get("Contents", []) if self.TEMP_MARK not in o["Key"]
            }
        if prefix:  # a prefix is a folder: "a" must not list "ab/x"
            objects = {k: v for k, v in objects.items() if k == prefix or k.startswith(prefix.rstrip("/") + "/")}
        return objects

    def list(self, prefix: str = "") -> list[str]:
        return sorted(self._objects(prefix))

    def local_root(self) -> Path:
        self.cache.mkdir(parents=True, exist_ok=True)
        return self.cache

    def _mirror(self, objects: dict[str, int]) -> None:
        for key, size in objects.items():
            path = self.cache / key
            if not path.is_file() or path.stat().st_size != size:  # new, or changed since the last mirror
                path.parent.mkdir(parents=True, exist_ok=True)
                self.client.download_file(self.bucket, self._key(key), str(path), Config=self.transfer)

    FETCH_BY_HEAD = 256  # up to this many keys are sized one request each; more, by listing their stage folders

    def fetch(self, keys: list[str]) -> Path:
        sizes = {}
        if len(keys) <= self.FETCH_BY_HEAD:  # a chunk of pages: cheaper than listing a folder of a million
            for key in keys:
                if (size := self._size(key)) is not None:
                    sizes[key] = size
        else:  # an instruction set's pages: one listing per stage folder (images/<dataset>, runs/<run_id>)
            for folder in sorted(
                {"/".join(k.split("/")[:2]) if k.count("/") > 1 else k.rpartition("/")[0] for k in keys}
            ):
                sizes |= self._objects(folder)
        self._refuse_missing(sorted(set(keys) - set(sizes)))
        self._mirror({key: sizes[key] for key in keys})
        return self.local_root()

    def local_dir(self, prefix: str) -> Path:
        local = self.cache / prefix
        local.mkdir(parents=True, exist_ok=True)
        self._mirror(self._objects(prefix))
        return local


def digest(store: Store, keys: list[str]) -> str:
    """SHA-256 over the content of `keys` (small files: manifests, indexes); a missing key counts as such."""
    h = hashlib.sha256()
    for key in keys:
        h.update(key.encode() + b"\0" + (store.get_bytes(key) if store.exists(key) else b"<missing>") + b"\0")
    return h.hexdigest()


def open_store(uri: str | Path) -> Store:
    text = str(uri)
    if text.startswith("s3://"):
        return S3Store(text)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return LocalStore(text)
