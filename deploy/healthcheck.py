"""Container health check: exit 0 when an HTTP URL answers 200 (no curl in the slim image)."""

import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:  # noqa: S310 -- a fixed local URL
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure means unhealthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
