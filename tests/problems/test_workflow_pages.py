"""The problem page's forms for the new actions and the role-aware "my tasks" lists (issue 12)."""

from __future__ import annotations

from tests.problems.conftest import ON_BINJIANG_ROAD
from tests.problems.test_page import _csrf, _report


def _post(client, no, **form):
    return client.post(f"/problems/{no}/act", data={"csrf_token": _csrf(client, f"/problems/{no}"), **form})


def test_forms_ask_for_what_each_action_needs_and_tasks_follow_the_role(client, login):
    office = login("boss", "office")
    insp = login("insp", "inspector")
    unit = login("u1", "unit", unit_code="U1")
    no = _report(client, spot=ON_BINJIANG_ROAD)  # grid 610330100001, unit U1
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert '<select name="inspector" required>' in page and '<option value="insp">' in page
    bad = _post(office, no, action="send_verify", inspector="u1")
    assert bad.status_code == 400 and "不是巡查员" in bad.get_data(as_text=True)
    assert _post(office, no, action="send_verify", inspector="insp").status_code == 302

    # the inspector's tasks are the cases sent to them to verify
    tasks = insp.get("/tasks").get_data(as_text=True)
    assert no in tasks and "待核实" in tasks
    assert 'name="note"' in insp.get(f"/problems/{no}").get_data(as_text=True)
    assert _post(insp, no, action="confirm", note="属实").status_code == 302

    # urgency: a select offering the other class; the page then shows the 紧急 badge
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert '<select name="urgency" required>' in page and '<option value="urgent">紧急</option>' in page
    assert _post(office, no, action="set_urgency", urgency="urgent").status_code == 302
    assert '<span class="gm-flag gm-urgent">紧急</span>' in office.get(f"/problems/{no}").get_data(
        as_text=True
    )
    assert _post(office, no, action="dispatch", unit="U1").status_code == 302

    # the unit: a date for 申请挂账, hours for 申请延期, a required reason for 回退
    page = unit.get(f"/problems/{no}").get_data(as_text=True)
    assert 'name="until" type="date" required' in page and 'name="hours" type="number"' in page
    assert "回退的理由（为什么不属于本单位）（必填）" in page
    assert _post(unit, no, action="request_park", until="2027-03-31", note="等预算").status_code == 302
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert "待审批：挂账申请" in page and "gm-action-approve" in page and "gm-action-refuse" in page
    assert no in office.get("/tasks").get_data(as_text=True)  # office: returned and requests

    # the unit sends it back instead: the request is withdrawn, approving it now is a 409
    assert _post(unit, no, action="return", note="不属于本单位").status_code == 302
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert "待审批" not in page and "gm-action-approve" not in page and "已回退 1 次" in page
    late = _post(office, no, action="approve")
    assert late.status_code == 409 and "已回退" in late.get_data(as_text=True)
    assert no in office.get("/tasks").get_data(as_text=True)  # still: it was returned
    # a unit's tasks are still its own cases
    assert unit.get("/tasks").status_code == 200
