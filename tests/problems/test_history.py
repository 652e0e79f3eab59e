"""`gridmap import-problems`: past cases from XLSX/CSV with Chinese or English headers, their real
times, grids by location or address, bad rows reported, all or nothing, duplicates refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import openpyxl
import pytest
from sqlalchemy import select

from gridmap.problems.history import import_history
from gridmap.problems.schema import problem_events, problems
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, OUTSIDE_COUNTY, OUTSIDE_GRIDS
from tests.problems.historyfile import make_cases, tally_by_grid, write_history

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
ZH = "受理编号,上报时间,问题类别,经度,纬度,地址,来源,状态,立案时间,派遣时间,处置时间,结案时间,处置期限,责任单位代码,返工次数,延期次数,挂账"


def rows_of(store):
    with store.reading() as conn:
        found = {r.tracking_no: r for r in conn.execute(select(problems))}
        events = defaultdict(list)
        for e in conn.execute(select(problem_events).order_by(problem_events.c.at, problem_events.c.id)):
            events[e.problem_id].append(e)
    return found, events


def write_csv(path, lines, *, header=ZH, encoding="utf-8"):
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def utc(*args) -> dt.datetime:
    """A China-time moment as the naive UTC the store keeps."""
    return dt.datetime(*args) - dt.timedelta(hours=8)


def test_xlsx_with_chinese_headers_keeps_excel_times_grids_and_writes_events(ctx, tmp_path):
    cases = make_cases(60, month="2026-10", seed=1)
    path = write_history(tmp_path / "历史案件.xlsx", cases)
    sheet = openpyxl.load_workbook(path).active
    assert isinstance(sheet["B2"].value, dt.datetime)  # a real Excel datetime cell
    report = import_history(ctx, path, now=NOW)
    assert report.committed and report.ok, report.to_text()
    assert report.counts["imported"] == 60 and report.format == "xlsx"
    stored, events = rows_of(ctx.store)
    for case in cases:
        row = stored[case.tracking_no]
        assert row.created_at == case.reported_at - dt.timedelta(hours=8)  # China time kept
        assert row.grid_code == case.grid_code and row.town_code == "610330100"
        assert row.status == case.status and row.source == case.source
        assert row.deadline == case.deadline - dt.timedelta(hours=8)
        assert (row.reworks, row.extensions) == (case.reworks, case.extensions)
        actions = [e.action for e in events[row.id]]
        assert all(e.actor == "import" and e.actor_role == "import" for e in events[row.id])
        assert actions[0] == "report" and events[row.id][0].at == row.created_at
        assert actions.count("rework") == case.reworks and actions.count("extend") == case.extensions
        if case.status == "closed":
            assert row.closed_at == case.closed_at - dt.timedelta(hours=8)
            assert actions[-3:] == ["rectify", "verify", "close"] and events[row.id][-1].at == row.closed_at
            rectify = next(e for e in events[row.id] if e.action == "rectify")
            assert rectify.at == case.handled_at - dt.timedelta(hours=8)
            dispatch = next(e for e in events[row.id] if e.action == "dispatch")
            assert (
                dispatch.at == case.dispatched_at - dt.timedelta(hours=8)
                and dispatch.unit_code == row.unit_code
            )
        if case.status == "parked":
            assert actions[-1] == "park"
        if case.status == "rejected":
            assert actions == ["report", "reject"]
        statuses = [e.to_status for e in events[row.id]]
        assert statuses[-1] == case.status


def test_gbk_csv_with_english_and_chinese_words(ctx, tmp_path):
    header = "tracking_no,reported_at,category,lon,lat,source,status,filed_at,dispatched_at,handled_at,closed_at,parked"
    lines = [
        f"A1,2026-10-03 08:30,垃圾暴露,{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]},市民,已结案,"
        "2026-10-03 09:00,2026-10-03 09:30,2026-10-04 10:00,2026-10-04 12:00,否",
        f"A2,2026-10-05 10:00,stall,{NEAR_HOSPITAL[0]},{NEAR_HOSPITAL[1]},inspector,parked,2026-10-05 11:00,,,,是",
        header,  # a printed table repeats its header
        "填表人：张三（县数字城管中心）,,,,,,,,,,,",
    ]
    path = write_csv(tmp_path / "export.csv", lines, header=header, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = import_history(ctx, path, now=NOW)
    assert report.committed, report.to_text()
    assert "GB" in (report.encoding or "").upper()
    assert report.counts["read"] == 2 and report.counts["imported"] == 2
    (note,) = report.findings
    assert note.severity == "warning" and "第 4、5 行" in note.message
    stored, _ = rows_of(ctx.store)
    assert stored["A1"].category == "garbage" and stored["A1"].status == "closed"
    assert stored["A1"].unit_code == "U1" and stored["A1"].grid_code == "610330100001"
    assert stored["A2"].status == "parked" and stored["A2"].source == "inspector"
    assert stored["A2"].unit_code == "U2" and stored["A2"].grid_code == "610330100002"


def test_times_without_offset_are_china_time_and_offsets_are_honoured(ctx, tmp_path):
    spot = f"{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]}"
    written = {
        "T1": ("2026-10-03 08:30", utc(2026, 10, 3, 8, 30)),
        "T2": ("2026/10/3 8:30", utc(2026, 10, 3, 8, 30)),
        "T3": ("2026年10月3日 8时30分", utc(2026, 10, 3, 8, 30)),
        "T4": ("2026-10-03T08:30:00+09:00", dt.datetime(2026, 10, 2, 23, 30)),
        "T5": ("2026-10-03T08:30:00Z", dt.datetime(2026, 10, 3, 8, 30)),
        "T6": ("2026-10-03", utc(2026, 10, 3)),
    }
    lines = [f"{no},{when},garbage,{spot},,市民,,,,,,,,,,," for no, (when, _) in written.items()]
    report = import_history(ctx, write_csv(tmp_path / "t.csv", lines), now=NOW)
    assert report.committed, report.to_text()
    stored, _ = rows_of(ctx.store)
    for no, (_, expected) in written.items():
        assert stored[no].created_at == expected, no
        assert stored[no].status == "reported"  # no status and no later time


def test_bad_rows_are_listed_and_nothing_is_imported(ctx, tmp_path):
    spot = f"{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]}"
    lines = [
        f"B1,2026-10-03 08:30,garbage,{spot},,市民,已上报,,,,,,,,,,",  # good
        f"B2,昨天上午,garbage,{spot},,市民,已上报,,,,,,,,,,",
        f"B3,2026-10-03 08:30,飞碟,{spot},,市民,已上报,,,,,,,,,,",
        f"B4,2026-10-03 08:30,garbage,{spot},,市民,办得不错,,,,,,,,,,",
        f"B5,2026-10-03 08:30,garbage,{OUTSIDE_COUNTY[0]},{OUTSIDE_COUNTY[1]},,市民,已上报,,,,,,,,,,",
        f"B6,2026-10-03 08:30,garbage,{spot},,市民,已结案,2026-10-03 09:00,2026-10-03 10:00,2026-10-04 10:00,,,,,,",
        f"B7,2026-10-05 08:30,garbage,{spot},,市民,已立案,2026-10-04 09:00,,,,,,,,",
        f"B8,2026-10-03 08:30,garbage,{spot},,外星人,已上报,,,,,,,,,,",
        f"B9,2026-10-03 08:30,garbage,{spot},,市民,已上报,,,,,,U99,两次,,",
    ]
    path = write_csv(tmp_path / "bad.csv", lines)
    report = import_history(ctx, path, now=NOW)
    assert not report.committed and not report.ok
    assert report.counts == {"read": 9, "bad": 8, "good": 1, "by_address": 0, "imported": 0}
    by_row = {(f.feature, f.field): f for f in report.errors}
    expected = {
        ("第 3 行", "上报时间"): "昨天上午",
        ("第 4 行", "问题类别"): "飞碟",
        ("第 5 行", "状态"): "办得不错",
        ("第 6 行", "经度"): "不在本县范围内",
        ("第 7 行", "结案时间"): "没有填写结案时间",
        ("第 8 行", "立案时间"): "早于上报时间",
        ("第 9 行", "来源"): "外星人",
        ("第 10 行", "责任单位代码"): "U99",
        ("第 10 行", "返工次数"): "两次",
    }
    for where, words in expected.items():
        assert where in by_row, (where, report.to_text())
        assert words in by_row[where].message and by_row[where].hint and by_row[where].file == "bad.csv"
    assert [f.feature for f in report.errors] == sorted(
        (f.feature for f in report.errors), key=lambda s: int(s.strip("第 行"))
    )
    assert rows_of(ctx.store)[0] == {}  # all or nothing
    text = report.to_text()
    assert "未导入任何案件" in text and "--skip-bad" in text and "第 3 行" in text and "昨天上午" in text
    # --skip-bad: the good row goes in, the rest are reported
    skipped = import_history(ctx, path, skip_bad=True, now=NOW)
    assert skipped.committed and skipped.ok and skipped.counts["imported"] == 1
    assert len(skipped.errors) == len(report.errors)
    assert set(rows_of(ctx.store)[0]) == {"B1"}


def test_duplicates_in_the_file_and_in_the_store_are_refused(ctx, tmp_path):
    spot = f"{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]}"
    first = write_csv(tmp_path / "a.csv", [f"D1,2026-10-03 08:30,garbage,{spot},,市民,,,,,,,,,,,"])
    assert import_history(ctx, first, now=NOW).committed
    again = write_csv(
        tmp_path / "b.csv",
        [
            f"D1,2026-10-04 08:30,stall,{spot},,市民,,,,,,,,,,,",
            f"D2,2026-10-04 08:30,stall,{spot},,市民,,,,,,,,,,,",
            f"D2,2026-10-05 08:30,stall,{spot},,市民,,,,,,,,,,,",
        ],
    )
    report = import_history(ctx, again, now=NOW)
    assert not report.committed
    messages = {f.feature: f.message for f in report.errors}
    assert "已经导入过" in messages["第 2 行"] and "与第 3 行重复" in messages["第 4 行"]
    stored, _ = rows_of(ctx.store)
    assert set(stored) == {"D1"} and stored["D1"].category == "garbage"  # the stored case untouched
    assert import_history(ctx, again, skip_bad=True, now=NOW).counts["imported"] == 1
    assert set(rows_of(ctx.store)[0]) == {"D1", "D2"}


def test_addresses_are_matched_to_points_communities_and_roads(ctx, tmp_path):
    lines = [
        f"P1,2026-10-03 08:30,garbage,,,{address},市民,,,,,,,,,,"
        for address in ("县医院", "花园小区3号楼", "新建路（汉中路至凤州路）", "滨江路", "火星路 1 号")
    ]
    lines = [line.replace("P1", f"P{i}") for i, line in enumerate(lines)]
    report = import_history(ctx, write_csv(tmp_path / "addr.csv", lines), skip_bad=True, now=NOW)
    assert report.counts["by_address"] == 4 and report.counts["imported"] == 4
    (bad,) = report.errors
    assert bad.feature == "第 6 行" and bad.field == "地址" and "火星路" in bad.message
    stored, _ = rows_of(ctx.store)
    assert stored["P0"].grid_code == "610330100002" and stored["P0"].address == "县医院"
    assert stored["P1"].grid_code == "610330100001" and stored["P1"].unit_code == "U1"  # in 花园小区
    assert stored["P2"].grid_code == "610330100002"
    assert stored["P3"].grid_code == "610330100001" and stored["P3"].unit_code == "U1"  # on 滨江路


def test_grids_units_and_leaders_as_a_report_gets_them(ctx, tmp_path):
    from gridmap.problems.repository import find_problem
    from gridmap.problems.service import report_problem

    spots = {"G1": ON_BINJIANG_ROAD, "G2": NEAR_HOSPITAL, "G3": OUTSIDE_GRIDS}
    lines = [f"{no},2026-10-03 08:30,garbage,{x},{y},,市民,,,,,,,,,," for no, (x, y) in spots.items()]
    lines.append(f"G4,2026-10-03 08:30,garbage,{NEAR_HOSPITAL[0]},{NEAR_HOSPITAL[1]},,市民,,,,,,,U3,,,")
    assert import_history(ctx, write_csv(tmp_path / "g.csv", lines), now=NOW).committed
    stored, _ = rows_of(ctx.store)
    for no, (x, y) in spots.items():
        live = report_problem(ctx, lon=x, lat=y, category="garbage", description="对照", notify=False).record
        want = find_problem(ctx.store, tracking_no=live["tracking_no"])
        row = stored[no]
        columns = (
            "grid_code",
            "grid_name",
            "town_code",
            "town_name",
            "unit_code",
            "unit_name",
            "leader_codes",
        )
        assert [getattr(row, c) for c in columns] == [getattr(want, c) for c in columns], no
        assert bool(row.fallback) == bool(want.fallback) == (no == "G3")
    assert stored["G1"].leader_codes == "L01,L02" and stored["G3"].leader_codes == "L01"
    assert stored["G4"].unit_code == "U3" and stored["G4"].grid_code == "610330100002"  # the file's unit


def test_three_thousand_cases_import_with_the_expected_counts(ctx, tmp_path):
    cases = make_cases(3000, month="2026-10", seed=7)
    path = write_history(tmp_path / "big.xlsx", cases, headers="en")
    report = import_history(ctx, path, now=NOW)
    assert report.committed and report.counts["imported"] == 3000, report.to_text()
    stored, events = rows_of(ctx.store)
    got: dict[str, Counter] = defaultdict(Counter)
    for row in stored.values():
        g = got[row.grid_code]
        actions = Counter(e.action for e in events[row.id])
        g["reports"] += 1
        g["filed"] += actions["accept"]
        g["dispatched"] += actions["dispatch"]
        g["handled"] += actions["rectify"]
        g["closed"] += actions["close"] == 1 and row.status == "closed"
        g["parked"] += actions["park"] == 1 and row.status == "parked"
        g["rejected"] += actions["reject"] == 1 and row.status == "rejected"
        g["reworks"] += actions["rework"]
        g["extensions"] += actions["extend"]
        g[row.source] += 1
    assert dict(got) == tally_by_grid(cases)
    assert sum(f["reports"] for f in got.values()) == 3000
    inspectors = {row.reported_by for row in stored.values() if row.source == "inspector"}
    assert inspectors == {"xuncha1", "xuncha2"}


def test_missing_columns_and_the_command(ctx, tmp_path, settings):
    bad = tmp_path / "nohead.csv"
    bad.write_text("受理编号,经度,纬度\nX1,106.5,33.9\n", encoding="utf-8")
    env = {**os.environ, **settings}
    done = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "import-problems", str(bad)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "缺少“上报时间”列" in done.stderr and "reported_at" in done.stderr
    spot = f"{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]}"
    good = write_csv(tmp_path / "ok.csv", [f"C1,2026-10-03 08:30,garbage,{spot},,市民,,,,,,,,,,,"])
    done = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "import-problems", str(good)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "已导入 1 件历史案件" in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "import-problems", str(good), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1
    body = json.loads(again.stdout)
    assert body["committed"] is False and "已经导入过" in body["errors"][0]["message"]


def test_xlsx_title_row_serial_dates_and_dry_run(ctx, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为 2026 年 10 月案件导出"])
    sheet = book.create_sheet("案件")
    sheet.append(["凤县数字城管案件导出（2026 年 10 月）"])  # a title above the header
    sheet.append(["受理编号", "上报时间", "问题类别", "经度", "纬度", "来源", "状态", "立案时间"])
    sheet.append(
        [1001, 46298.5, "垃圾暴露", *ON_BINJIANG_ROAD, "巡查员", "已立案", dt.datetime(2026, 10, 3, 13, 0)]
    )
    path = tmp_path / "导出.xlsx"
    book.save(path)
    dry = import_history(ctx, path, dry_run=True, now=NOW)
    assert dry.ok and not dry.committed and dry.sheet == "案件" and dry.counts["good"] == 1
    assert rows_of(ctx.store)[0] == {}  # a dry run writes nothing
    assert import_history(ctx, path, now=NOW).committed
    row = rows_of(ctx.store)[0]["1001"]  # Excel's number 1001.0 read as the code it is
    assert row.created_at == utc(2026, 10, 3, 12, 0)  # serial 46298.5 = 2026-10-03 12:00 China time
    assert row.status == "accepted" and row.source == "inspector"


def test_a_number_taken_meanwhile_writes_nothing(ctx, tmp_path, monkeypatch):
    from gridmap.errors import InvalidInput
    from gridmap.problems import repository

    spot = f"{ON_BINJIANG_ROAD[0]},{ON_BINJIANG_ROAD[1]}"
    assert import_history(
        ctx, write_csv(tmp_path / "a.csv", [f"R2,2026-10-03 08:30,garbage,{spot},,市民"]), now=NOW
    ).committed
    lines = [f"R{i},2026-10-03 08:30,garbage,{spot},,市民" for i in (1, 2, 3)]
    monkeypatch.setattr(repository, "taken_tracking_numbers", lambda store, numbers: set())  # the race
    with pytest.raises(InvalidInput, match="R2"):
        import_history(ctx, write_csv(tmp_path / "b.csv", lines), now=NOW)
    assert set(rows_of(ctx.store)[0]) == {"R2"}
    # past the check inside the transaction too: the unique constraint refuses, nothing is written
    monkeypatch.setattr(repository, "_taken", lambda conn, numbers: {})
    with pytest.raises(InvalidInput, match="未导入任何案件"):
        import_history(ctx, write_csv(tmp_path / "b.csv", lines), now=NOW)
    assert set(rows_of(ctx.store)[0]) == {"R2"}
