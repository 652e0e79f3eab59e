"""Where the shared real public data lies: ../shared/realdata beside the checkout (or $GRIDMAP_REALDATA)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("GRIDMAP_REALDATA", ROOT.parent / "shared" / "realdata"))
