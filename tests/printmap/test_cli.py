"""`gridmap export-map`, `gridmap atlas` and `gridmap export-data`: as real processes for the
exit codes and files, and in-process through click's runner for the many bad-input cases."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from tests import factory

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]


@pytest.fixture(scope="module")
def env(module_database):
    """Settings of a store loaded with the tiny dataset, once for the module."""
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    load_directory(Store(url), factory.write_dataset(folder / "data"))
    return {**os.environ, "GRIDMAP_INSTANCE_DIR": str(folder / "instance"), "GRIDMAP_DATABASE_URL": url}


def run(env, *args, cwd=None):
    return subprocess.run([*GRIDMAP, *map(str, args)], env=env, capture_output=True, text=True, cwd=cwd)


def invoke(env, *args):
    from gridmap.cli import main

    keys = ("GRIDMAP_INSTANCE_DIR", "GRIDMAP_DATABASE_URL")
    return CliRunner().invoke(main, [str(a) for a in args], env={k: env[k] for k in keys})


def test_export_map_png_pdf_svg(env, tmp_path):
    out = tmp_path / "grid.png"
    done = run(env, "export-map", "--grid", "610330100001", "--dpi", "150", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "滨江网格责任图" in done.stdout
    image = Image.open(out)
    assert image.size == (1240, 1754) and round(image.info["dpi"][0]) == 150
    done = invoke(
        env,
        "export-map",
        "--unit",
        "U1",
        "--format",
        "pdf",
        "--paper",
        "A3",
        "--landscape",
        "-o",
        tmp_path / "unit.pdf",
    )
    assert done.exit_code == 0, done.output
    page = PdfReader(tmp_path / "unit.pdf").pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (1191, 842)
    assert "县住建局责任区图" in page.extract_text()
    done = invoke(env, "export-map", "--county", "--format", "svg", "-o", tmp_path / "c.svg")
    assert done.exit_code == 0, done.output
    svg = ET.parse(tmp_path / "c.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.findtext("{http://www.w3.org/2000/svg}title") == "全县网格责任总图"
    assert (svg.get("width"), svg.get("height")) == ("595.275591pt", "841.889764pt")  # A4 portrait


def test_bad_input_exits_non_zero_with_a_message(env, tmp_path):
    out = tmp_path / "x.png"
    done = run(env, "export-map", "--grid", "999", "-o", out)
    assert done.returncode == 1
    assert "网格编码“999”不存在" in done.stderr and "Traceback" not in done.stderr
    done = run(env, "export-map", "--grid", "610330100001", "--dpi", "1000", "-o", out)
    assert done.returncode == 2
    assert "72–600" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--town", "999"], 1, "镇（街道）代码“999”不存在"),
        (["--grid", "610330100001", "--dpi", "50"], 2, "72–600"),
        (["--grid", "610330100001", "--dpi", "高"], 2, "整数"),
        (["--grid", "610330100001", "--paper", "B5"], 2, "纸张大小“B5”"),
        (["--grid", "610330100001", "--format", "jpg"], 2, "图片格式“jpg”"),
        (["--grid", "610330100001", "--county"], 2, "只请指定一个"),
        ([], 2, "只请指定一个"),
    ],
)
def test_export_map_bad_input(env, tmp_path, args, code, words):
    out = tmp_path / "x.png"
    done = invoke(env, "export-map", *args, "-o", out)
    assert done.exit_code == code
    assert words in done.output
    assert not out.exists()


def test_atlas_pdf_and_zip(env, tmp_path):
    out = tmp_path / "atlas.pdf"
    done = run(env, "atlas", "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "3 页" in done.stdout
    assert "生成图集" in done.stdout + done.stderr  # the progress bar's label
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    assert "新建路网格责任图" in reader.pages[2].extract_text()
    done = invoke(env, "atlas", "-o", tmp_path / "atlas.zip", "--dpi", "72", "--workers", "1")
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(tmp_path / "atlas.zip") as archive:
        assert len(archive.namelist()) == 3
        Image.open(io.BytesIO(archive.read(archive.namelist()[0]))).verify()
    bad = invoke(env, "atlas", "-o", tmp_path / "atlas.docx")
    assert bad.exit_code == 2 and ".pdf" in bad.output
    bad = invoke(env, "atlas", "-o", tmp_path / "a.pdf", "--workers", "0")
    assert bad.exit_code == 2 and "1–16" in bad.output
    assert not (tmp_path / "a.pdf").exists()


def test_export_data_every_format(env, tmp_path):
    done = run(env, "export-data", "--format", "shp", "-o", tmp_path / "shp")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "shp" / "grids.cpg").is_file()
    for fmt, target in (("gpkg", "d.gpkg"), ("xlsx", "d.xlsx"), ("geojson", "geojson"), ("kml", "kml.zip")):
        done = invoke(env, "export-data", "--format", fmt, "-o", tmp_path / target)
        assert done.exit_code == 0, (fmt, done.output)
    names = ["滨江网格", "新建路网格"]
    assert pyogrio.read_dataframe(tmp_path / "shp" / "grids.shp")["name"].tolist() == names
    assert pyogrio.read_dataframe(tmp_path / "d.gpkg", layer="grids")["name"].tolist() == names
    points = pyogrio.read_dataframe(tmp_path / "geojson" / "points.geojson")
    assert points["name"].tolist() == ["城关农贸市场", "县医院"]
    assert [(p.x, p.y) for p in points.geometry] == [(106.515, 33.912), (106.522, 33.907)]
    with zipfile.ZipFile(tmp_path / "kml.zip") as archive:
        archive.extractall(tmp_path / "kml")
    assert pyogrio.read_dataframe(tmp_path / "kml" / "grids.kml")["Name"].tolist() == names
    book = pd.read_excel(tmp_path / "d.xlsx", sheet_name=None, dtype=str)
    assert book["责任单位"]["单位名称"].tolist() == ["县住建局", "县城管执法局", "县供电分公司"]
    bad = invoke(env, "export-data", "--format", "dwg", "-o", tmp_path / "d.dwg")
    assert bad.exit_code == 2 and "不支持的导出格式" in bad.output
