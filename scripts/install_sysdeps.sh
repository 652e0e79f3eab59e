#!/usr/bin/env bash
# Install the Debian packages gridmap's set-up and tests need, only when missing.
set -euo pipefail
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
updated=""
install() {
  echo "安装系统依赖 / installing Debian packages: $*"
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    echo "需要 root 权限安装：$*（请用 root 运行，或先手动安装）" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$updated" ]; then $SUDO apt-get update -q; updated=1; fi
  $SUDO apt-get install -y -q --no-install-recommends "$@"
}
need=()
have chromium || need+=(chromium)
have fonts-noto-cjk || need+=(fonts-noto-cjk)
have libxml-simple-perl || need+=(libxml-simple-perl)  # FixMyStreet's own XML reading in the Open311 tests
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# PostgreSQL (the distribution's default major version) for the PostgreSQL half of the tests
# and for deployments on PostgreSQL/PostGIS; the test session starts its own throw-away cluster.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  install "${need[@]}"
fi
# PostGIS for the installed major version (the newest, when there are several).
version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -n "$version" ] && ! have "postgresql-${version}-postgis-3"; then
  install "postgresql-${version}-postgis-3"
fi
