"""Turn-by-turn directions of a route along the streets, in Chinese: depart, turn onto, arrive."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gridmap.routing.streets import Leg

_COMPASS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


def _heading(coords: np.ndarray, *, at_end: bool) -> float | None:
    c = coords[::-1] if at_end else coords
    for k in range(1, len(c)):
        d = c[k] - c[0]
        if float(np.hypot(*d)) > 0.5:
            if at_end:
                d = -d
            return math.degrees(math.atan2(d[0], d[1])) % 360.0  # clockwise from north
    return None


def _turn(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "继续"
    delta = (after - before + 540.0) % 360.0 - 180.0
    if abs(delta) < 30:
        return "直行"
    if abs(delta) > 150:
        return "掉头"
    return "右转" if delta > 0 else "左转"


def turn_list(legs: Sequence[Leg], names: Sequence[str], *, closed: bool) -> list[dict]:
    """Directions leg by leg: depart along a street, turn onto the next, arrive at each stop.

    `names` are the places in order: the start, each stop, then the end (the start again when closed).
    """
    out: list[dict] = []
    for k, leg in enumerate(legs):
        runs: list[dict] = []
        for piece in leg.pieces:
            h0, h1 = _heading(piece.coords, at_end=False), _heading(piece.coords, at_end=True)
            if runs and runs[-1]["street"] == piece.name:
                runs[-1]["distance"] += piece.length
                runs[-1]["out"] = h1 if h1 is not None else runs[-1]["out"]
            else:
                runs.append({"street": piece.name, "distance": piece.length, "in": h0, "out": h1})
        for n, run in enumerate(runs):
            d = round(run["distance"])
            if n == 0:
                way = (
                    f"向{_COMPASS[int(((run['in'] or 0) + 22.5) // 45) % 8]}" if run["in"] is not None else ""
                )
                text = f"{'从' + names[k] + '出发，' if k == 0 else '出发，'}沿{run['street']}{way}走 {d} 米"
                action = "depart"
            else:
                turn = _turn(runs[n - 1]["out"], run["in"])
                text = (
                    f"{turn}进入{run['street']}，走 {d} 米"
                    if turn != "直行"
                    else f"直行进入{run['street']}，走 {d} 米"
                )
                action = "turn"
            out.append(
                {"action": action, "text": text, "street": run["street"], "distance_m": d, "stop": None}
            )
        last = k == len(legs) - 1
        target = names[k + 1]
        if not runs:
            text = f"{target}与上一站在同一处" if not (last and closed) else f"回到{target}"
        else:
            text = f"回到{target}" if last and closed else f"到达{target}"
        out.append(
            {
                "action": "arrive",
                "text": text,
                "street": None,
                "distance_m": 0,
                "stop": 0 if last and closed else k + 1,
            }
        )
    for n, item in enumerate(out, start=1):
        item["step"] = n
    return out
