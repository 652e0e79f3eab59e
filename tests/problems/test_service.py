"""Reporting: validation, assignment from whois, deadlines, tracking numbers, idempotency, photos."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from gridmap.auth import User
from gridmap.errors import Conflict, InvalidInput
from gridmap.problems.schema import problem_photos, problems
from gridmap.problems.service import report_problem
from tests.problems.conftest import (
    NEAR_HOSPITAL,
    ON_BINJIANG_ROAD,
    OUTSIDE_COUNTY,
    OUTSIDE_GRIDS,
    jpeg_bytes,
)

OFFICE = User(id=0, username="office-test", role="office")

NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def count(store, table=problems):
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


@pytest.mark.parametrize("spot", [ON_BINJIANG_ROAD, NEAR_HOSPITAL, OUTSIDE_GRIDS])
def test_assignment_equals_whois(ctx, spot):
    rec = report_problem(
        ctx, lon=spot[0], lat=spot[1], category="garbage", description="垃圾堆", now=NOW
    ).record
    who = ctx.reference.whois().lookup(*spot)
    assert rec["grid"] == who["grid"]
    expected_unit = who["responsible_unit"]
    assert (rec["unit"] or {}).get("code") == (expected_unit or {}).get("code")
    assert rec["fallback"] is who["fallback"]
    assert rec["status"] == "reported"


def test_outside_every_grid_goes_to_the_town_queue_flagged(ctx):
    rec = report_problem(
        ctx, lon=OUTSIDE_GRIDS[0], lat=OUTSIDE_GRIDS[1], category="garbage", description="x", now=NOW
    ).record
    assert rec["grid"] is None and rec["fallback"] is True
    assert rec["town"]["code"] == "610330100"


def test_deadline_and_tracking_number_follow_category_and_china_date(ctx):
    first = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="manhole",
        description="井盖没了",
        now=NOW,
    ).record
    second = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="井盖缺失",
        description="又一个",
        now=NOW,
    ).record
    assert first["tracking_no"] == "FX20261127-0001"
    assert second["tracking_no"] == "FX20261127-0002"
    # a missing manhole cover is urgent by default: 2 working hours from Friday 09:00
    assert first["deadline"] == "2026-11-27T11:00:00+08:00"
    with ctx.store.engine.connect() as conn:
        urgency = select(problems.c.urgency).where(problems.c.tracking_no == first["tracking_no"])
        assert conn.execute(urgency).scalar() == "urgent"
    late = NOW.replace(hour=17)  # 01:00 next day in Shanghai
    assert (
        report_problem(
            ctx,
            lon=ON_BINJIANG_ROAD[0],
            lat=ON_BINJIANG_ROAD[1],
            category="garbage",
            description="y",
            now=late,
        ).record["tracking_no"]
        == "FX20261128-0001"
    )


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"lon": 200, "lat": 33.9}, "经度"),
        ({"lon": 106.5, "lat": -95}, "纬度"),
        ({"lon": "abc", "lat": 33.9}, "应为数字"),
        ({"lon": OUTSIDE_COUNTY[0], "lat": OUTSIDE_COUNTY[1]}, "不在本县范围内"),
        ({"category": "nope"}, "问题类别“nope”不存在，请从列表中选择"),
        ({"category": None}, "^请选择问题类别\n"),  # the field name only in the details
        ({"description": "  "}, "^请填写问题描述"),
        ({"description": "x" * 2001}, "问题描述最多 2000 个字，现在有 2001 个字"),
        ({"source": "robot", "user": OFFICE}, "来源 source"),  # anonymous claims are ignored
        ({"reporter_phone": "call me"}, "联系电话"),
        ({"lon": None, "lat": None}, "^请在地图上点选问题位置"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(ctx, kwargs, text):
    args = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": "garbage",
        "description": "垃圾",
        **kwargs,
    }
    with pytest.raises(InvalidInput, match=text):
        report_problem(ctx, **args, now=NOW)
    assert count(ctx.store) == 0


def test_blank_form_asks_for_everything_at_once_in_plain_words(ctx):
    with pytest.raises(InvalidInput) as caught:
        report_problem(ctx, lon="", lat="", category="", description=" ", now=NOW)
    message = caught.value.message
    assert (
        message
        == "请选择问题类别；请填写问题描述，例如“路口东侧垃圾堆放两天无人清理”；请在地图上点选问题位置，或点“用我的位置”"
    )
    assert "/api/" not in message and "category" not in message  # no API documentation for citizens
    # API clients still get the field names, with where to find valid values
    details = [f.as_dict() for f in caught.value.findings]
    assert [d["field"] for d in details] == ["category", "description", "lon,lat"]
    assert "/api/categories" in details[0]["hint"]
    assert count(ctx.store) == 0


def test_same_idempotency_key_gives_one_problem(ctx):
    args = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": "garbage",
        "description": "垃圾",
        "idempotency_key": "abc-123",
        "now": NOW,
    }
    first = report_problem(ctx, **args)
    again = report_problem(ctx, **args)
    assert not first.replayed and again.replayed
    assert again.record["tracking_no"] == first.record["tracking_no"]
    assert count(ctx.store) == 1
    with pytest.raises(Conflict):
        report_problem(ctx, **{**args, "description": "别的问题"})


def test_concurrent_reports_get_unique_numbers(ctx):
    errors, numbers = [], []

    def worker(i):
        try:
            rec = report_problem(
                ctx,
                lon=ON_BINJIANG_ROAD[0],
                lat=ON_BINJIANG_ROAD[1],
                category="garbage",
                description=f"第{i}条",
                now=NOW,
            ).record
            numbers.append(rec["tracking_no"])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(numbers)) == 40 == count(ctx.store)


def test_photos_are_reencoded_without_exif_and_gps_gives_the_location(ctx):
    import io

    from PIL import Image

    photo = jpeg_bytes(gps=NEAR_HOSPITAL)
    assert b"TestCam" in photo
    rec = report_problem(
        ctx, category="garbage", description="照片定位", photos=[("a.jpg", photo)], now=NOW
    ).record
    assert rec["lon"] == pytest.approx(NEAR_HOSPITAL[0], abs=1e-5)
    assert rec["lat"] == pytest.approx(NEAR_HOSPITAL[1], abs=1e-5)
    assert rec["grid"]["code"] == "610330100002"
    with ctx.store.engine.connect() as conn:
        key = conn.execute(select(problem_photos.c.key)).scalar()
    stored = ctx.storage.get(key)
    assert b"TestCam" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and not image.getexif()


@pytest.mark.parametrize(
    ("files", "text"),
    [
        ([("a.txt", b"hello, not an image")], "不是可识别的图片"),
        ([("a.jpg", b"\xff\xd8\xff" + b"0" * 100)], "不是可识别的图片"),
        ([("big.jpg", b"x" * 9_000_001)], "太大"),
        ([(f"{i}.jpg", jpeg_bytes()) for i in range(4)], "最多上传 3 张"),
    ],
)
def test_bad_photos_leave_nothing_behind(ctx, files, text):
    with pytest.raises(InvalidInput, match=text):
        report_problem(
            ctx,
            lon=ON_BINJIANG_ROAD[0],
            lat=ON_BINJIANG_ROAD[1],
            category="garbage",
            description="x",
            photos=files,
            now=NOW,
        )
    assert count(ctx.store) == 0
    root = ctx.storage.root
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_a_failed_transaction_removes_written_photos(ctx):
    """The storage fails on the second photo, inside the transaction: no row, no orphan file."""
    from gridmap.problems.photos import FolderStorage

    class FlakyFolder(FolderStorage):
        def put(self, key, data):
            if len(list(self.root.rglob("*.jpg"))) >= 2:
                raise OSError("disk full")
            super().put(key, data)

    ctx.storage = FlakyFolder(ctx.storage.root)
    good = [("a.jpg", jpeg_bytes()), ("b.jpg", jpeg_bytes(color=(0, 0, 200)))]
    with pytest.raises(OSError):
        report_problem(
            ctx,
            lon=ON_BINJIANG_ROAD[0],
            lat=ON_BINJIANG_ROAD[1],
            category="garbage",
            description="x",
            photos=good,
            now=NOW,
        )
    assert count(ctx.store) == 0 and count(ctx.store, problem_photos) == 0
    assert not any(p.is_file() for p in ctx.storage.root.rglob("*"))


def _stored(ctx, tracking_no):
    with ctx.store.engine.connect() as conn:
        return conn.execute(select(problems).where(problems.c.tracking_no == tracking_no)).one()


def test_a_report_on_national_day_eve_is_due_in_working_time(ctx):
    eve = dt.datetime(2026, 9, 30, 8, 0, tzinfo=dt.UTC)  # Wednesday 16:00 in Shanghai
    rec = report_problem(
        ctx, lon=ON_BINJIANG_ROAD[0], lat=ON_BINJIANG_ROAD[1], category="garbage", description="x", now=eve
    ).record
    # 24 working hours: Wed 2 h; 1-7 Oct off; Thu 8, Fri 9, 调休 Sat 10 Oct 7 h each; Mon 12 Oct 09:30
    assert rec["deadline"] == "2026-10-12T09:30:00+08:00" and rec["deadline_text"] == "10月12日 09:30"
    assert rec["overdue"] is False
    stored = _stored(ctx, rec["tracking_no"])
    assert (stored.deadline, stored.urgency) == (dt.datetime(2026, 10, 12, 1, 30), "normal")


def test_urgency_defaults_from_the_category_and_only_staff_choose_it(ctx):
    def report(category, **kw):
        rec = report_problem(
            ctx,
            lon=ON_BINJIANG_ROAD[0],
            lat=ON_BINJIANG_ROAD[1],
            category=category,
            description="x",
            now=NOW,
            **kw,
        ).record
        return _stored(ctx, rec["tracking_no"]).urgency, rec["deadline"]

    # Friday 09:00; urgent: GRIDMAP_URGENT_HOURS (4: 09:00-12:00, 14:30-15:30) or the category's
    # own (manhole: 2); normal garbage 24: Fri 6.5 h, Mon 7, Tue 7, Wed 08:30 + 3.5 = 12:00
    assert report("garbage") == ("normal", "2026-12-02T12:00:00+08:00")
    assert report("garbage", urgency="urgent") == ("normal", "2026-12-02T12:00:00+08:00")  # a citizen's claim
    assert report("garbage", urgency="紧急", user=OFFICE) == ("urgent", "2026-11-27T15:30:00+08:00")
    inspector = User(id=1, username="insp", role="inspector")
    assert report("garbage", urgency="urgent", user=inspector) == ("urgent", "2026-11-27T15:30:00+08:00")
    assert report("manhole") == ("urgent", "2026-11-27T11:00:00+08:00")  # urgent by default
    assert report("manhole", urgency="normal") == ("urgent", "2026-11-27T11:00:00+08:00")
    assert report("manhole", urgency="normal", user=OFFICE) == ("normal", "2026-11-27T15:30:00+08:00")
    with pytest.raises(InvalidInput, match="urgency 应为 normal（一般）或 urgent（紧急）"):
        report("garbage", urgency="high")


def test_the_reporter_key_is_stored_and_never_shown(ctx):
    args = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": "garbage",
        "description": "垃圾",
        "idempotency_key": "key-of-a-reporter",
        "now": NOW,
    }
    first = report_problem(ctx, **args)
    other = report_problem(ctx, **{**args, "idempotency_key": None, "description": "另一处"})
    key = first.reporter_key
    assert key and len(key) >= 22 and key != other.reporter_key  # secrets.token_urlsafe(16)
    assert _stored(ctx, first.record["tracking_no"]).reporter_key == key
    assert report_problem(ctx, **args).reporter_key == key  # a replay hands back the same link
    from gridmap.problems.records import show

    public = show(ctx, first.record["tracking_no"], viewer=None, now=NOW)
    staff = show(ctx, first.record["tracking_no"], viewer=OFFICE, now=NOW)
    for shown in (first.record, public, staff):
        assert key not in repr(shown) and "reporter_key" not in shown
