#!/usr/bin/env bash
# Add one gridmap app server on this machine: a systemd unit that runs `gridmap serve` with an env file.
#
#   sudo scripts/add_server.sh --env-file /etc/gridmap/gridmap.env [--name app1] [--port 8000]
#        [--workers N] [--user gridmap] [--unit-dir /etc/systemd/system] [--start]
#
# The env file holds the settings every server of the city shares (GRIDMAP_DATABASE_URL,
# GRIDMAP_STORAGE, GRIDMAP_SECRET_KEY, …; see docs/deploy.md). The unit is written to
# <unit-dir>/gridmap-<name>.service; with --start it is enabled and started (systemctl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="app1"
PORT="8000"
WORKERS=""
RUN_AS="gridmap"
UNIT_DIR="/etc/systemd/system"
ENV_FILE=""
START=0
PYTHON="${GRIDMAP_PYTHON:-$ROOT/.venv/bin/python}"

fail() { echo "add_server.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME="${2:-}"; shift 2 ;;
    --port) PORT="${2:-}"; shift 2 ;;
    --workers) WORKERS="${2:-}"; shift 2 ;;
    --user) RUN_AS="${2:-}"; shift 2 ;;
    --unit-dir) UNIT_DIR="${2:-}"; shift 2 ;;
    --env-file) ENV_FILE="${2:-}"; shift 2 ;;
    --start) START=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$ENV_FILE" ] || fail "--env-file is required: the settings every server shares (docs/deploy.md)"
[ -f "$ENV_FILE" ] || fail "env file $ENV_FILE does not exist"
ENV_FILE="$(cd "$(dirname "$ENV_FILE")" && pwd)/$(basename "$ENV_FILE")"
[[ "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || fail "--name: lower-case letters, digits and '-', got '$NAME'"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail "--port: 1-65535, got '$PORT'"
[ -z "$WORKERS" ] || [[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || fail "--workers: a whole number above 0, got '$WORKERS'"
[[ "$RUN_AS" =~ ^[a-z_][a-z0-9_-]*$ ]] || fail "--user: a system user name, got '$RUN_AS'"
grep -Eq '^[[:space:]]*GRIDMAP_DATABASE_URL=' "$ENV_FILE" \
  || fail "$ENV_FILE has no GRIDMAP_DATABASE_URL: every server must use the one shared database"
if grep -Eq '^[[:space:]]*GRIDMAP_DATABASE_URL=.*sqlite' "$ENV_FILE"; then
  echo "add_server.sh: warning: $ENV_FILE uses SQLite; several machines need PostgreSQL (docs/deploy.md)" >&2
fi
[ -x "$PYTHON" ] || fail "no Python at $PYTHON (run the set-up first, or set GRIDMAP_PYTHON)"
[ -d "$UNIT_DIR" ] || fail "unit directory $UNIT_DIR does not exist"

UNIT="$UNIT_DIR/gridmap-$NAME.service"
EXEC="$PYTHON -m gridmap.cli serve --host 0.0.0.0 --port $PORT${WORKERS:+ --workers $WORKERS}"
cat > "$UNIT" <<EOF
[Unit]
Description=gridmap app server $NAME (port $PORT)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$RUN_AS
WorkingDirectory=$ROOT
EnvironmentFile=$ENV_FILE
ExecStart=$EXEC
Restart=on-failure
RestartSec=5
KillMode=mixed
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF
echo "wrote $UNIT"
echo "  ExecStart=$EXEC"
if [ "$START" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now "gridmap-$NAME.service"
  echo "started gridmap-$NAME; add 127.0.0.1:$PORT (or this machine's address) to the proxy's upstream"
else
  echo "start it with: systemctl daemon-reload && systemctl enable --now gridmap-$NAME"
fi
