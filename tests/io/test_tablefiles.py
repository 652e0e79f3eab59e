"""Responsibility tables beyond the workbook: CSV files and GeoPackage attribute tables, read
through pandas' C parser and GDAL, validated and reported as the workbook's sheets are."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pyogrio
import pytest

from gridmap.errors import DataError
from gridmap.io import tables
from gridmap.io.formats import read_source
from gridmap.io.read import read_dataset, read_tables
from gridmap.model import TABLE_BY_NAME, TABLES_FILE
from gridmap.reference import load_directory
from tests import factory

HEADS = TABLE_BY_NAME["household_heads"]


def _without(*names: str) -> dict[str, list[list]]:
    tables = factory.tables()
    for name in names:
        del tables[name]
    return tables


def _write_csv(path, header: list[str], rows: list[list], *, encoding: str) -> None:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def _heads(n: int) -> list[list]:
    return [[f"H{i}", f"户长{i}", f"139{i:08d}", "C1", f"{i % 9 + 1}号楼"] for i in range(1, n + 1)]


def test_household_heads_from_a_gbk_csv_with_chinese_headers(tmp_path):
    directory = factory.write_dataset(tmp_path / "d", tables_=_without("household_heads"))
    _write_csv(directory / "中心户长.csv", [c.label for c in HEADS.columns[:5]], _heads(3), encoding="gbk")
    dataset = read_dataset(directory)
    heads = dataset.tables["household_heads"]
    assert heads["name"].tolist() == ["户长1", "户长2", "户长3"]
    assert heads["phone"].tolist() == ["13900000001", "13900000002", "13900000003"]  # text, not numbers
    assert list(heads.index) == ["第 2 行", "第 3 行", "第 4 行"]
    assert dataset.tables["leaders"]["name"].tolist() == ["王建国", "李明", "张华"]  # the rest: the workbook


def test_every_table_as_utf8_csv_with_bom_and_no_workbook(tmp_path):
    directory = factory.write_dataset(tmp_path / "d")
    (directory / TABLES_FILE).unlink()
    for name, rows in factory.tables().items():
        spec = TABLE_BY_NAME[name]
        _write_csv(directory / f"{name}.csv", [c.label for c in spec.columns], rows, encoding="utf-8-sig")
    dataset = read_dataset(directory)
    assert dataset.tables["grid_leaders"]["leader_code"].tolist() == ["L01", "L02", "L03"]
    assert dataset.tables["inspectors"]["grid_codes"].tolist() == ["610330100001、610330100002"]
    assert not [w for w in dataset.warnings if "有 2 处" in w.message]


def test_tables_from_a_geopackage_written_by_gdal_and_by_sqlite(tmp_path):
    directory = factory.write_dataset(tmp_path / "d")
    (directory / TABLES_FILE).unlink()
    package = directory / "responsibility.gpkg"
    for name, rows in factory.tables().items():
        if name == "household_heads":
            continue
        spec = TABLE_BY_NAME[name]
        frame = pd.DataFrame(rows, columns=[c.label for c in spec.columns])
        pyogrio.write_dataframe(frame, package, layer=spec.label, driver="GPKG")  # no geometry
    with sqlite3.connect(package) as db:  # an attribute table as any GeoPackage tool writes one
        db.execute(
            'CREATE TABLE household_heads (fid INTEGER PRIMARY KEY, "编号" TEXT, "姓名" TEXT, '
            '"联系电话" INTEGER, "小区编号" TEXT, "楼栋" TEXT)'
        )
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier) "
            "VALUES ('household_heads', 'attributes', '中心户长')"
        )
        db.executemany(
            "INSERT INTO household_heads VALUES (?, ?, ?, ?, ?, ?)",
            [(7, "H1", "郑大姐", 13900000009, "C1", "3号楼"), (9, "H2", "钱大哥", None, "C1", None)],
        )
    dataset = read_dataset(directory)
    heads = dataset.tables["household_heads"]
    assert heads.to_dict("records")[0] == {
        "code": "H1",
        "name": "郑大姐",
        "phone": "13900000009",
        "community_code": "C1",
        "building": "3号楼",
        "building_code": None,
    }
    assert pd.isna(heads["phone"].iloc[1]) and list(heads.index) == ["FID 7", "FID 9"]
    assert dataset.tables["units"]["code"].tolist() == ["U1", "U2", "U3"]


def test_bad_rows_are_refused_with_file_table_row_and_field_and_nothing_is_loaded(tmp_path, store):
    good = factory.write_dataset(tmp_path / "good")
    load_directory(store, good)
    before = (store.data_version(), len(store.read_dataset().tables["household_heads"]))

    bad = factory.write_dataset(tmp_path / "bad", tables_=_without("household_heads"))
    rows = _heads(5)
    rows[1][0] = "H1"  # row 3 repeats row 2's code
    rows[3][1] = ""  # row 5 has no name
    rows[4][3] = "C404"  # row 6 names a community that does not exist
    _write_csv(bad / "中心户长.csv", [c.label for c in HEADS.columns[:5]], rows, encoding="gb18030")
    with pytest.raises(DataError) as info:
        load_directory(store, bad)
    found = {(f.file, f.layer, f.feature, f.field) for f in info.value.findings}
    assert ("中心户长.csv", "中心户长", "第 2 行", "code") in found
    assert ("中心户长.csv", "中心户长", "第 3 行", "code") in found
    assert ("中心户长.csv", "中心户长", "第 5 行", "name") in found
    assert any("必填字段“姓名”为空" in f.message for f in info.value.findings)
    assert (store.data_version(), len(store.read_dataset().tables["household_heads"])) == before

    rows[1][0], rows[3][1] = "H2", "户长4"  # only the dangling community is left
    _write_csv(bad / "中心户长.csv", [c.label for c in HEADS.columns[:5]], rows, encoding="gb18030")
    with pytest.raises(DataError) as info:
        load_directory(store, bad)
    [dangling] = info.value.findings
    assert (dangling.file, dangling.feature, dangling.field) == ("中心户长.csv", "第 6 行", "community_code")
    assert "C404" in dangling.message
    assert (store.data_version(), len(store.read_dataset().tables["household_heads"])) == before


def test_a_table_in_two_places_uses_the_csv_and_says_so(tmp_path):
    directory = factory.write_dataset(tmp_path / "d")
    _write_csv(
        directory / "household_heads.csv", [c.name for c in HEADS.columns[:5]], _heads(2), encoding="utf-8"
    )
    dataset = read_dataset(directory)
    assert dataset.tables["household_heads"]["code"].tolist() == ["H1", "H2"]
    [warning] = [w for w in dataset.warnings if "有 2 处" in w.message]
    assert "household_heads.csv" in warning.message and "responsibility.xlsx" in warning.message


def test_a_missing_table_names_every_way_to_give_it(tmp_path):
    directory = factory.write_dataset(tmp_path / "d", tables_=_without("grid_roles"))
    with pytest.raises(DataError) as info:
        read_dataset(directory)
    [missing] = [f for f in info.value.findings if "缺少工作表“网格责任”" in f.message]
    assert "网格责任.csv" in missing.hint and "responsibility.gpkg" in missing.hint
    (directory / TABLES_FILE).unlink()
    with pytest.raises(DataError, match="找不到责任表"):
        read_dataset(directory)


def test_a_csv_is_not_held_to_the_workbook_cell_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "MAX_CELLS", 50)  # 40 rows × 5 columns are over it
    directory = factory.write_dataset(tmp_path / "d", tables_=_without("household_heads"))
    _write_csv(directory / "中心户长.csv", [c.label for c in HEADS.columns[:5]], _heads(40), encoding="gbk")
    assert len(read_tables(directory)[0]["household_heads"]) == 40
    assert len(read_source(directory / "中心户长.csv", kind="household_heads").frame) == 40
    book = factory.write_dataset(tmp_path / "x", tables_={**_without(), "household_heads": _heads(40)})
    with pytest.raises(DataError) as info:  # the same rows in a workbook are over the budget
        read_source(book / TABLES_FILE, kind="household_heads", layer="中心户长")
    assert "过大" in info.value.message and "CSV 或 GeoPackage" in str(info.value.findings[0])


def test_gridmap_import_reads_a_gbk_csv_and_a_geopackage_table(tmp_path):
    path = tmp_path / "户长.csv"
    rows = [["凤县中心户长名册", "", "", "", ""], *_heads(2)]
    rows.insert(1, [c.label for c in HEADS.columns[:5]])
    path.write_bytes("\n".join(",".join(r) for r in rows).encode("gbk"))
    source = read_source(path, kind="household_heads")
    assert source.encoding == "gb18030" and source.frame["姓名"].tolist() == ["户长1", "户长2"]
    assert list(source.labels) == ["第 3 行", "第 4 行"]

    package = tmp_path / "名册.gpkg"
    frame = pd.DataFrame(_heads(2), columns=[c.label for c in HEADS.columns[:5]])
    pyogrio.write_dataframe(frame, package, layer="中心户长", driver="GPKG")
    pyogrio.write_dataframe(frame.iloc[:1], package, layer="其他", driver="GPKG", append=False)
    source = read_source(package, kind="household_heads")
    assert source.layer == "中心户长" and not source.is_spatial
    assert source.frame["编号"].tolist() == ["H1", "H2"] and list(source.labels) == ["FID 1", "FID 2"]
