"""Photos are decoded within a pixel and memory budget, in a bounded number of heavy-work slots."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from gridmap.errors import InvalidInput
from gridmap.problems import photos
from tests.loadgen import saturated_heavy_work
from tests.problems.conftest import ON_BINJIANG_ROAD

LIMITS = {"max_bytes": 8_000_000, "max_count": 3}


def png_7000() -> bytes:
    """A 7000×7000 PNG of about 200 KB: 49 million pixels, 196 MB once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (7000, 7000), (120, 160, 90)).save(out, "PNG")
    return out.getvalue()


def big_jpeg(size=(8000, 6000), **save) -> bytes:
    """A textured phone-size (48 MP) JPEG of a few MB."""
    small = Image.effect_noise((size[0] // 16, size[1] // 16), 40).convert("RGB")
    out = io.BytesIO()
    small.resize(size, Image.Resampling.BILINEAR).save(out, "JPEG", quality=70, **save)
    return out.getvalue()


def with_sof_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with other dimensions written in its SOF header (what a bomb claims)."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 9 :]


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"decoded {self.size}")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.fixture
def decoded_sizes(monkeypatch):
    sizes = []
    real = ImageFile.ImageFile.load

    def spy(self, *args, **kwargs):
        sizes.append(self.size)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


def test_a_7000_square_png_is_refused_from_its_header_before_decoding(no_decoding):
    with pytest.raises(InvalidInput) as info:
        photos.prepare_photos([("ok.jpg", big_jpeg((800, 600))), ("巨图.png", png_7000())], **LIMITS)
    message = str(info.value)
    assert "巨图.png" in message and "7000×7000" in message and "1250 万像素" in message


def test_a_jpeg_claiming_too_many_pixels_is_refused_before_decoding(no_decoding):
    claim = with_sof_size(big_jpeg((800, 600)), 9000, 8000)
    with pytest.raises(InvalidInput, match=r"“大.jpg”尺寸过大（9000×8000.*6400 万像素"):
        photos.prepare_photos([("大.jpg", claim)], **LIMITS)


def test_a_large_jpeg_is_decoded_at_reduced_scale(decoded_sizes):
    [photo] = photos.prepare_photos([("phone.jpg", big_jpeg())], **LIMITS)
    assert set(decoded_sizes) == {(4000, 3000)}  # half scale, never the 8000×6000 raster
    assert (photo.width, photo.height) == (2048, 1536)
    assert Image.open(io.BytesIO(photo.data)).format == "JPEG"


def test_a_progressive_jpeg_over_the_memory_budget_is_refused(no_decoding):
    data = big_jpeg((7000, 7000), progressive=True)
    with pytest.raises(InvalidInput, match=r"“p.jpg”（7000×7000，渐进式 JPEG）解码需要约 \d+ MB 内存"):
        photos.prepare_photos([("p.jpg", data)], **LIMITS)


def test_other_formats_within_their_cap_still_work():
    out = io.BytesIO()
    Image.new("RGBA", (3000, 4000), (10, 200, 30, 128)).save(out, "PNG")
    [photo] = photos.prepare_photos([("screen.png", out.getvalue())], **LIMITS)
    assert (photo.width, photo.height) == (1536, 2048)


def _multipart(client, files):
    data = {
        "lon": str(ON_BINJIANG_ROAD[0]),
        "lat": str(ON_BINJIANG_ROAD[1]),
        "category": "garbage",
        "description": "照片测试",
        "photos": [(io.BytesIO(b), name) for name, b in files],
    }
    return client.post("/api/problems", data=data, content_type="multipart/form-data")


def test_the_report_api_refuses_a_bomb_with_a_chinese_message(client):
    r = _multipart(client, [("bomb.png", png_7000())])
    assert r.status_code == 400
    assert "bomb.png" in r.get_json()["message"] and "万像素" in r.get_json()["message"]


def test_a_saturated_worker_answers_503_with_retry_after(client):
    with saturated_heavy_work(wait_s=0.3):
        r = _multipart(client, [("a.jpg", big_jpeg((640, 480)))])
        assert r.status_code == 503, r.get_json()
        assert int(r.headers["Retry-After"]) >= 1
        assert "服务器正忙于其他照片处理" in r.get_json()["message"]
    assert _multipart(client, [("a.jpg", big_jpeg((640, 480)))]).status_code == 201
