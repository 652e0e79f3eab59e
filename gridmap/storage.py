"""Where uploaded and generated files live: a folder (local or shared over NFS) or any S3-compatible bucket."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from gridmap.errors import ConfigError, NotFound, ServiceBusy

__all__ = [
    "FolderStorage",
    "S3Storage",
    "Storage",
    "check_key",
    "open_storage",
    "parse_location",
    "storage_from_settings",
]

S3_SCHEME = "s3://"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_UNREACHABLE_RETRY_S = 5


class Storage(Protocol):
    """Bytes under keys such as ``uploads/20261201/ab12.jpg``; every server of a deployment sees the same."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, whole or not at all (a reader never sees half a file)."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; NotFound when there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is not there."""

    def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""

    def within(self, prefix: str) -> Storage:
        """The same storage seen under a key prefix: ``within("uploads").put("a.jpg", …)`` writes ``uploads/a.jpg``."""

    def listing(self, prefix: str = "") -> list[tuple[str, float]]:
        """(key, last modified as a Unix time) of everything stored under the folder ``prefix``, sorted by key."""


def check_key(key: str) -> str:
    """``key`` if it is a plain relative path of names (no ``..``, no leading ``/``); NotFound otherwise."""
    parts = key.split("/")
    if not key or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        msg = f"文件路径无效：{key[:100]!r}"
        raise NotFound(msg)
    return key


class FolderStorage:
    """Files under one folder: on one machine, or shared by every server (NFS, CIFS) of a deployment.

    A write goes to a temporary file of a unique name beside its target, is flushed to disk and
    renamed over the target: rename is atomic on a POSIX file system and on NFS, so another server
    reads the old file, the new one or none, never half of one. Nothing is kept per process.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where ``key`` lives on disk."""
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with self._create(tmp) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    @staticmethod
    def _create(tmp: Path):
        """Open a new file for writing, making its folder (again, if a delete just removed it empty)."""
        for attempt in range(3):
            tmp.parent.mkdir(parents=True, exist_ok=True)
            try:
                return open(tmp, "wb")
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError  # unreachable

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except OSError:
            msg = f"文件不存在：{key}"
            raise NotFound(msg) from None

    def delete(self, key: str) -> None:
        path = self.path(key)
        with contextlib.suppress(OSError):
            path.unlink()
        for folder in path.parents:  # folders left empty go too (a put makes them again)
            if folder == self.root or self.root not in folder.parents:
                break
            try:
                folder.rmdir()
            except OSError:
                break

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def within(self, prefix: str) -> FolderStorage:
        return FolderStorage(self.path(prefix.strip("/")))

    def listing(self, prefix: str = "") -> list[tuple[str, float]]:
        top = self.path(prefix.strip("/")) if prefix.strip("/") else self.root
        found = []
        for path in top.rglob("*") if top.is_dir() else ():
            if path.name.startswith("."):  # a write under way (its temporary file)
                continue
            with contextlib.suppress(OSError):  # removed by another server meanwhile
                if path.is_file():
                    found.append((path.relative_to(self.root).as_posix(), path.stat().st_mtime))
        return sorted(found)


def _unreachable(action: str, exc: Exception) -> ServiceBusy:
    msg = f"文件存储暂时无法访问（{action}：{type(exc).__name__}），本次操作未完成；请稍后重试，如持续出现请联系管理员检查对象存储"
    return ServiceBusy(msg, retry_after=_UNREACHABLE_RETRY_S)


class S3Storage:
    """Objects in a bucket of any S3 API (MinIO, Ceph RGW, a cloud's object storage), under a key prefix.

    Path-style addresses (``endpoint/bucket/key``) work with every S3-compatible server. The client
    is made on first use in each process (never before a server forks its workers) and shared by
    that process's threads.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self.access_key = access_key or None
        self.secret_key = secret_key or None
        self.region = region or None
        self.timeout_s = timeout_s
        self._client: tuple[int, Any] | None = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The boto3 S3 client of this process (a new one after a fork)."""
        made = self._client
        if made is not None and made[0] == os.getpid():
            return made[1]
        with self._lock:
            made = self._client
            if made is None or made[0] != os.getpid():
                import boto3
                from botocore.config import Config

                config = Config(
                    s3={"addressing_style": "path"},
                    connect_timeout=self.timeout_s,
                    read_timeout=self.timeout_s,
                    retries={"max_attempts": 3, "mode": "standard"},
                )
                client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    region_name=self.region,
                    config=config,
                )
                made = (os.getpid(), client)
                self._client = made
        return made[1]

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        name = self.object_key(key)
        try:
            self.client().put_object(Bucket=self.bucket, Key=name, Body=data)
        except Exception as exc:
            raise _unreachable("写入", exc) from exc

    def get(self, key: str) -> bytes:
        name = self.object_key(key)
        try:
            answer = self.client().get_object(Bucket=self.bucket, Key=name)
            return bytes(answer["Body"].read())
        except Exception as exc:
            if _missing(exc):
                msg = f"文件不存在：{key}"
                raise NotFound(msg) from None
            raise _unreachable("读取", exc) from exc

    def delete(self, key: str) -> None:
        name = self.object_key(key)
        try:
            self.client().delete_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if not _missing(exc):
                raise _unreachable("删除", exc) from exc

    def exists(self, key: str) -> bool:
        name = self.object_key(key)
        try:
            self.client().head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _missing(exc):
                return False
            raise _unreachable("查询", exc) from exc
        return True

    def listing(self, prefix: str = "") -> list[tuple[str, float]]:
        start = self.prefix + (check_key(prefix.strip("/")) + "/" if prefix.strip("/") else "")
        found = []
        try:
            pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
            for page in pages:
                for item in page.get("Contents", ()):
                    found.append((item["Key"][len(self.prefix) :], item["LastModified"].timestamp()))
        except Exception as exc:
            raise _unreachable("列出", exc) from exc
        return sorted(found)

    def within(self, prefix: str) -> S3Storage:
        return S3Storage(
            bucket=self.bucket,
            prefix=self.prefix + check_key(prefix.strip("/")),
            endpoint_url=self.endpoint_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            timeout_s=self.timeout_s,
        )


def _missing(exc: Exception) -> bool:
    """Whether a botocore error says the object (not the bucket or the server) is missing."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def parse_location(value: str) -> str:
    """GRIDMAP_STORAGE: a folder (made absolute) or ``s3://bucket/prefix``; ValueError says what is wrong."""
    text = value.strip()
    if text.lower().startswith(S3_SCHEME):
        parts = urlsplit(text)
        bucket = parts.netloc
        if not _BUCKET.match(bucket) or ".." in bucket:
            msg = f"应为 s3://存储桶/前缀，存储桶名 3 到 63 个小写字母、数字、点或连字符，实际为 {value!r}"
            raise ValueError(msg)
        return f"{S3_SCHEME}{bucket}/{parts.path.strip('/')}".rstrip("/")
    return str(Path(text).expanduser().resolve())


def open_storage(
    location: str,
    *,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
) -> Storage:
    """The storage a GRIDMAP_STORAGE value names: a FolderStorage, or an S3Storage for ``s3://bucket/prefix``."""
    if not location.lower().startswith(S3_SCHEME):
        return FolderStorage(location)
    parts = urlsplit(location)
    if not (access_key and secret_key):
        msg = (
            f"GRIDMAP_STORAGE={location} 使用对象存储，但没有设置 GRIDMAP_S3_ACCESS_KEY 和 GRIDMAP_S3_SECRET_KEY；"
            "请在环境变量中给出访问密钥"
        )
        raise ConfigError(msg)
    return S3Storage(
        bucket=parts.netloc,
        prefix=parts.path,
        endpoint_url=endpoint_url,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
    )


def storage_from_settings(settings: Mapping[str, Any]) -> Storage:
    """The deployment's shared storage: GRIDMAP_STORAGE, or the instance folder when it is empty."""
    location = settings["GRIDMAP_STORAGE"] or str(Path(settings["GRIDMAP_INSTANCE_DIR"]))
    return open_storage(
        location,
        endpoint_url=settings["GRIDMAP_S3_ENDPOINT"] or None,
        access_key=settings["GRIDMAP_S3_ACCESS_KEY"] or None,
        secret_key=settings["GRIDMAP_S3_SECRET_KEY"] or None,
        region=settings["GRIDMAP_S3_REGION"] or None,
    )
