"""Shared storage: a folder written atomically, and an S3 bucket on a real S3 server (moto) on loopback."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import socket

import pytest

from gridmap.errors import ConfigError, NotFound, ServiceBusy
from gridmap.settings import load_settings
from gridmap.storage import FolderStorage, S3Storage, open_storage, parse_location, storage_from_settings
from tests import s3server
from tests.s3server import ACCESS, SECRET

NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def bucket(s3_endpoint):
    """A new bucket on the test server; returns a raw boto3 client and the bucket's name."""
    return s3server.client(s3_endpoint), s3server.new_bucket(s3_endpoint)


def _s3(endpoint: str, bucket: str, prefix: str = "") -> S3Storage:
    return S3Storage(
        bucket=bucket, prefix=prefix, endpoint_url=endpoint, access_key=ACCESS, secret_key=SECRET
    )


# --- the folder ----------------------------------------------------------------------------
def test_folder_round_trip_and_nothing_but_the_file_is_left(tmp_path):
    storage = FolderStorage(tmp_path / "store")
    storage.put("uploads/20261127/a.jpg", b"one")
    storage.put("uploads/20261127/a.jpg", b"two")  # overwritten whole
    assert storage.get("uploads/20261127/a.jpg") == b"two"
    assert storage.exists("uploads/20261127/a.jpg") and not storage.exists("uploads/20261127/b.jpg")
    assert [p.name for p in (tmp_path / "store" / "uploads" / "20261127").iterdir()] == ["a.jpg"]
    storage.delete("uploads/20261127/a.jpg")
    storage.delete("uploads/20261127/a.jpg")  # gone already: no error
    with pytest.raises(NotFound, match="文件不存在"):
        storage.get("uploads/20261127/a.jpg")


@pytest.mark.parametrize("key", ["../secret", "a/../../b", "/etc/passwd", "", "a//b", "a\\b", "./a"])
def test_keys_cannot_leave_the_storage(tmp_path, key):
    (tmp_path / "secret").write_bytes(b"x")
    storage = FolderStorage(tmp_path / "store")
    with pytest.raises(NotFound, match="文件路径无效"):
        storage.get(key)
    with pytest.raises(NotFound):
        storage.put(key, b"y")
    assert (tmp_path / "secret").read_bytes() == b"x"


def _writer(root: str, key: str, fill: int, rounds: int) -> None:
    storage = FolderStorage(root)
    for _ in range(rounds):
        storage.put(key, bytes([fill]) * 2_000_000)


def test_readers_never_see_half_a_file_while_other_processes_write(tmp_path):
    """Two processes (like two servers on one NFS folder) rewrite one key; every read is one whole version."""
    storage = FolderStorage(tmp_path)
    storage.put("atlas/job.pdf", bytes([1]) * 2_000_000)
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_writer, args=(str(tmp_path), "atlas/job.pdf", fill, 15)) for fill in (2, 3)
    ]
    for w in writers:
        w.start()
    seen = set()
    reads = 0
    while any(w.is_alive() for w in writers) and reads < 2000:
        data = storage.get("atlas/job.pdf")
        assert len(data) == 2_000_000 and data.count(data[:1]) == len(data), "a torn read"
        seen.add(data[0])
        reads += 1
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    assert reads > 0 and seen <= {1, 2, 3}
    assert sorted(p.name for p in (tmp_path / "atlas").iterdir()) == ["job.pdf"]  # no temporary file left


def test_within_is_a_folder_under_the_prefix(tmp_path):
    photos = FolderStorage(tmp_path).within("uploads")
    photos.put("20261127/x.jpg", b"jpeg")
    assert (tmp_path / "uploads" / "20261127" / "x.jpg").read_bytes() == b"jpeg"


# --- S3 -----------------------------------------------------------------------------------
def test_s3_round_trip_under_the_prefix(s3_endpoint, bucket):
    client, name = bucket
    storage = _s3(s3_endpoint, name, prefix="/county-a/")
    photos = storage.within("uploads")
    photos.put("20261127/a.jpg", b"\xff\xd8jpeg")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == ["county-a/uploads/20261127/a.jpg"]
    assert photos.get("20261127/a.jpg") == b"\xff\xd8jpeg"
    assert storage.get("uploads/20261127/a.jpg") == b"\xff\xd8jpeg"
    assert photos.exists("20261127/a.jpg") and not photos.exists("20261127/b.jpg")
    photos.delete("20261127/a.jpg")
    photos.delete("20261127/a.jpg")
    assert not photos.exists("20261127/a.jpg")
    with pytest.raises(NotFound, match="文件不存在"):
        photos.get("20261127/a.jpg")
    with pytest.raises(NotFound, match="文件路径无效"):
        photos.get("../county-b/x")


def test_s3_seen_alike_by_two_clients(s3_endpoint, bucket):
    """What one server put is read by another (its own client, its own process state)."""
    _client, name = bucket
    _s3(s3_endpoint, name, "p").put("a/b.bin", b"shared")
    assert _s3(s3_endpoint, name, "p").get("a/b.bin") == b"shared"


