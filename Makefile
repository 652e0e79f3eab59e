# gridmap: two commands on a fresh Debian machine with Python 3.11 — `make run`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export PORT

.PHONY: setup sysdeps venv vendor demo run lint test bench bench-scale clean

setup: sysdeps venv vendor

sysdeps:
	@bash scripts/install_sysdeps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gridmap 需要 Python 3.11 或更高版本")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . || $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

vendor: venv
	$(BIN)/python scripts/vendor_assets.py

demo: setup
	$(BIN)/gridmap load geodata/demo --if-empty

# the web server and, next to it, the notification worker (email, webhook, reminders); Ctrl-C stops both
run: demo
	@$(BIN)/gridmap notify worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/gridmap serve --port $(PORT)

lint: venv
	$(BIN)/ruff check gridmap web tests scripts
	$(BIN)/ruff format --check gridmap web tests scripts
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python scripts/bench.py --json bench-results.json

# province size: generated counties of 1,000 / 10,000 / 100,000 grids (load + audit, peak RSS, whois,
# the map's download); `make bench` runs scripts/bench_scale.py at 1,000 grids only
bench-scale: setup
	$(BIN)/python scripts/bench_scale.py --full --json bench-scale.json

clean:
	rm -rf $(VENV) node_modules web/static/vendor
