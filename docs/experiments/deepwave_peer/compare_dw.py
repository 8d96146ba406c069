#!/usr/bin/env python3
"""Time to accuracy: Deepwave's scalar kernel (dw_drive.c, README.md here)
against psfwi and ../fd_peer, on the problem of scripts/bench_accuracy.py.

  compare_dw.py --dw DW_DRIVE errors             # search Deepwave's set-ups
  compare_dw.py --dw DW_DRIVE --psfwi build/psfwi time --repeats 7

errors: every set-up once (h 7.5..30 m, orders 4 and 8, PML 10 or 20 cells,
dt = 4 or 5 ms / nsub within Deepwave's own CFL limit, nsub raised until
the error stops falling; deterministic; OUT/dw_errors.json, resumable).
time (a quiet machine): per target, the 4 cheapest set-ups by work (cells x
steps, order 8 counted 1.5x) of Deepwave and of fd_peer (OUT/fd_errors.json
of ../fd_peer/compare.py) timed 3 times each, the fastest kept; then
Deepwave, fd_peer and psfwi (scripts/bench_accuracy.py's front) in REPEATS
interleaved rounds. Medians; ratios are medians of per-round ratios.
"""
import argparse, importlib.util, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
spec = importlib.util.spec_from_file_location("ba", os.path.join(ROOT, "scripts", "bench_accuracy.py"))
ba = importlib.util.module_from_spec(spec); spec.loader.exec_module(ba)
sys.path.insert(0, os.path.dirname(HERE))
import peer_search  # noqa: E402
TARGETS = [0.01, 0.002, 0.0005]
# psfwi's cheapest set-ups per target (dx, dt_out, cfl, layer cells): the front
# of scripts/bench_accuracy.py with sample intervals up to 8 ms
# (docs/BENCHMARKS.md, "Time to accuracy")
PSFWI_FRONT = {0.01: (32.0, 0.008, 1.0, 10), 0.002: (30.0, 0.008, 1.0, 13),
               0.0005: (15.0, 0.004, 1.0, 27)}
DW = FD = None
PF = 10.0  # pml_freq: the wavelet's peak frequency (Deepwave's default is 25 Hz)

def one(exe, h, dto, nsub, order, w, reps):
    cmd = [exe] + (["acc"] if exe == DW else []) + [f"{h:g}", f"{dto:g}", str(nsub), str(order), str(w)]
    cmd += ([f"{PF:g}"] if exe == DW else []) + [str(reps)]
    o = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return {"h": h, "dt_out": dto, "nsub": nsub, "order": order, "W": w, "cfl": float(o[5]),
            "cells": int(o[6]), "steps": int(o[7]), "error": float(o[8]), "seconds": float(o[9])}

def search(exe, path):
    # Deepwave's own CFL rule (common.cfl_condition_n, c_max 0.6): no
    # internal step above 0.6 / sqrt(2 / h^2) / vmax
    return peer_search.search(
        lambda h, dto, nsub, order, w: one(exe, h, dto, nsub, order, w, 1), path,
        lambda h, dto, nsub: dto / nsub <= 0.6 / (2 ** 0.5 / h) / 2000.0 * (1 + 1e-12))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["errors", "time"])
    ap.add_argument("--dw", required=True, help="the dw_drive binary (README.md)")
    ap.add_argument("--psfwi", default=os.path.join(ROOT, "build", "psfwi"))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "fd_peer"))
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    global DW, FD
    DW = os.path.abspath(a.dw)
    FD = os.path.join(a.out, "fd_peer")
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "dw_errors.json")
    res = search(DW, path)
    print(f"{len(res)} Deepwave set-ups ({path})")
    if a.what == "errors":
        return
    fdpath = os.path.join(a.out, "fd_errors.json")
    if not os.path.exists(FD) or not os.path.exists(fdpath):
        sys.exit(f"compare_dw.py: run ../fd_peer/compare.py --out {a.out} first (fd_peer, fd_errors.json)")
    fdres = json.load(open(fdpath))
    work = os.path.join(a.out, "psfwi"); os.makedirs(work, exist_ok=True)
    rows = []
    for tgt in TARGETS:
        picks = []
        for exe, rr in ((DW, res), (FD, fdres)):
            ok = [r for r in rr if r["error"] == r["error"] and r["error"] <= tgt]
            # cheapest by work (cells x steps, order 8 ~1.5x order 4), then timed
            ok.sort(key=lambda r: r["cells"] * r["steps"] * (1.5 if r["order"] == 8 else 1.0))
            cand = ok[:4]
            t = [one(exe, r["h"], r.get("dt_out", 0.004), r["nsub"], r["order"], r["W"], 3)["seconds"]
                 for r in cand]
            picks.append(cand[t.index(min(t))])
        rows.append((tgt, picks[0], picks[1], PSFWI_FRONT[tgt]))
    cache, err_ps = {}, {}
    for tgt, _, _, (dx, dt, cfl, bc) in rows:
        err_ps[tgt] = ba.error(ba.run(a.psfwi, work, dx, dt, cfl, bc)[0], dt, cache)
    T = {(t, k): [] for t, *_ in rows for k in ("dw", "fd", "ps", "pw")}
    for _ in range(a.repeats):
        for tgt, d, f, (dx, dt, cfl, bc) in rows:
            T[tgt, "dw"].append(one(DW, d["h"], d["dt_out"], d["nsub"], d["order"], d["W"], 1)["seconds"])
            T[tgt, "fd"].append(one(FD, f["h"], f.get("dt_out", 0.004), f["nsub"], f["order"], f["W"], 1)["seconds"])
            _, wall, prop, _, _ = ba.run(a.psfwi, work, dx, dt, cfl, bc)
            T[tgt, "ps"].append(prop); T[tgt, "pw"].append(wall)
    med = statistics.median
    print("| target | Deepwave kernel: set-up | error | time (s) | fd_peer: set-up | error | time (s) | psfwi: set-up | error | propagation (s) | whole process (s) | **psfwi / Deepwave** (propagation) | psfwi / fd_peer |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    su = lambda r: f"order {r['order']}, {r['h']:g} m, dt {1e3 * r.get('dt_out', 0.004) / r['nsub']:.3g} ms, PML {r['W']}"
    for tgt, d, f, (dx, dt, cfl, bc) in rows:
        rd = med(p / q for p, q in zip(T[tgt, "ps"], T[tgt, "dw"]))
        rf = med(p / q for p, q in zip(T[tgt, "ps"], T[tgt, "fd"]))
        print(f"| {tgt:.2%} | {su(d)} | {d['error']:.3%} | {med(T[tgt, 'dw']):.3f} | {su(f)} | {f['error']:.3%} | "
              f"{med(T[tgt, 'fd']):.3f} | {dx:g} m, {dt * 1e3:g} ms, CFL {cfl:g}, layer {bc} | {err_ps[tgt]:.3%} | "
              f"{med(T[tgt, 'ps']):.3f} | {med(T[tgt, 'pw']):.3f} | **{rd:.2f}** | {rf:.2f} |")
    print(f"({a.repeats} interleaved rounds; load average {os.getloadavg()[0]:.2f})")

if __name__ == "__main__":
    sys.exit(main())
