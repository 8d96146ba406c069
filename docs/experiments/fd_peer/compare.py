#!/usr/bin/env python3
"""Time to accuracy: psfwi against the finite-difference peer fd_peer.c.

    docs/experiments/fd_peer/compare.py [--psfwi build/psfwi] [--out DIR] [--repeats 7]

1. Builds fd_peer (cc -O3 -march=native) and searches its set-ups on the
   problem of scripts/bench_accuracy.py: spacing h in 7.5..30 m, order 4
   and 8, a PML of 10 or 20 cells, time steps dt = 4 ms / nsub and 5 ms /
   nsub (records at 4 or 5 ms; the peer's error is mostly its time
   stepping's, ~dt^2), nsub raised until the
   error stops falling or is under 0.04 %; one run each (errors are
   deterministic; DIR/fd_errors.json, resumable).
2. For 1 %, 0.2 % and 0.05 %: the peer's cheapest set-up (by its search
   time) and psfwi's (bench_accuracy.py's front, docs/BENCHMARKS.md), then
   both timed in REPEATS interleaved rounds: the peer's propagation time
   (the time loop; it is a bare C program, start-up ~1 ms) against psfwi's
   propagation ("forward: done in") and whole-process wall time. Medians,
   and the median of the per-round ratios.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
spec = importlib.util.spec_from_file_location("bench_accuracy",
                                              os.path.join(ROOT, "scripts", "bench_accuracy.py"))
ba = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ba)
sys.path.insert(0, os.path.dirname(HERE))
import peer_search  # noqa: E402

TARGETS = [0.01, 0.002, 0.0005]
# psfwi's cheapest set-ups per target (docs/BENCHMARKS.md, "Time to accuracy"):
# (dx, dt_out, cfl, layer cells)
PSFWI_FRONT = {0.01: (25.0, 0.004, 0.5, 10), 0.002: (25.0, 0.004, 0.5, 10),
               0.0005: (15.0, 0.004, 1.0, 27)}


def fd(exe, h, dt_out, nsub, order, w, reps):
    out = subprocess.run([exe, f"{h:g}", f"{dt_out:g}", str(nsub), str(order), str(w), str(reps)],
                         capture_output=True, text=True, check=True).stdout.split()
    return {"h": h, "dt_out": dt_out, "nsub": nsub, "order": order, "W": w, "cfl": float(out[5]),
            "cells": int(out[6]), "steps": int(out[7]), "error": float(out[8]),
            "seconds": float(out[9])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--psfwi", default=os.path.join(ROOT, "build", "psfwi"))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "fd_peer"))
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    exe = os.path.join(a.out, "fd_peer")
    subprocess.run(["cc", "-O3", "-march=native", "-std=c11", os.path.join(HERE, "fd_peer.c"),
                    "-o", exe, "-lm"], check=True)
    path = os.path.join(a.out, "fd_errors.json")
    res = peer_search.search(lambda h, dto, nsub, order, w: fd(exe, h, dto, nsub, order, w, 1), path)
    print(f"{len(res)} peer set-ups searched ({path})")
    rows = []
    for tgt in TARGETS:
        ok = [r for r in res if r["error"] == r["error"] and r["error"] <= tgt]
        if not ok:
            print(f"{tgt:.2%}: no peer set-up reaches it")
            continue
        r = min(ok, key=lambda r: r["seconds"])
        rows.append((tgt, r, PSFWI_FRONT[tgt]))
    work = os.path.join(a.out, "psfwi")
    os.makedirs(work, exist_ok=True)
    t_fd = {t: [] for t, _, _ in rows}
    t_ps = {t: [] for t, _, _ in rows}
    t_pw = {t: [] for t, _, _ in rows}
    err_ps = {}
    cache = {}
    for tgt, r, (dx, dt, cfl, bc) in rows:  # warm the probe cache, check the errors
        data = ba.run(a.psfwi, work, dx, dt, cfl, bc)[0]
        err_ps[tgt] = ba.error(data, dt, cache)
    for k in range(a.repeats):
        for tgt, r, (dx, dt, cfl, bc) in rows:
            t_fd[tgt].append(fd(exe, r["h"], r.get("dt_out", 0.004), r["nsub"], r["order"], r["W"],
                                1)["seconds"])
            _, wall, prop, _, _ = ba.run(a.psfwi, work, dx, dt, cfl, bc)
            t_ps[tgt].append(prop)
            t_pw[tgt].append(wall)
    print("| target | peer set-up | peer error | peer time (s) | psfwi set-up | psfwi error | "
          "psfwi propagation (s) | psfwi whole process (s) | propagation ratio psfwi / peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tgt, r, (dx, dt, cfl, bc) in rows:
        ratio = statistics.median(p / f for p, f in zip(t_ps[tgt], t_fd[tgt]))
        dt_ms = 1e3 * r.get("dt_out", 0.004) / r["nsub"]
        print(f"| {tgt:.2%} | order {r['order']}, h {r['h']:g} m, dt {dt_ms:.3g} ms "
              f"(CFL {r['cfl']:.3f}), PML {r['W']} | {r['error']:.3%} | "
              f"{statistics.median(t_fd[tgt]):.3f} | {dx:g} m, {dt * 1e3:g} ms, CFL {cfl:g}, "
              f"layer {bc} | {err_ps[tgt]:.3%} | {statistics.median(t_ps[tgt]):.3f} | "
              f"{statistics.median(t_pw[tgt]):.3f} | **{ratio:.2f}** |")
    print(f"({a.repeats} interleaved rounds; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    sys.exit(main())
