"""``python -m classroom_node --config node.toml``."""

from __future__ import annotations

import sys

from classroom_node.main import main

sys.exit(main())
