"""Keep GDAL and PROJ off the network while they read users' files (links inside files are never fetched).

A GeoJSON ``crs`` of type "link" or "url" (also on single geometries) makes GDAL fetch that
URL; /vsicurl/ and the cloud file systems open URLs. `no_network` closes every such door,
three times over, for the whole process:

1. ``CPLHTTPSetFetchCallback``: every ``CPLHTTPFetch`` (OSR ``importFromUrl``, WFS, …) is
   answered by a callback that refuses, without any connection;
2. ``GDAL_HTTP_PROXY``/``GDAL_HTTPS_PROXY`` set to a scheme curl does not know, so a request
   that bypasses the callback (the /vsicurl/ family) fails before it connects;
3. ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` set to an extension no file has, so /vsicurl/ refuses
   every URL even when ``NO_PROXY`` would let it bypass the proxy;

and PROJ's network access (grid downloads from cdn.proj.org) is switched off in pyproj and in
GDAL's PROJ context. `gridmap.io` calls it on import, so every process that reads files (CLI,
web workers, routing) is covered; readers call it again, which is cheap.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import re
import threading

__all__ = ["GDAL_OFFLINE_OPTIONS", "contains_url", "no_network", "refused_urls"]

GDAL_OFFLINE_OPTIONS: dict[str, str] = {
    "GDAL_HTTP_PROXY": "gridmap-no-network://refused",
    "GDAL_HTTPS_PROXY": "gridmap-no-network://refused",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".gridmap-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_NETRC": "NO",
    "CPL_CURL_ENABLE_VSIMEM": "NO",
}

# Anything that names a remote resource or a GDAL virtual file system.
_URL = re.compile(r"(?i)\b(?:https?|ftps?|file|s3|gs|az|wasbs?)://|/vsi[a-z0-9_]+/")

_lock = threading.Lock()
_done = False
_callback = None  # the ctypes callback must stay alive as long as GDAL may call it
_refused: list[str] = []


def contains_url(text: str) -> bool:
    """Whether text holds a URL (http, ftp, file, cloud buckets) or a GDAL /vsi…/ path."""
    return bool(_URL.search(text))


def refused_urls() -> list[str]:
    """URLs that GDAL asked for and was refused in this process (most recent last, at most 100)."""
    return list(_refused)


class _HTTPResult(ctypes.Structure):
    # cpl_http.h CPLHTTPResult (GDAL 3.x); only the first fields are set, the rest stay zero.
    _fields_ = [
        ("nStatus", ctypes.c_int),
        ("pszContentType", ctypes.c_void_p),
        ("pszErrBuf", ctypes.c_void_p),
        ("nDataLen", ctypes.c_int),
        ("nDataAlloc", ctypes.c_int),
        ("pabyData", ctypes.c_void_p),
        ("papszHeaders", ctypes.c_void_p),
        ("nMimePartCount", ctypes.c_int),
        ("pasMimePart", ctypes.c_void_p),
    ]


_FETCH = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.c_char_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
)


def _gdal_library():
    """The libgdal that pyogrio loaded (its wheel bundles one), or None."""
    import pyogrio

    here = os.path.dirname(pyogrio.__file__)
    for pattern in (
        os.path.join(here, os.pardir, "pyogrio.libs", "libgdal*"),
        os.path.join(here, ".dylibs", "libgdal*"),
        os.path.join(here, "libgdal*"),
    ):
        found = sorted(glob.glob(pattern))
        if found:
            try:
                return ctypes.CDLL(found[0])  # already loaded: the same handle
            except OSError:
                return None
    try:  # a pyogrio built against the system GDAL
        return ctypes.CDLL("libgdal.so")
    except OSError:
        return None


def _install_fetch_callback(lib) -> bool:
    global _callback
    try:
        calloc = lib.CPLCalloc
        strdup = lib.CPLStrdup
        setter = lib.CPLHTTPSetFetchCallback
    except AttributeError:
        return False
    calloc.restype = ctypes.c_void_p
    calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    strdup.restype = ctypes.c_void_p
    strdup.argtypes = [ctypes.c_char_p]
    setter.restype = None
    setter.argtypes = [_FETCH, ctypes.c_void_p]

    def refuse(url, *_args):
        text = (url or b"").decode("utf-8", "replace")
        _refused.append(text[:300])
        del _refused[:-100]
        # Allocated by GDAL's allocator so CPLHTTPDestroyResult can free it; room to spare.
        pointer = calloc(1, max(ctypes.sizeof(_HTTPResult), 256))
        result = _HTTPResult.from_address(pointer)
        result.nStatus = 1
        result.pszErrBuf = strdup(b"gridmap: network access is disabled while reading files")
        return pointer

    _callback = _FETCH(refuse)
    setter(_callback, None)
    return True


def no_network() -> None:
    """Switch GDAL's and PROJ's network access off for this process (idempotent, cheap)."""
    global _done
    import pyogrio

    pyogrio.set_gdal_config_options(GDAL_OFFLINE_OPTIONS)
    if _done:
        return
    with _lock:
        if _done:
            return
        os.environ["PROJ_NETWORK"] = "OFF"
        with contextlib.suppress(Exception):  # an old pyproj without the switch: PROJ_NETWORK does it
            import pyproj.network

            pyproj.network.set_network_enabled(active=False)
        lib = _gdal_library()
        if lib is not None:
            _install_fetch_callback(lib)
            try:
                lib.OSRSetPROJEnableNetwork.argtypes = [ctypes.c_int]
                lib.OSRSetPROJEnableNetwork(0)
            except AttributeError:
                pass
        _done = True
