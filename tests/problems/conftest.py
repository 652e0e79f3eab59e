"""Fixtures for problem tests: a problem context over the tiny dataset, users, photos."""

from __future__ import annotations

import io

import pytest
from PIL import Image

# Spots in the tiny dataset (tests/factory.py)
ON_BINJIANG_ROAD = (106.5151, 33.9101)  # grid 610330100001, segment S1 → unit U1
ON_XINJIAN_ROAD = (106.5251, 33.9101)  # grid 610330100002, segments S2/S3 → U2 or U3
NEAR_HOSPITAL = (106.5221, 33.9071)  # grid 610330100002, point P2 → U2
OUTSIDE_GRIDS = (106.45, 33.85)  # town 610330100, in no grid
OUTSIDE_COUNTY = (100.0, 30.0)


@pytest.fixture
def ctx(loaded_store, settings):
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache
    from gridmap.settings import load_settings

    return context_from_settings(
        loaded_store, ReferenceCache(loaded_store, tolerance_m=50.0), load_settings(settings, environ={})
    )


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), gps: tuple[float, float] | None = None) -> bytes:
    """A real JPEG, optionally with an EXIF GPS block (lon, lat)."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps is not None:
        lon, lat = gps

        def dms(value: float):
            d = int(value)
            m = int((value - d) * 60)
            s = round(((value - d) * 60 - m) * 60, 4)
            return (float(d), float(m), float(s))

        exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def make_user(loaded_store):
    from gridmap.auth import add_user

    def make(username, role, **kw):
        return add_user(loaded_store, username=username, role=role, password="secret-pass-1", **kw)

    return make
