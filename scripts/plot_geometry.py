#!/usr/bin/python3
"""Draw the acquisition geometry of shot gathers (SEG-Y or psfwi NetCDF) to PNG.

usage: scripts/plot_geometry.py FILE.segy|FILE.nc -o out.png [--psfwi PATH]

Reads the per-trace geometry from `psfwi data info FILE --traces` (psfwi's
own SEG-Y header reader: FIELD_RECORD, SourceX/GroupX with the coordinate
scalar, depths with the elevation scalar) and draws three panels: the
stacking chart (receiver x against the shot's order in the file, sources
as stars), the source and receiver depths along x, and the histogram of
offsets (receiver x - source x).
"""
import argparse
import csv
import io
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from psfwi_command import find_psfwi  # noqa: E402

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402


def fail(msg):
    print(f"plot_geometry: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--psfwi", help="path of the psfwi command")
    ap.add_argument("--dpi", type=int, default=120)
    a = ap.parse_args()
    psfwi = find_psfwi(a.psfwi)
    if psfwi is None:
        fail("needs the psfwi command: pass --psfwi PATH or put it on PATH")
    out = subprocess.run([psfwi, "data", "info", a.file, "--traces"], capture_output=True, text=True)
    if out.returncode != 0:
        fail(out.stderr.strip() or f"psfwi data info failed on {a.file}")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    if not rows:
        fail(f"{a.file}: no traces")
    rec = np.array([int(r["record"]) for r in rows])
    sx = np.array([float(r["source_x"]) for r in rows])
    sz = np.array([float(r["source_z"]) for r in rows])
    rx = np.array([float(r["receiver_x"]) for r in rows])
    rz = np.array([float(r["receiver_z"]) for r in rows])
    off = rx - sx
    # the shot's order: a new run of FIELD_RECORD values starts a new row
    run = np.concatenate([[0], np.cumsum(rec[1:] != rec[:-1])])

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    ax.scatter(rx / 1000.0, run, s=4, c="tab:blue", label="receivers")
    first = np.concatenate([[True], run[1:] != run[:-1]])
    ax.scatter(sx[first] / 1000.0, run[first], s=40, marker="*", c="tab:red", label="sources")
    ax.invert_yaxis()
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("x (km)")
    ax.set_ylabel("shot (order in the file)")
    ax.set_title(f"{os.path.basename(a.file)}: {run[-1] + 1} shot run(s), {len(rows)} traces")
    ax.legend(loc="lower right", fontsize=8)
    ax = axes[1]
    ax.scatter(rx / 1000.0, rz, s=4, c="tab:blue", label="receivers")
    ax.scatter(sx[first] / 1000.0, sz[first], s=40, marker="*", c="tab:red", label="sources")
    ax.invert_yaxis()
    ax.set_xlabel("x (km)")
    ax.set_ylabel("depth (m)")
    ax.set_title("depths")
    ax = axes[2]
    ax.hist(off / 1000.0, bins=min(60, max(10, len(rows) // 20)), color="tab:gray")
    ax.set_xlabel("offset = receiver x - source x (km)")
    ax.set_ylabel("traces")
    ax.set_title(f"offsets {off.min():.0f} .. {off.max():.0f} m")
    fig.tight_layout()
    fig.savefig(a.output, dpi=a.dpi)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
