"""Grid-level pages (/levels/<code> and /api/levels/<code>), the county map's level layers and tiles."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

from gridmap.errors import NotFound
from gridmap.io.read import read_dataset
from gridmap.leveldetail import level_detail
from gridmap.reference import load_directory
from gridmap.responsibility import build_model
from gridmap.vectortiles import vector_tile
from tests import factory
from tests.test_whois_levels import (
    G1,
    G2,
    GRID_A,
    OWNER,
    OWNER_PHONE,
    SUB,
    TOWN_B,
    V1,
    V2,
    level_layers,
    level_tables,
)
from web import create_app

HOSTILE = '<img src=x id="gm-injected">白石村'


def _layers():
    layers = level_layers()
    layers["subgrids"].loc[1, "name"] = HOSTILE  # V2
    return layers


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = factory.write_dataset(
        tmp_path_factory.mktemp("lv") / "d", layers_=_layers(), tables_=level_tables()
    )
    return build_model(read_dataset(folder))


@pytest.fixture(scope="module")
def client(module_database, tmp_path_factory):
    """A real app over the hand-made county loaded into the module's database (SQLite or PostgreSQL)."""
    from gridmap.store import Store

    _folder, url = module_database
    data = factory.write_dataset(
        tmp_path_factory.mktemp("lvapp") / "d", layers_=_layers(), tables_=level_tables()
    )
    store = Store(url)
    load_directory(store, data)
    app = create_app(
        {
            "GRIDMAP_INSTANCE_DIR": str(tmp_path_factory.mktemp("inst")),
            "GRIDMAP_DATABASE_URL": url,
            "GRIDMAP_SECRET_KEY": "test-secret",
        }
    )
    yield app.test_client()
    store.engine.dispose()


def test_a_village_names_its_parents_children_people_and_buildings(model):
    d = level_detail(model, V1)
    assert (d["level"], d["level_label"], d["name"]) == ("村", "村网格", "红花铺村")
    assert [(p["level"], p["code"]) for p in d["parents"]] == [("县", None), ("镇", TOWN_B)]
    assert [(c["level"], c["code"]) for c in d["children"]] == [("组", G1), ("组", G2)]
    assert [(p["name"], p["role"], p["phone"]) for p in d["people"]] == [
        ("李书记", "村书记", "13900000021"),
        ("陈网格员", "网格员", "13900000022"),
    ]
    assert [b["code"] for b in d["buildings"]] == ["B1"]  # B2 lies in 白石村
    assert d["shops"] == []


def test_a_group_and_a_sub_grid_name_the_whole_chain_above_them(model):
    assert [p["code"] for p in level_detail(model, G2)["parents"]] == [None, TOWN_B, V1]
    sub = level_detail(model, SUB)
    assert [(p["level"], p["code"]) for p in sub["parents"]][1:] == [("镇", "610330100"), ("网格", GRID_A)]
    assert sub["people"][0]["name"] == "吴网格员"


def test_a_town_lists_its_village_grids_and_the_shops_inside_without_the_owners_contact(model):
    d = level_detail(model, TOWN_B)
    assert [c["code"] for c in d["children"]] == [V1, V2]
    assert [s["code"] for s in d["shops"]] == ["SH1"]
    assert set(d["shops"][0]) == {"code", "name", "category", "address"}
    assert OWNER_PHONE not in repr(d) and OWNER not in repr(d)
    grid_town = level_detail(model, "610330100")
    assert [c["code"] for c in grid_town["children"]][:2] == [GRID_A, "610330100002"]  # county-town grids


def test_an_unknown_code_is_not_found_in_chinese(model):
    with pytest.raises(NotFound, match="不是任何镇"):
        level_detail(model, "nope")


def test_the_level_page_and_its_json_twin(client):
    page = client.get(f"/levels/{V1}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in (
        "红花铺村",
        "村网格",
        "凤州镇",
        "红花铺村二组",
        "李书记",
        "13900000021",
        "红花新村1号楼",
    ):
        assert expected in html, expected
    town = client.get(f"/levels/{TOWN_B}").get_data(as_text=True)
    assert HOSTILE not in town and "&lt;img src=x" in town  # a village's name is text, never markup
    assert "白石村小卖部" in town and OWNER_PHONE not in town
    data = client.get(f"/api/levels/{G2}").get_json()
    assert data["code"] == G2 and [p["code"] for p in data["parents"]] == [None, TOWN_B, V1]
    missing = client.get("/api/levels/nope")
    assert missing.status_code == 404 and "不是任何镇" in missing.get_data(as_text=True)


def test_the_county_map_carries_the_levels_with_names_escaped_and_no_owner_contact(client):
    html = client.get("/").get_data(as_text=True)
    assert "gridmapLevelState" in html and "css/levels.css" in html
    assert "红花铺村二组" in html and "白石村小卖部" in html
    assert HOSTILE not in html and 'id="gm-injected"' not in html  # only inside JSON, escaped
    assert OWNER_PHONE not in html and OWNER not in html


def test_sub_grid_and_shop_tiles_carry_level_and_parent_but_no_owner_contact(model):
    # zoom 14 tile holding 红花铺村 (106.55-106.58, 33.85-33.88)
    tile = vector_tile(model, version=1, layer="subgrids", z=14, x=13041, y=6552)
    features = mapbox_vector_tile.decode(tile.data)["subgrids"]["features"]
    found = {f["properties"]["code"]: f["properties"] for f in features}
    assert found[G1]["level"] == "组" and found[G1]["parent_code"] == V1
    shops = vector_tile(model, version=1, layer="shops", z=15, x=26087, y=13105).data
    decoded = mapbox_vector_tile.decode(shops)["shops"]["features"]
    assert decoded and decoded[0]["properties"]["name"] == "白石村小卖部"
    assert OWNER_PHONE.encode() not in shops and OWNER.encode() not in shops
