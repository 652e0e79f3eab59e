"""Install the pinned front-end libraries from npm and copy them into web/static/vendor.

Usage: python scripts/vendor_assets.py [--force] [--check] [--quiet]

1. ``npm ci --no-audit --no-fund --ignore-scripts`` into node_modules/ when node_modules
   is missing or was installed from another package-lock.json;
2. copies the files listed in gridmap/assets.py (``VENDOR``) into
   ``web/static/vendor/<package>@<version>/`` (plus their source maps), builds the
   generated ones, and writes ``web/static/vendor/manifest.json``, which is also the
   stamp: when it matches package-lock.json, gridmap/assets.py, this script and the
   installed folium, and every file is present, the script does nothing (well under a
   second).

Needs Node.js/npm and the npm registry (or a mirror, see ``npm config set registry``)
only when something has to be installed: on a machine without internet, run it
elsewhere and copy web/static/vendor over.
Exit status: 0 done or up to date, 1 failure, 2 npm not installed, 3 --check found work.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gridmap.errors import ConfigError

try:
    from gridmap import assets  # reads package-lock.json
except ConfigError as _exc:
    print(f"vendor_assets: {_exc}", file=sys.stderr)
    sys.exit(1)

NODE_MODULES = ROOT / "node_modules"
NPM_STAMP = NODE_MODULES / ".gridmap-lock.sha256"
BUILD_DIR = NODE_MODULES / ".gridmap-vendor-build"
OLD_DIR = NODE_MODULES / ".gridmap-vendor-old"
SOURCE_MAP = re.compile(rb"[#@]\s*sourceMappingURL=([^\s*'\"]+)")


class VendorError(Exception):
    """A failure with a message for the person running the script."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _sha256(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(hashlib.sha256(chunk).digest())
    return digest.hexdigest()


def _lock_sha() -> str:
    if not assets.PACKAGE_LOCK.is_file():
        msg = (
            f"找不到 {assets.PACKAGE_LOCK}：请在项目根目录运行 npm install --package-lock-only "
            "生成锁定文件 (package-lock.json is missing)"
        )
        raise VendorError(msg)
    return _sha256(assets.PACKAGE_LOCK.read_bytes())


def _stamp() -> str:
    """Changes whenever anything that decides the contents of web/static/vendor changes."""
    return _sha256(
        assets.PACKAGE_LOCK.read_bytes(),
        Path(assets.__file__).read_bytes(),
        Path(__file__).read_bytes(),
        assets.VENDOR["folium"]["version"].encode(),
    )


