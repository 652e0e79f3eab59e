"""The reference cache of a server: the version read at most every check_s, builds outside requests, forks."""

from __future__ import annotations

import os
import threading
import time
import types

import pytest

from gridmap import reference as reference_module
from gridmap import serving
from gridmap.errors import NotFound, ServiceBusy
from gridmap.reference import ReferenceCache, load_directory
from gridmap.store import Store
from tests import factory

SPOT = (106.52, 33.91)  # inside the tiny dataset's first grid


def _renamed_dataset(tmp_path, name: str):
    layers = factory.layers()
    layers["grids"].loc[0, "name"] = name
    return factory.write_dataset(tmp_path / f"data-{name}", layers_=layers)


def _counting(store: Store) -> list[int]:
    """Count the store's data-version reads (one DB round trip each)."""
    calls: list[int] = []
    read = store.data_version

    def counted() -> int:
        calls.append(1)
        return read()

    store.data_version = counted  # type: ignore[method-assign]
    return calls


def _elsewhere(monkeypatch, write) -> None:
    """Run ``write`` as if another server did it: this process's bump counter does not move."""
    before = Store.bumps_here
    write()
    monkeypatch.setattr(Store, "bumps_here", before)


def _first_grid_name(cache: ReferenceCache) -> str:
    return str(cache.model().grids.iloc[0]["name"])


def test_version_is_read_at_most_every_check_s(loaded_store):
    calls = _counting(loaded_store)
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=60)
    for _ in range(50):
        cache.whois().lookup(*SPOT)
    assert len(calls) == 1
    every = ReferenceCache(loaded_store, tolerance_m=50, check_s=0)
    for _ in range(5):
        every.whois().lookup(*SPOT)
    assert len(calls) == 1 + 5


def test_a_write_in_this_process_is_seen_at_once(loaded_store, tmp_path):
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=3600)
    old = _first_grid_name(cache)
    load_directory(loaded_store, _renamed_dataset(tmp_path, "新名一"))
    assert old != "新名一" and _first_grid_name(cache) == "新名一"


def test_another_servers_write_is_seen_after_check_s(loaded_store, tmp_path, monkeypatch):
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=60)
    old = _first_grid_name(cache)
    _elsewhere(monkeypatch, lambda: load_directory(loaded_store, _renamed_dataset(tmp_path, "新名二")))
    assert _first_grid_name(cache) == old  # trusted for check_s
    later = time.monotonic() + 61
    monkeypatch.setattr(reference_module, "time", types.SimpleNamespace(monotonic=lambda: later))
    assert _first_grid_name(cache) == "新名二"


def test_a_worker_rebuilds_in_the_background_while_the_old_model_answers(loaded_store, tmp_path, monkeypatch):
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=0)
    cache.warm()
    cache.forked()  # as in a gunicorn worker
    old = _first_grid_name(cache)
    release, started = threading.Event(), threading.Event()
    build = reference_module.build_model

    def slow_build(dataset):
        started.set()
        assert release.wait(30)
        return build(dataset)

    _elsewhere(monkeypatch, lambda: load_directory(loaded_store, _renamed_dataset(tmp_path, "新名三")))
    monkeypatch.setattr(reference_module, "build_model", slow_build)
    answered: list[str] = []
    asker = threading.Thread(target=lambda: answered.append(_first_grid_name(cache)), daemon=True)
    asker.start()
    asker.join(10)
    assert answered == [old], "a request waited for the build instead of answering from the old model"
    assert started.wait(10), "no background build was started"
    assert cache.whois().lookup(*SPOT)["grid"] is not None  # still answering while the build waits
    release.set()
    deadline = time.monotonic() + 30
    while _first_grid_name(cache) != "新名三" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _first_grid_name(cache) == "新名三"


def test_a_cold_worker_answers_busy_instead_of_building_inside_the_request(loaded_store):
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=0)
    cache.forked()
    with pytest.raises(ServiceBusy) as busy:
        cache.model()
    assert busy.value.status == 503 and "正在载入" in busy.value.message
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            cache.model()
            break
        except ServiceBusy:
            time.sleep(0.05)
    assert cache.whois().lookup(*SPOT)["grid"] is not None


