"""Listing what a storage holds (to expire kept uploads), on a folder and on a real S3 server."""

from __future__ import annotations

import time

import pytest

from gridmap.storage import FolderStorage, S3Storage
from tests import s3server


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3server.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["folder", "s3"])
def storage(request, tmp_path):
    if request.param == "folder":
        return FolderStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(
        bucket=s3server.new_bucket(endpoint),
        prefix="county",
        endpoint_url=endpoint,
        access_key=s3server.ACCESS,
        secret_key=s3server.SECRET,
    )


def test_listing_names_keys_under_a_prefix_with_their_times(storage):
    assert storage.listing() == []
    before = time.time() - 60
    storage.put("imports/tok1/data.gpkg", b"g")
    storage.put("imports/tok2/data.csv", b"c")
    storage.put("importsX/other.bin", b"x")  # a sibling whose name only starts alike
    listed = storage.listing("imports")
    assert [key for key, _ in listed] == ["imports/tok1/data.gpkg", "imports/tok2/data.csv"]
    assert all(before < modified < time.time() + 60 for _, modified in listed)
    inner = storage.within("imports")
    assert [key for key, _ in inner.listing("tok2")] == ["tok2/data.csv"]
    inner.delete("tok2/data.csv")
    assert [key for key, _ in storage.listing()] == sorted(["importsX/other.bin", "imports/tok1/data.gpkg"])


def test_a_folder_left_empty_by_a_delete_goes_and_a_put_makes_it_again(tmp_path):
    storage = FolderStorage(tmp_path / "store")
    storage.put("imports/tok/data.gpkg", b"g")
    storage.put("imports/keep/data.csv", b"c")
    storage.delete("imports/tok/data.gpkg")
    assert not (tmp_path / "store" / "imports" / "tok").exists()
    assert (tmp_path / "store" / "imports" / "keep" / "data.csv").is_file()
    assert (tmp_path / "store").is_dir()  # never the root
    storage.put("imports/tok/data.gpkg", b"again")
    assert storage.get("imports/tok/data.gpkg") == b"again"
    storage.delete("imports/keep/data.csv")
    storage.delete("imports/tok/data.gpkg")
    assert list((tmp_path / "store").iterdir()) == []
    assert storage.listing() == []
