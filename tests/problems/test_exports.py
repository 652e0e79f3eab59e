"""The office's internal export: problems with status and history, household heads and inspectors."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pyogrio

from gridmap import dataexport
from gridmap.problems.exports import office_export, problem_data
from gridmap.problems.service import report_problem
from gridmap.problems.states import STATUS_LABELS
from gridmap.problems.workflow import act
from tests.problems.conftest import ON_BINJIANG_ROAD, ON_XINJIAN_ROAD

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 in China


def _two_problems(ctx, make_user):
    office = make_user("boss", "office")
    first = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="garbage",
        description="河边垃圾堆",
        now=T0,
    ).record["tracking_no"]
    second = report_problem(
        ctx, lon=ON_XINJIAN_ROAD[0], lat=ON_XINJIAN_ROAD[1], category="stall", description="占道经营", now=T0
    ).record["tracking_no"]
    act(ctx, first, user=office, action="dispatch", unit_code="U1", note="请今天处理", now=T0)
    return first, second


def test_problem_data_has_status_labels_points_and_history_in_china_time(ctx, make_user):
    first, second = _two_problems(ctx, make_user)
    layer, history = problem_data(ctx.store, ctx.categories, now=T0)
    assert layer.crs.to_epsg() == 4326 and list(layer["tracking_no"]) == [first, second]
    row = layer.set_index("tracking_no").loc[first]
    assert row["status"] == "dispatched" and row["status_name"] == STATUS_LABELS["dispatched"]
    assert row["category_name"] == ctx.categories.get("garbage").name
    assert row["created_at"] == "2026-11-27 09:00" and row["overdue"] == "否"
    assert (row.geometry.x, row.geometry.y) == ON_BINJIANG_ROAD
    steps = history[history["tracking_no"] == first]
    assert (
        list(steps["to_status"])[-1] == STATUS_LABELS["dispatched"]
        and list(steps["note"])[-1] == "请今天处理"
    )
    assert "reporter_phone" not in layer.columns and "reporter_name" not in layer.columns


def test_office_workbook_adds_personal_and_problem_sheets(ctx, make_user):
    _two_problems(ctx, make_user)
    model = ctx.reference.model()
    internal = office_export(model, ctx.store, ctx.categories, fmt="xlsx", now=T0)
    public = dataexport.export_data(model, fmt="xlsx")
    assert "内部" in internal.filename and "内部" not in public.filename
    book = openpyxl.load_workbook(io.BytesIO(internal.data), read_only=True)
    for sheet in ("中心户长", "巡查员", "问题", "问题处理记录"):
        assert sheet in book.sheetnames, book.sheetnames
    problems = list(book["问题"].iter_rows(values_only=True))
    assert problems[0][:2] == ("编号", "类别代码") and len(problems) == 3
    assert "经度" in problems[0] and "纬度" in problems[0]
    assert len(list(book["问题处理记录"].iter_rows(values_only=True))) >= 4  # header, 2 reports, 1 dispatch
    public_book = openpyxl.load_workbook(io.BytesIO(public.data), read_only=True)
    assert not {"中心户长", "巡查员", "问题", "问题处理记录"} & set(public_book.sheetnames)


def test_office_geopackage_has_a_problem_layer(ctx, make_user, tmp_path):
    first, _second = _two_problems(ctx, make_user)
    exported = office_export(ctx.reference.model(), ctx.store, ctx.categories, fmt="gpkg", now=T0)
    path = tmp_path / "internal.gpkg"
    path.write_bytes(exported.data)
    layers = {name for name, _kind in pyogrio.list_layers(path)}
    assert {"problems", "problem_events", "household_heads", "inspectors", "grids"} <= layers
    problems = pyogrio.read_dataframe(path, layer="problems")
    assert first in set(problems["tracking_no"]) and set(problems["status_name"]) == {
        STATUS_LABELS["dispatched"],
        STATUS_LABELS["reported"],
    }


def test_data_export_route_gives_the_office_the_internal_file_and_others_the_public_one(
    app, client, ctx, make_user, loaded_store
):
    from gridmap.auth import issue_token

    _two_problems(ctx, make_user)
    make_user("clerk", "office")
    bearer = {"Authorization": f"Bearer {issue_token(loaded_store, username='clerk', days=1)}"}
    office = client.get("/export/data.xlsx", headers=bearer)
    assert office.status_code == 200
    assert "gridmap-data-internal.xlsx" in office.headers["Content-Disposition"]
    assert "问题" in openpyxl.load_workbook(io.BytesIO(office.data), read_only=True).sheetnames
    anonymous = app.test_client().get("/export/data.xlsx")
    assert anonymous.status_code == 200 and "gridmap-data.xlsx" in anonymous.headers["Content-Disposition"]
    assert "问题" not in openpyxl.load_workbook(io.BytesIO(anonymous.data), read_only=True).sheetnames
