"""What the costliest inputs cost the verifier: each through ``verify_untrusted`` (the CLI's and the portal's path),
printing the verdict, the wall time to it, how the child ended and its peak memory, and this process's memory.

    .venv/bin/python bench/verify_limits.py [--pdf COMPLETED.pdf] [--json OUT]

The inputs are the ones that used to cost minutes and gigabytes: one huge integer array (20 MiB and 48 MiB),
a dictionary with 3 million keys, deeply nested arrays, a decompression bomb; plus, when given, a real completed
document as the baseline. Figures go to stdout (and ``--json``); nothing is asserted (speed is measured, not tested).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import zlib
from pathlib import Path


def one_object_pdf(body: bytes, extra: bytes = b"") -> bytes:
    head = b"%PDF-1.7\n"
    obj = b"1 0 obj\n" + body + b"\nendobj\n" + extra
    xref = len(head) + len(obj)
    return head + obj + (b"xref\n0 2\n0000000000 65535 f \n%010d 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
                         b"startxref\n%d\n%%%%EOF\n" % (len(head), xref))


def inputs() -> dict[str, bytes]:
    bomb = zlib.compress(b"\0" * (256 << 20), 9)
    return {
        "20 MiB: one huge integer array": one_object_pdf(b"<< /Type /Catalog /X [" + b"1 " * (10 << 20) + b"] >>"),
        "48 MiB: one huge integer array": one_object_pdf(b"<< /Type /Catalog /X [" + b"1 " * (24 << 20) + b"] >>"),
        "33 MiB: a dictionary with 3M keys": one_object_pdf(
            b"<< /Type /Catalog " + b"".join(b"/K%d 1 " % i for i in range(3_000_000)) + b">>"),
        "arrays nested 1M deep": one_object_pdf(b"<< /Type /Catalog /X " + b"[" * 1_000_000 + b"]" * 1_000_000 + b">>"),
        "256 MiB decompression bomb": one_object_pdf(
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R "
            b"/MediaBox [0 0 600 800] /Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Length %d /Filter /FlateDecode >>\n"
            b"stream\n%s\nendstream\nendobj\n" % (len(bomb), bomb)),
    }


def rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    # imported here, not at the top: the sandbox's fork server re-imports the main module in every child
    from esign.signing.keys import load_ca_certificates
    from esign.verify import verify_untrusted
    from esign.verify.sandbox import MEMORY_LIMIT_BYTES, TIME_LIMIT_SECONDS, shared_sandbox

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, help="a completed document (baseline)")
    parser.add_argument("--ca", type=Path, help="the company CA certificate (PEM) the baseline is checked against")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    cases = inputs()
    if args.pdf:
        cases = {f"completed document ({args.pdf.stat().st_size >> 10} KiB)": args.pdf.read_bytes(), **cases}
    roots = load_ca_certificates(args.ca) if args.ca else []
    print(f"limits: {TIME_LIMIT_SECONDS:.0f} s, {MEMORY_LIMIT_BYTES >> 20} MiB address space per child")
    verify_untrusted(b"%PDF-1.7\n%%EOF\n", None, roots)  # untimed: starts the fork server once
    rows = []
    for name, data in cases.items():
        before = rss()
        start = time.monotonic()
        result = verify_untrusted(data, None, roots)
        seconds = time.monotonic() - start
        report = shared_sandbox().last
        peak = report.peak_rss_bytes if report is not None else None
        row = {"input": name, "bytes": len(data), "status": result.status,
               "reasons": [r.code for r in result.reasons], "seconds": round(seconds, 2),
               "child": report.outcome if report else "not run (refused before parsing)",
               "child_peak_rss_mib": round(peak / 2**20, 1) if peak else None,
               "parent_rss_growth_mib": round((rss() - before) / 2**20, 1)}
        rows.append(row)
        print(f"{name}: {row['status']} {row['reasons']} in {row['seconds']} s; child {row['child']}, "
              f"peak RSS {row['child_peak_rss_mib']} MiB; this process +{row['parent_rss_growth_mib']} MiB")
        del data
    worst = max(rows, key=lambda r: r["seconds"])
    print(f"worst time: {worst['seconds']} s ({worst['input']}); worst child peak RSS: "
          f"{max((r['child_peak_rss_mib'] or 0) for r in rows)} MiB; this process peaked at "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB (the inputs themselves included)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
