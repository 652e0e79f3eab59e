"""The one settings registry: every setting declared once as (name, default, help)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from gridmap.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Setting:
    """One setting: its environment name, default, parser and help text."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _basemap(value: str) -> str:
    value = value.strip()
    if value.lower() in {"none", "osm", "tianditu", "amap"}:
        return value.lower()
    if value and Path(value).is_dir():
        return str(Path(value).resolve())
    msg = (
        f"GRIDMAP_BASEMAP={value!r} 无效：应为 none、osm、tianditu、amap，"
        "或一个本地瓦片目录（按 {z}/{x}/{y}.png 组织）的路径"
    )
    raise ConfigError(msg)


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        msg = f"应为正整数，实际为 {value!r}"
        raise ValueError(msg)
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        msg = f"应为正数，实际为 {value!r}"
        raise ValueError(msg)
    return number


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "GRIDMAP_DATABASE_URL",
        None,
        "SQLAlchemy URL of the store. Default: the SQLite file instance/gridmap.sqlite "
        "(under GRIDMAP_INSTANCE_DIR).",
    ),
    Setting(
        "GRIDMAP_INSTANCE_DIR",
        str(DEFAULT_INSTANCE_DIR),
        "Folder for the SQLite file, the secret key file, uploads and gridmap.toml.",
    ),
    Setting("PORT", 5000, "TCP port that `gridmap serve` and `make run` listen on.", _positive_int),
    Setting("GRIDMAP_HOST", "127.0.0.1", "Address that `gridmap serve` binds to."),
    Setting(
        "GRIDMAP_WORKERS",
        4,
        "Number of gunicorn worker processes for `gridmap serve`.",
        _positive_int,
    ),
    Setting(
        "GRIDMAP_BASEMAP",
        "none",
        "Basemap under our layers: none (own layers only, works offline), osm, "
        "tianditu (needs GRIDMAP_TIANDITU_TOKEN), amap (GCJ-02 tiles; overlays are shifted "
        "to match), or the path of a local XYZ tile folder ({z}/{x}/{y}.png).",
        _basemap,
    ),
    Setting("GRIDMAP_TIANDITU_TOKEN", "", "Tianditu (天地图) API token, needed by the tianditu basemap."),
    Setting(
        "GRIDMAP_SECRET_KEY",
        None,
        "Secret for signing sessions. Default: a random key generated once and kept in "
        "instance/secret_key (mode 0600).",
    ),
    Setting(
        "GRIDMAP_WHOIS_TOLERANCE_M",
        50.0,
        "How far (metres) a spot may be from a road segment for that segment's unit to answer for it.",
        _positive_float,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def config_file(instance_dir: str | Path) -> Path:
    """Return the path of the instance config file (TOML with setting names as keys)."""
    return Path(instance_dir) / "gridmap.toml"


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        msg = f"配置文件 {path} 格式错误：{exc}。请改正或删除该文件"
        raise ConfigError(msg) from exc
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        msg = f"配置文件 {path} 含未知设置 {', '.join(unknown)}；可用设置见 README"
        raise ConfigError(msg)
    return data


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every setting: overrides, then environment, then config file, then default."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(_BY_NAME))
    if unknown:
        msg = f"未知设置：{', '.join(unknown)}"
        raise ConfigError(msg)
    instance_dir = overrides.get("GRIDMAP_INSTANCE_DIR") or environ.get(
        "GRIDMAP_INSTANCE_DIR", _BY_NAME["GRIDMAP_INSTANCE_DIR"].default
    )
    from_file = _read_config_file(config_file(instance_dir))
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            values[setting.name] = overrides[setting.name]
            continue
        raw = environ.get(setting.name)
        source = "环境变量"
        if raw is None and setting.name in from_file:
            raw, source = str(from_file[setting.name]), "配置文件"
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            msg = f"{source}中的 {setting.name}={raw!r} 无效：{exc}"
            raise ConfigError(msg) from exc
    values["GRIDMAP_INSTANCE_DIR"] = str(Path(values["GRIDMAP_INSTANCE_DIR"]))
    if not values["GRIDMAP_DATABASE_URL"]:
        db = Path(values["GRIDMAP_INSTANCE_DIR"]) / "gridmap.sqlite"
        values["GRIDMAP_DATABASE_URL"] = f"sqlite:///{db}"
    if values["GRIDMAP_BASEMAP"] == "tianditu" and not values["GRIDMAP_TIANDITU_TOKEN"]:
        msg = "GRIDMAP_BASEMAP=tianditu 需要同时设置 GRIDMAP_TIANDITU_TOKEN（天地图密钥）"
        raise ConfigError(msg)
    return values


def secret_key(settings: Mapping[str, Any]) -> str:
    """Return the configured secret, or one generated once and kept in the instance folder."""
    if settings.get("GRIDMAP_SECRET_KEY"):
        return str(settings["GRIDMAP_SECRET_KEY"])
    import secrets

    folder = Path(settings["GRIDMAP_INSTANCE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        tmp = folder / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first process to link wins, others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
