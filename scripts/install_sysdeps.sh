#!/usr/bin/env bash
# Install the Debian packages gridmap's set-up and tests need, only when missing.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have chromium || need+=(chromium)
have fonts-noto-cjk || need+=(fonts-noto-cjk)
have libxml-simple-perl || need+=(libxml-simple-perl)  # FixMyStreet's own XML reading in the Open311 tests
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "安装系统依赖 / installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "需要 root 权限安装：${need[*]}（请用 root 运行，或先手动安装）" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
