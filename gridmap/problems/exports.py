"""Problems as data for the office's exports: a point layer with their status and a table of their history."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd

from gridmap import clock
from gridmap.dataexport import Exported, Sheet, export_data, personal_sheets
from gridmap.errors import InvalidInput
from gridmap.problems import repository
from gridmap.problems.categories import Categories
from gridmap.problems.states import ACTION_LABELS, SOURCES, STATUS_LABELS, is_overdue
from gridmap.responsibility import ResponsibilityModel
from gridmap.store import Store

# Column -> Chinese label, in the order they are written. Reporters' names and phones are left
# out even for the office: an export travels further than the screen it was made on.
PROBLEM_COLUMNS: dict[str, str] = {
    "tracking_no": "编号",
    "category": "类别代码",
    "category_name": "问题类别",
    "status": "状态代码",
    "status_name": "状态",
    "overdue": "是否超期",
    "source": "来源",
    "description": "问题描述",
    "address": "地址",
    "town_name": "所在镇",
    "grid_code": "网格编码",
    "grid_name": "网格名称",
    "unit_code": "责任单位代码",
    "unit_name": "责任单位",
    "shop_code": "责任商户编号",  # 门前五包: the shop it went to first (the owner's contact never)
    "shop_name": "责任商户",
    "supporters": "附议人数",
    "extensions": "延期次数",
    "reworks": "返工次数",
    "created_at": "上报时间",
    "deadline": "整改期限",
    "closed_at": "办结时间",
}
EVENT_COLUMNS: dict[str, str] = {
    "tracking_no": "问题编号",
    "at": "时间",
    "action": "环节",
    "from_status": "原状态",
    "to_status": "新状态",
    "actor": "经办账号",
    "actor_role": "经办角色",
    "unit_code": "交办单位代码",
    "deadline": "新期限",
    "note": "意见",
}


def _when(moment: dt.datetime | None) -> str | None:
    """A stored time as shown to people: China time, to the minute."""
    return None if moment is None else clock.china(moment).strftime("%Y-%m-%d %H:%M")


def problem_data(
    store: Store, categories: Categories, *, now: dt.datetime | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Every problem as a point (EPSG:4326) with its status, and every step of every problem's history.

    Returns
    -------
    (problems, events)
        ``problems`` has the columns of PROBLEM_COLUMNS; ``events`` those of EVENT_COLUMNS, oldest
        first per problem. Both carry codes and Chinese labels, times in China Standard Time.
    """
    moment = clock.to_db(now)
    rows = repository.select_problems(store, order=("id",))
    events_by_problem, _photos = repository.events_and_photos(store, [r.id for r in rows])
    records = []
    events = []
    for row in rows:
        try:
            category_name = categories.get(row.category).name
        except InvalidInput:  # a category dropped from the list since: keep the code
            category_name = row.category
        records.append(
            {
                "tracking_no": row.tracking_no,
                "category": row.category,
                "category_name": category_name,
                "status": row.status,
                "status_name": STATUS_LABELS.get(row.status, row.status),
                "overdue": "是" if is_overdue(row.status, row.deadline, moment) else "否",
                "source": SOURCES.get(row.source, row.source),
                "description": row.description,
                "address": row.address,
                "town_name": row.town_name,
                "grid_code": row.grid_code,
                "grid_name": row.grid_name,
                "unit_code": row.unit_code,
                "unit_name": row.unit_name,
                "shop_code": row.shop_code,
                "shop_name": row.shop_name,
                "supporters": int(row.supporters or 0),
                "extensions": int(row.extensions or 0),
                "reworks": int(row.reworks or 0),
                "created_at": _when(row.created_at),
                "deadline": _when(row.deadline),
                "closed_at": _when(row.closed_at),
            }
        )
        for event in events_by_problem.get(row.id, []):
            events.append(
                {
                    "tracking_no": row.tracking_no,
                    "at": _when(event.at),
                    "action": ACTION_LABELS.get(event.action, event.action),
                    "from_status": STATUS_LABELS.get(event.from_status or "", event.from_status),
                    "to_status": STATUS_LABELS.get(event.to_status, event.to_status),
                    "actor": event.actor,
                    "actor_role": event.actor_role,
                    "unit_code": event.unit_code,
                    "deadline": _when(event.deadline),
                    "note": event.note,
                }
            )
    layer = gpd.GeoDataFrame(
        pd.DataFrame(records, columns=list(PROBLEM_COLUMNS)).astype(object),
        geometry=gpd.points_from_xy([r.lon for r in rows], [r.lat for r in rows]),
        crs="EPSG:4326",
    )
    history = pd.DataFrame(events, columns=list(EVENT_COLUMNS)).astype(object)
    return layer, history


def office_export(
    model: ResponsibilityModel,
    store: Store,
    categories: Categories,
    *,
    fmt: object,
    now: dt.datetime | None = None,
) -> Exported:
    """The office's internal data export: the public export plus household heads, inspectors,
    problems (points with their status) and every problem's history."""
    layer, history = problem_data(store, categories, now=now)
    extra = [
        *personal_sheets(model),
        Sheet("problems", "问题", layer, PROBLEM_COLUMNS),
        Sheet("problem_events", "问题处理记录", history, EVENT_COLUMNS),
    ]
    return export_data(model, fmt=fmt, extra=extra)
