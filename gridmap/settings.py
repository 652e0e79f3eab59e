"""The one settings registry: every setting declared once as (name, default, help)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gridmap.errors import ConfigError
from gridmap.settingslist import (  # noqa: F401  (re-exported)
    BASEMAP_MBTILES,
    DEFAULT_INSTANCE_DIR,
    PROJECT_ROOT,
    SETTINGS,
    Setting,
)

_BY_NAME = {s.name: s for s in SETTINGS}


def attribute_name(name: str) -> str:
    """A setting's attribute on Settings: the environment name without GRIDMAP_, lower case."""
    return name.removeprefix("GRIDMAP_").lower()


@dataclass(frozen=True)
class Settings(Mapping[str, Any]):
    """Every setting, resolved and typed; frozen. Read ``settings.patrol_mode``.

    It is also a read-only mapping from the environment names (``settings["GRIDMAP_PATROL_MODE"]``),
    which is how Flask's ``app.config`` and older call sites see it. Services take a Settings and
    carry no defaults of their own: the defaults live in SETTINGS above, nowhere else.
    """

    database_url: str
    instance_dir: str
    port: int
    host: str
    workers: int
    basemap: str
    tianditu_token: str
    secret_key: str | None
    secure_cookies: bool
    whois_tolerance_m: float
    whois_source: str
    frontage_tolerance_m: float
    body_timeout_s: float
    heavy_slots: int
    heavy_wait_s: float
    print_cache_mb: float
    print_anon_max_dpi: int
    problem_categories: str
    duplicate_radius_m: float
    photo_max_mb: float
    photo_max_count: int
    photo_dir: str
    import_max_mb: float
    import_max_unpacked_mb: float
    import_max_ratio: float
    import_keep_minutes: float
    coverage_tolerance_m2: float
    coverage_min_width_m: float
    coverage_sliver_width_m: float
    patrol_max_snap_m: float
    patrol_mode: str
    patrol_hours: float
    patrol_walk_kmh: float
    patrol_bike_kmh: float
    patrol_stop_minutes: float
    patrol_point_value_m: float
    patrol_time_limit: float
    patrol_own_grids: bool
    patrol_checkin_m: float
    login_max_failures: int
    login_max_failures_per_address: int
    login_window_minutes: float
    trusted_proxies: int
    session_hours: float
    token_days: float
    apikey_days: float
    reports_per_hour: int
    support_window_hours: float
    work_hours: tuple[tuple[int, int], ...]
    holidays_file: str | None
    checklist_file: str | None
    verify_hours: float
    urgent_hours: float
    smtp_url: str | None
    smtp_from: str
    webhook_url: str | None
    notify_max_attempts: int
    notify_retry_seconds: float
    notify_poll_seconds: float
    notify_timeout_seconds: float
    notify_lease_seconds: float
    due_soon_hours: float
    escalate_hours: float
    digest_at: str
    dashboard_refresh_seconds: float
    followup_days: float
    followup_due_days: float
    scoring_file: str
    reward_points: int
    version_check_s: float
    embed_max_features: int
    storage: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    audit_frontage_max_m: float
    frontage_categories: tuple[str, ...]

    # --- the mapping view, by environment name ---------------------------------------
    def __getitem__(self, name: str) -> Any:
        if name not in _BY_NAME:
            raise KeyError(name)
        return getattr(self, attribute_name(name))

    def __iter__(self) -> Iterator[str]:
        return iter(_BY_NAME)

    def __len__(self) -> int:
        return len(_BY_NAME)

    def but(self, **changes: Any) -> Settings:
        """A copy with some attributes changed (tests: ``settings.but(patrol_mode="bike")``)."""
        return replace(self, **changes)


def _typed(setting: Setting, value: Any) -> Any:
    """An override as its setting's type: text goes through the setting's parser."""
    if isinstance(value, str) and setting.parse is not str and value != "":
        return setting.parse(value)
    return value


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
) -> Settings:
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
            try:
                values[setting.name] = _typed(setting, overrides[setting.name])
            except (TypeError, ValueError) as exc:
                msg = f"设置 {setting.name}={overrides[setting.name]!r} 无效：{exc}"
                raise ConfigError(msg) from exc
            continue
        raw = environ.get(setting.name)
        source = "环境变量"
        if raw is None and setting.name in from_file:
            raw, source = str(from_file[setting.name]), "配置文件"
        if raw is None or (raw == "" and not setting.blank_is_value):
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
    if values["GRIDMAP_BASEMAP"] == "mbtiles":
        values["GRIDMAP_BASEMAP"] = str(Path(values["GRIDMAP_INSTANCE_DIR"]).resolve() / BASEMAP_MBTILES)
    url = str(values["GRIDMAP_DATABASE_URL"])
    if values["GRIDMAP_WHOIS_SOURCE"] == "database" and not url.startswith(("postgresql", "postgres:")):
        msg = (
            f"GRIDMAP_WHOIS_SOURCE=database 要在 PostgreSQL/PostGIS 中查询责任归属，但 GRIDMAP_DATABASE_URL "
            f"指向 {url.split(':', 1)[0]} 数据库（{url}）；请把 GRIDMAP_DATABASE_URL 设为 "
            "postgresql+psycopg://用户:密码@主机/库名，或把 GRIDMAP_WHOIS_SOURCE 改回 memory（默认，县级数据用内存索引）"
        )
        raise ConfigError(msg)
    if values["GRIDMAP_BASEMAP"] == "tianditu" and not values["GRIDMAP_TIANDITU_TOKEN"]:
        msg = "GRIDMAP_BASEMAP=tianditu 需要同时设置 GRIDMAP_TIANDITU_TOKEN（天地图密钥）"
        raise ConfigError(msg)
    return Settings(**{attribute_name(name): value for name, value in values.items()})
