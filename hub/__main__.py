"""``python -m hub --stack-file var/stack.json``: run the hub daemon."""

from __future__ import annotations

import sys

from hub.server import main

if __name__ == "__main__":
    sys.exit(main())
