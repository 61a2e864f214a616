"""The artifact store every stage reads and writes: keys like `records/synthetic/shard-00000.parquet`.

`open_store(uri)` picks the backend from the URI: a folder path (or `file://`) gives `LocalStore`.
Backends implement five byte-level methods; everything else (JSON, JSONL, folders) is built on them,
so an object-store backend (S3) only has to supply those five.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path


class Store(ABC):
    uri: str

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

    def put_dir(self, local: Path, prefix: str) -> list[str]:
        """Upload every file under `local` to `prefix/<relative path>`; returns the keys written."""
        keys = []
        for path in sorted(Path(local).rglob("*")):
            if path.is_file():
                key = f"{prefix.rstrip('/')}/{path.relative_to(local).as_posix()}"
                self.put_bytes(key, path.read_bytes())
                keys.append(key)
        return keys

    def url(self, key: str) -> str:
        """A link people can open (used in reports and Prefect artifacts)."""
        return f"{self.uri.rstrip('/')}/{key}"


class LocalStore(Store):
    """A folder on disk; the default store (`./demo-store` for the demo)."""

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
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".part")
        )

    def local_dir(self, prefix: str) -> Path:
        path = self._path(prefix)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_dir(self, local: Path, prefix: str) -> list[str]:
        target = self._path(prefix)
        if Path(local).resolve() == target:  # already in place (trainer wrote straight into the store)
            return self.list(prefix)
        return super().put_dir(local, prefix)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()


def open_store(uri: str | Path) -> Store:
    text = str(uri)
    if text.startswith("s3://"):
        raise NotImplementedError("the S3 backend is not part of this release; use a local folder")
    if text.startswith("file://"):
        text = text[len("file://") :]
    return LocalStore(text)