def test_s3_unreachable_is_a_retry_later_not_a_traceback():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    storage = S3Storage(
        bucket="gridmap-x",
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key=ACCESS,
        secret_key=SECRET,
        timeout_s=1,
    )
    with pytest.raises(ServiceBusy, match="文件存储暂时无法访问") as caught:
        storage.put("a.jpg", b"x")
    assert caught.value.status == 503
    with pytest.raises(ServiceBusy):
        storage.get("a.jpg")


def test_s3_client_is_made_again_after_a_fork(s3_endpoint, bucket):
    _client, name = bucket
    storage = _s3(s3_endpoint, name)
    storage.put("before.txt", b"1")
    parent_client = storage.client()
    pid = os.fork()
    if pid == 0:  # the child must not reuse the parent's connection pool
        code = 0
        try:
            code = 0 if storage.client() is not parent_client and storage.get("before.txt") == b"1" else 1
        except BaseException:
            code = 2
        os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage.client() is parent_client


# --- settings -----------------------------------------------------------------------------
def test_locations_are_parsed_and_bad_buckets_named(tmp_path):
    assert parse_location("s3://gridmap-photos/") == "s3://gridmap-photos"
    assert parse_location("s3://gridmap-photos//county/a/") == "s3://gridmap-photos/county/a"
    assert parse_location(str(tmp_path / "x" / ".." / "shared")) == str(tmp_path / "shared")
    for bad in ("s3://A_bucket/x", "s3://ab/x", "s3:///x"):
        with pytest.raises(ConfigError, match="GRIDMAP_STORAGE"):
            load_settings({"GRIDMAP_STORAGE": bad}, environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})


def test_s3_needs_keys_from_the_environment(tmp_path):
    settings = load_settings(
        {"GRIDMAP_STORAGE": "s3://gridmap-photos/a"}, environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="GRIDMAP_S3_ACCESS_KEY"):
        storage_from_settings(settings)
    with pytest.raises(ConfigError, match="GRIDMAP_S3_SECRET_KEY"):
        open_storage("s3://gridmap-photos", access_key="only-one")


def test_default_is_the_instance_folder_and_a_folder_setting_is_used(tmp_path):
    default = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path / "inst")})
    storage = storage_from_settings(default)
    assert isinstance(storage, FolderStorage) and storage.root == tmp_path / "inst"
    shared = load_settings(
        {"GRIDMAP_STORAGE": str(tmp_path / "nfs")}, environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path / "inst")}
    )
    storage = storage_from_settings(shared)
    assert isinstance(storage, FolderStorage) and storage.root == tmp_path / "nfs"


# --- photos through the storage ---------------------------------------------------------------
def _context(store, settings):
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache

    return context_from_settings(store, ReferenceCache(store, tolerance_m=50.0), settings)


def test_a_report_photo_goes_to_the_bucket_and_is_served_by_another_context(
    loaded_store, settings, s3_endpoint, bucket
):
    from gridmap.problems import records
    from gridmap.problems.service import report_problem
    from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes

    client, name = bucket
    s3 = {
        "GRIDMAP_STORAGE": f"s3://{name}/county",
        "GRIDMAP_S3_ENDPOINT": s3_endpoint,
        "GRIDMAP_S3_ACCESS_KEY": ACCESS,
        "GRIDMAP_S3_SECRET_KEY": SECRET,
        "GRIDMAP_S3_REGION": "us-east-1",
    }
    one = _context(loaded_store, load_settings({**settings, **s3}, environ={}))
    rec = report_problem(
        one,
        category="garbage",
        description="照片",
        photos=[("a.jpg", jpeg_bytes(gps=NEAR_HOSPITAL))],
        now=NOW,
    ).record
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"])
    assert len(keys) == 2 and all(k.startswith("county/uploads/20261127/") for k in keys)
    photo_id = rec["photos"][0]["id"]
    # a second server: its own context and client, nothing on its disk
    other = _context(loaded_store, load_settings({**settings, **s3}, environ={}))
    data = records.photo_file(other, photo_id)
    assert data[:2] == b"\xff\xd8"
    assert records.photo_file(other, photo_id, thumb=True)[:2] == b"\xff\xd8"
    assert not (os.path.exists(os.path.join(settings["GRIDMAP_INSTANCE_DIR"], "uploads")))


def test_photo_dir_still_keeps_photos_in_a_folder_of_their_own(loaded_store, settings, tmp_path):
    ctx = _context(
        loaded_store, load_settings({**settings, "GRIDMAP_PHOTO_DIR": str(tmp_path / "p")}, environ={})
    )
    ctx.storage.put("20261127/x.jpg", b"j")
    assert (tmp_path / "p" / "20261127" / "x.jpg").is_file()
    default = _context(loaded_store, load_settings(settings, environ={}))
    default.storage.put("20261127/y.jpg", b"j")  # where photos always were: the instance's uploads/
    assert (tmp_path / "instance" / "uploads" / "20261127" / "y.jpg").is_file()
