"""门前五包: a problem of a frontage category reported in front of a shop goes to the shop first."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridmap.accounts import repository as accounts
from gridmap.errors import GridmapError
from gridmap.notify.notice import Notice
from gridmap.problems.categories import frontage_codes
from gridmap.problems.context import ProblemContext
from gridmap.problems.notices import describe, when
from gridmap.responsibility import ResponsibilityModel

__all__ = ["ShopAssignment", "assign", "categories_of", "notices", "owner_of", "shop_view"]

OWNERS_KEY = "problems.shop_owners"  # the shops' owner contacts, derived once per data version
EXCERPT_CHARS = 30  # how much of the description the owner's SMS quotes


@dataclass(frozen=True)
class ShopAssignment:
    """The shop a new report goes to first, and who is told: the owner's phone, the unit's users."""

    code: str
    name: str
    owner_phone: str | None  # private: only ever the outbox's phone (SMS), never a page
    unit_users: tuple[str, ...]  # the segment's unit, which supervises the shop

    def note(self, unit_name: str | None) -> str:
        """What the report's event says (public: the shop's name is on its 门前五包 sign anyway)."""
        return f"已交办商户“{self.name}”（门前五包），请包段单位{unit_name or ''}督促"


def categories_of(ctx: ProblemContext) -> frozenset[str]:
    """The codes of the categories that go to the shop first (GRIDMAP_FRONTAGE_CATEGORIES)."""
    return frontage_codes(ctx.categories, ctx.settings.frontage_categories)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _owners(model: ResponsibilityModel) -> dict[str, tuple[str | None, str | None]]:
    shops = model.shops
    if not len(shops):
        return {}
    owner = shops["owner"].tolist() if "owner" in shops.columns else [None] * len(shops)
    phone = shops["owner_phone"].tolist() if "owner_phone" in shops.columns else [None] * len(shops)
    return {str(code): (_text(o), _text(p)) for code, o, p in zip(shops.index.tolist(), owner, phone)}


def owner_of(ctx: ProblemContext, shop_code: str) -> tuple[str | None, str | None]:
    """The owner's name and phone of a shop (office only); (None, None) when unknown or no data."""
    try:
        found = ctx.reference.cached(OWNERS_KEY, _owners)
    except GridmapError:
        return (None, None)
    return found.get(str(shop_code), (None, None))


def assign(
    ctx: ProblemContext, who: Mapping[str, Any], category: str, *, notify: bool = True
) -> ShopAssignment | None:
    """The shop a report of ``category`` at the spot whois answered ``who`` goes to first, or None.

    Only a 门前五包 category, only on a shop's frontage (whois' ``shop``). The unit (the
    segment's, whois' ``responsible_unit``) stays responsible: it supervises the shop. Read
    before the write transaction; ``notify=False`` looks up nobody to tell.
    """
    shop = who.get("shop")
    if not shop or not shop.get("code") or category not in categories_of(ctx):
        return None
    code = str(shop["code"])
    unit = who.get("responsible_unit") or {}
    users: tuple[str, ...] = ()
    phone = None
    if notify:
        phone = owner_of(ctx, code)[1]
        if unit.get("code"):
            users = tuple(accounts.active_usernames(ctx.store, roles=("unit",), unit_code=str(unit["code"])))
    return ShopAssignment(code=code, name=str(shop.get("name") or code), owner_phone=phone, unit_users=users)


def notices(
    ctx: ProblemContext, row: Any, shop: ShopAssignment, *, event: Mapping[str, object]
) -> list[Notice]:
    """The owner's SMS (through the webhook) and the unit's notice to supervise the shop.

    ``row`` is the new problem (with id and tracking number). The owner's phone travels only as
    the notice's phone, never in a message; the unit hears in the app (by email and webhook too
    when the case is urgent), the reporter among its users excepted.
    """
    actor = str(event.get("actor") or "")
    unit_name = row.unit_name or "包段单位"
    deadline = when(row.deadline)
    category = ctx.categories.name(row.category)
    problem_id, tracking_no = int(row.id), str(row.tracking_no)
    unit_code = str(row.unit_code) if row.unit_code else None
    extra = {"shop_code": shop.code, "shop_name": shop.name}
    out: list[Notice] = []
    if shop.owner_phone:
        text = " ".join(str(row.description or "").split())
        quote = f"：“{text[:EXCERPT_CHARS]}{'……' if len(text) > EXCERPT_CHARS else ''}”" if text else ""
        out.append(
            Notice(
                event="shop_assigned",
                message=(
                    f"【门前五包】{shop.name}负责人您好：群众反映您店门前{category}问题"
                    f"（受理编号 {row.tracking_no}）{quote}。按门前五包责任，请在 {deadline} 前整改，"
                    f"{unit_name}将督促检查。"
                ),
                phone=shop.owner_phone,
                unit_code=unit_code,
                extra=extra,
                problem_id=problem_id,
                tracking_no=tracking_no,
            )
        )
    people = tuple(sorted({u for u in shop.unit_users if u != actor}))
    if people:
        if not shop.owner_phone:
            told = "，商户未登记负责人电话，请当面告知"
        elif ctx.settings.webhook_url:  # the SMS goes out through the webhook (the county's SMS gateway)
            told = "，已短信告知商户负责人"
        else:
            told = "，未配置短信通道（GRIDMAP_WEBHOOK_URL），请当面告知商户"
        out.append(
            Notice(
                event="shop_supervise",
                message=(
                    f"{describe(ctx, row)}在商户“{shop.name}”门前五包范围内，已交办商户“{shop.name}”{told}。"
                    f"请包段单位督促商户在 {deadline} 前整改。"
                ),
                recipients=people,
                external=getattr(row, "urgency", None) == "urgent",
                unit_code=unit_code,
                extra=dict(extra),
                problem_id=problem_id,
                tracking_no=tracking_no,
            )
        )
    return out


def shop_view(ctx: ProblemContext, row: Any, *, personal: bool) -> dict | None:
    """The problem's shop for its record: code and name; the owner's contact for the office only."""
    code = getattr(row, "shop_code", None)
    if not code:
        return None
    out: dict = {"code": code, "name": getattr(row, "shop_name", None) or code}
    if personal:
        owner, phone = owner_of(ctx, str(code))
        out["owner"] = owner
        out["owner_phone"] = phone
    return out