def _up_to_date() -> bool:
    try:
        manifest = json.loads(assets.MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("stamp") == _stamp() and not assets.missing_files()


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        msg = (
            "未找到 npm：请安装 Node.js（含 npm，建议 20 LTS 或更新版本，如 apt-get install nodejs npm），"
            "然后重新运行 python scripts/vendor_assets.py。\n"
            "npm not found: please install Node.js/npm (20 LTS or newer) and run this script again."
        )
        raise VendorError(msg, status=2)
    return npm


def _npm_ci(*, quiet: bool) -> None:
    command = [_npm(), "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    if not quiet:
        print("正在安装前端库 (npm ci) …", flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired as exc:
        msg = "npm ci 超时（15 分钟）：请检查网络或 npm 镜像源 (npm ci timed out)"
        raise VendorError(msg) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        msg = (
            f"npm ci 失败（退出码 {done.returncode}）。请检查网络，或改用国内镜像："
            "npm config set registry https://registry.npmmirror.com\n"
            f"npm ci failed (exit status {done.returncode}); output:\n{tail}"
        )
        raise VendorError(msg)
    NPM_STAMP.write_text(_lock_sha() + "\n", encoding="utf-8")


def _node_modules_fresh() -> bool:
    try:
        return NPM_STAMP.read_text(encoding="utf-8").strip() == _lock_sha()
    except OSError:
        return False


def _source_root(key: str, entry: dict) -> Path:
    if entry["source"] == "python":
        spec = importlib.util.find_spec(key)
        if spec is None or spec.origin is None:
            msg = f"找不到 Python 包 {key}：请先 pip install -r requirements.txt ({key} is not installed)"
            raise VendorError(msg)
        return Path(spec.origin).parent
    root = NODE_MODULES / key
    try:
        installed = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError) as exc:
        msg = f"node_modules 中缺少 {key}，请用 --force 重新安装 ({key} is not installed)"
        raise VendorError(msg) from exc
    if installed != entry["version"]:
        msg = (
            f"node_modules/{key} 的版本是 {installed}，而 package-lock.json 要求 {entry['version']}："
            f"请用 --force 重新安装 (installed {key} {installed} != locked {entry['version']})"
        )
        raise VendorError(msg)
    return root


def _glyphicons(package_root: Path) -> bytes:
    """Only the Glyphicons part of Bootstrap 3 (what netdna's bootstrap-glyphicons.css was)."""
    css = (package_root / "dist/css/bootstrap.css").read_text(encoding="utf-8")
    start = css.find('@font-face {\n  font-family: "Glyphicons Halflings"')
    end = css.find("\n* {", start)
    if start < 0 or end < 0:
        msg = "Bootstrap 3 的 bootstrap.css 结构与预期不同，无法提取 Glyphicons (unexpected bootstrap.css layout)"
        raise VendorError(msg)
    part = css[start:end].strip()
    selectors = re.findall(r"^([^\s{}][^{}]*?)\s*\{", part, flags=re.MULTILINE)
    strays = [s for s in selectors if not (s.startswith(("@font-face", ".glyphicon")))]
    if strays:
        msg = f"提取的 Glyphicons 片段含有其他规则 (unexpected rules in the Glyphicons part): {strays[:3]}"
        raise VendorError(msg)
    head = (
        "/*!\n * Glyphicons Halflings from Bootstrap v3.4.1 (https://getbootstrap.com/), MIT License.\n"
        " * Extracted from dist/css/bootstrap.css by gridmap scripts/vendor_assets.py.\n */\n"
    )
    return (head + part + "\n").encode("utf-8")


_RECIPES = {"glyphicons": _glyphicons}


def _copy_with_source_map(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    if source.suffix not in {".js", ".css"}:
        return
    with source.open("rb") as handle:
        handle.seek(max(0, source.stat().st_size - 400))
        match = SOURCE_MAP.search(handle.read())
    if match:
        name = match.group(1).decode("ascii", "replace")
        map_source = source.parent / name
        if "/" not in name and ":" not in name and map_source.is_file():
            shutil.copyfile(map_source, target.parent / name)


def _build(into: Path) -> dict:
    packages = {}
    for key, entry in assets.VENDOR.items():
        source_root = _source_root(key, entry)
        target_root = into / entry["dir"]
        for path in entry["js"] + entry["css"] + entry["files"]:
            target = target_root / path
            recipe = entry["generated"].get(path)
            if recipe is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_RECIPES[recipe](source_root))
                continue
            source = source_root / path
            if not source.is_file():
                msg = f"{key} {entry['version']} 中没有文件 {path} (file missing from the package)"
                raise VendorError(msg)
            _copy_with_source_map(source, target)
        packages[key] = {
            "name": entry["name"],
            "version": entry["version"],
            "dir": entry["dir"],
            "files": entry["js"] + entry["css"] + entry["files"],
        }
    return {"stamp": _stamp(), "generated_by": "scripts/vendor_assets.py", "packages": packages}


def _install(*, quiet: bool) -> None:
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    BUILD_DIR.mkdir(parents=True)
    manifest = _build(BUILD_DIR)
    (BUILD_DIR / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(OLD_DIR, ignore_errors=True)
    assets.VENDOR_DIR.parent.mkdir(parents=True, exist_ok=True)
    if assets.VENDOR_DIR.exists():
        assets.VENDOR_DIR.rename(OLD_DIR)
    BUILD_DIR.rename(assets.VENDOR_DIR)
    shutil.rmtree(OLD_DIR, ignore_errors=True)
    if not quiet:
        count = sum(len(p["files"]) for p in manifest["packages"].values())
        names = ", ".join(p["dir"] for p in manifest["packages"].values())
        print(f"已复制 {count} 个前端文件到 {assets.VENDOR_DIR} ({names})")


def vendor(*, force: bool = False, check: bool = False, quiet: bool = False) -> int:
    """Bring web/static/vendor up to date; return the exit status."""
    if not force and _up_to_date():
        if not quiet:
            print(f"前端库已是最新 (up to date): {assets.VENDOR_DIR}")
        return 0
    if check:
        print(f"web/static/vendor 需要更新。{assets.VENDOR_HINT}", file=sys.stderr)
        return 3
    lock_path = Path(tempfile.gettempdir()) / f"gridmap-vendor-{_sha256(str(ROOT).encode())[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run (a parallel test session) may be at work
        if not force and _up_to_date():
            return 0
        if force or not _node_modules_fresh():
            _npm_ci(quiet=quiet)
        _install(quiet=quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="reinstall and copy even if up to date")
    parser.add_argument("--check", action="store_true", help="only report whether work is needed")
    parser.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        status = vendor(force=args.force, check=args.check, quiet=args.quiet)
    except (VendorError, ConfigError) as exc:
        print(f"vendor_assets: {exc}", file=sys.stderr)
        return getattr(exc, "status", 1)
    if not args.quiet and status == 0:
        print(f"({time.monotonic() - started:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
