"""Response templates (惯用语): the default set seeded once, the office's edits, refusals for others."""

from __future__ import annotations

import pytest

from gridmap.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.problems import phrases


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
        "leader": make_user("lead", "leader", leader_code="L01"),
    }


def texts(store, action):
    return [p.text for p in phrases.all_phrases(store)[action]]


def test_the_default_set_is_seeded_once_and_deleting_all_keeps_them_gone(loaded_store, people):
    assert "经核实，不属于城市管理问题，不予立案" in texts(loaded_store, "reject")
    assert set(phrases.picker(loaded_store)) >= {
        "reject",
        "rework",
        "return",
        "refute",
        "close",
        "park",
        "urge",
    }
    assert phrases.ensure_seeded(loaded_store) is False  # already there
    for p in phrases.all_phrases(loaded_store)["urge"]:
        phrases.delete_phrase(loaded_store, user=people["office"], phrase_id=p.id)
    assert texts(loaded_store, "urge") == []
    assert "urge" not in phrases.picker(loaded_store)
    assert texts(loaded_store, "reject")  # the others stay


def test_the_office_adds_edits_reorders_and_deletes(loaded_store, people):
    office = people["office"]
    hostile = '<script>alert("x")</script> 请"尽快"处置'
    added = phrases.add_phrase(loaded_store, user=office, action="urge", text=f"  {hostile}\n ")
    assert added.text == hostile and texts(loaded_store, "urge")[-1] == hostile
    with pytest.raises(InvalidInput, match="已有这条"):
        phrases.add_phrase(loaded_store, user=office, action="urge", text=hostile)
    phrases.move_phrase(loaded_store, user=office, phrase_id=str(added.id), direction="up")
    assert texts(loaded_store, "urge")[-2] == hostile
    phrases.edit_phrase(loaded_store, user=office, phrase_id=added.id, text="请今天内处置")
    assert "请今天内处置" in texts(loaded_store, "urge") and hostile not in texts(loaded_store, "urge")
    phrases.delete_phrase(loaded_store, user=office, phrase_id=added.id)
    assert "请今天内处置" not in texts(loaded_store, "urge")
    with pytest.raises(NotFound):
        phrases.delete_phrase(loaded_store, user=office, phrase_id=added.id)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"action": "explode", "text": "x"}, "操作 action"),
        ({"action": "reject", "text": "   "}, "不能为空"),
        ({"action": "reject", "text": "字" * 201}, "最多 200 个字"),
    ],
)
def test_bad_templates_are_refused_in_chinese(loaded_store, people, kwargs, text):
    with pytest.raises(InvalidInput, match=text):
        phrases.add_phrase(loaded_store, user=people["office"], **kwargs)


@pytest.mark.parametrize("role", ["unit", "inspector", "leader"])
def test_only_the_office_keeps_the_templates(loaded_store, people, role):
    first = phrases.all_phrases(loaded_store)["reject"][0]
    user = people[role]
    with pytest.raises(Forbidden, match="创建办"):
        phrases.add_phrase(loaded_store, user=user, action="reject", text="新的")
    with pytest.raises(Forbidden):
        phrases.edit_phrase(loaded_store, user=user, phrase_id=first.id, text="改")
    with pytest.raises(Forbidden):
        phrases.delete_phrase(loaded_store, user=user, phrase_id=first.id)
    with pytest.raises(Forbidden):
        phrases.move_phrase(loaded_store, user=user, phrase_id=first.id, direction="down")
    with pytest.raises(Unauthorized):
        phrases.add_phrase(loaded_store, user=None, action="reject", text="新的")
    assert phrases.all_phrases(loaded_store)["reject"][0] == first


def test_every_workflow_action_has_templates_to_pick():
    from gridmap.problems.workflow import TRANSITIONS

    assert set(TRANSITIONS) <= set(phrases.ACTIONS)
    assert {"merge", "followup"} <= set(phrases.ACTIONS)
    assert all(phrases.DEFAULTS[a] for a in phrases.ACTIONS)