def test_no_data_yet_is_a_clear_not_found_every_time(store):
    cache = ReferenceCache(store, tolerance_m=50, check_s=60)
    for _ in range(3):
        with pytest.raises(NotFound, match="gridmap load"):
            cache.model()


def test_derived_lists_are_built_once_per_data_version(loaded_store, tmp_path):
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=3600)
    built: list[int] = []

    def names(model):
        built.append(1)
        return list(model.grids["name"])

    cache.cached_later("names", names)
    cache.warm()
    assert len(built) == 1  # at start-up, before any request
    for _ in range(5):
        assert cache.cached("names", names)[0] == _first_grid_name(cache)
    assert len(built) == 1
    load_directory(loaded_store, _renamed_dataset(tmp_path, "新名四"))
    assert cache.cached("names", names)[0] == "新名四"
    assert len(built) == 2


def test_the_master_builds_then_closes_and_workers_forget_inherited_connections(settings, loaded_store):
    from web import create_app

    app = create_app(settings)
    store, cache = app.extensions["gridmap.store"], app.extensions["gridmap.reference"]
    with app.test_client() as client:
        assert client.get(f"/api/whois?lon={SPOT[0]}&lat={SPOT[1]}").status_code == 200
    assert store.engine.pool.checkedin() >= 1  # the pool keeps a connection between requests
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            serving.forked()
            os.write(write, f"{store.engine.pool.checkedin()} {cache.background}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as fh:
        assert fh.read() == "0 True", "a forked worker kept the master's pooled connection"
    assert store.engine.pool.checkedin() >= 1  # the master's own connection was not closed by the child
    with app.test_client() as client:
        assert client.get(f"/api/whois?lon={SPOT[0]}&lat={SPOT[1]}").status_code == 200
    fresh = create_app(settings)
    fresh_store, fresh_cache = fresh.extensions["gridmap.store"], fresh.extensions["gridmap.reference"]
    serving.ready()  # gunicorn's on_starting in the master
    assert fresh_store.engine.pool.checkedin() == 0
    calls = _counting(fresh_store)
    assert fresh_cache.whois().lookup(*SPOT)["grid"] is not None
    assert fresh_cache.cached("grid_list", list)  # the grid list was derived at start-up
    assert calls == []  # built before the fork: the first request reads nothing


def test_a_failing_start_up_hook_is_logged_and_the_next_still_runs(caplog):
    calls: list[str] = []

    class Hooks:
        def fail(self) -> None:
            calls.append("fail")
            msg = "the database is not reachable"
            raise RuntimeError(msg)

        def release(self, *, close: bool) -> None:
            calls.append(f"release close={close}")

    hooks = Hooks()
    serving.on_ready(hooks.fail)
    serving.on_ready(hooks.release, close=True)
    serving.ready()
    assert calls[-2:] == ["fail", "release close=True"]
    assert "the database is not reachable" in caplog.text


def test_a_warm_worker_reads_the_version_in_the_background_never_in_a_request(
    loaded_store, tmp_path, monkeypatch
):
    """On PostgreSQL a version read inside a request yields the worker's event loop to other requests
    (a whois waited 1-2 s behind photo uploads): a warm worker reads it in the background instead."""
    cache = ReferenceCache(loaded_store, tolerance_m=50, check_s=0)
    cache.warm()
    cache.forked()  # as in a gunicorn worker
    _elsewhere(monkeypatch, lambda: load_directory(loaded_store, _renamed_dataset(tmp_path, "新名四")))
    readers: list[int] = []
    read = loaded_store.data_version

    def counted() -> int:
        readers.append(threading.get_ident())
        return read()

    loaded_store.data_version = counted  # type: ignore[method-assign]
    deadline = time.monotonic() + 30
    while _first_grid_name(cache) != "新名四" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _first_grid_name(cache) == "新名四"  # the new data still arrives
    assert readers, "the data version was never read"
    assert threading.get_ident() not in readers, "a request read the data version itself"
