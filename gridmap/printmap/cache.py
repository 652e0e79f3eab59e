"""Rendered print maps kept on disk per data version and page options, within a size budget."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

_HEADER = struct.Struct(">I")  # length of the JSON header that precedes the file's bytes


class PrintCache:
    """A folder of rendered pages named by a hash of what they depend on; the oldest used go first
    when the folder grows past ``max_bytes``. Safe for several processes: files are written whole
    (rename) and a vanished file is a miss."""

    def __init__(self, folder: str | Path, *, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @staticmethod
    def key(**parts: object) -> str:
        text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.page"

    def get(self, key: str) -> tuple[dict, bytes] | None:
        """(metadata, bytes) of a cached page, or None."""
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            blob = path.read_bytes()
            (size,) = _HEADER.unpack_from(blob)
            meta = json.loads(blob[_HEADER.size : _HEADER.size + size].decode("utf-8"))
            os.utime(path)  # recently used: evicted last
        except (OSError, ValueError, struct.error):
            return None
        return meta, blob[_HEADER.size + size :]

    def put(self, key: str, meta: dict, data: bytes) -> None:
        """Keep a page (skipped when it alone exceeds the budget), then trim the folder to the budget."""
        if not self.enabled:
            return
        header = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        blob = _HEADER.pack(len(header)) + header + data
        if len(blob) > self.max_bytes:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.{os.getpid()}.{time.monotonic_ns()}.tmp"
            tmp.write_bytes(blob)
            os.replace(tmp, self._path(key))
        except OSError:
            return  # a full disk must not fail the request: the page is still answered
        self.trim()

    def trim(self) -> None:
        """Delete the least recently used pages until the folder is within the budget (and the
        leftovers of interrupted writes)."""
        entries = []
        for path in self.folder.glob(".*.tmp"):
            try:
                if path.stat().st_mtime < time.time() - 3600:
                    path.unlink()
            except OSError:
                continue
        for path in self.folder.glob("*.page"):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size


def cached(
    pages: PrintCache | None, parts: dict, make: Callable[[], tuple[dict, bytes]]
) -> tuple[dict, bytes]:
    """(metadata, bytes) kept for ``parts`` in ``pages``, or made by ``make()`` and kept there.

    ``parts`` must name everything the file depends on (data version, options, date, …).
    """
    if pages is None or not pages.enabled:
        return make()
    key = pages.key(**parts)
    hit = pages.get(key)
    if hit is not None:
        return hit
    meta, data = make()
    pages.put(key, meta, data)
    return meta, data
