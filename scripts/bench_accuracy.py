#!/usr/bin/env python3
"""Time to accuracy of psfwi's forward modelling (issue 16, docs/BENCHMARKS.md).

    scripts/bench_accuracy.py [--psfwi build/psfwi] [--out DIR] errors
    scripts/bench_accuracy.py [--psfwi build/psfwi] [--out DIR] [--repeats 5] time

The problem, stated so that any modelling code can run it:
- 2-D acoustic wave equation (1/v^2) p_tt - lap p = w(t) delta(x - xs),
  v = 2000 m/s everywhere in x, z in [0, 3000] m; every side absorbing
  (the absorbing layer lies outside that square), no free surface;
- source at (x, z) = (1500, 1500) m; w a 10 Hz Ricker,
  w(t) = (1 - 2 a) exp(-a), a = (pi 10 (t - 0.15))^2;
- two receivers: (1800, 1500) m, 300 m along x, and (1821.7336, 1821.7336)
  m, 455 m along the diagonal (off every grid below);
- pressure recorded from t = 0 to 1.6 s;
- error: relative L2 over both traces at the recorded samples,
  sqrt(sum (p - p_ref)^2 / sum p_ref^2), against the exact solution
  p_ref(t) = (1/pi) int_0^sqrt(t - T) w(t - T - u^2) / sqrt(2 T + u^2) du,
  T = r / v (the 2-D Green's function convolved with w; Simpson's rule on
  4000 intervals: 1.3e-15 relative from 16,000 intervals). The samples
  resolve the signal (Nyquist 50 Hz or more, where the Ricker's amplitude
  spectrum is 9e-10 of its peak; 6e-66 at 125 Hz, 4 ms), so this is the L2
  error of the continuous traces.

What is searched: psfwi forward set-ups (grid spacing dx; sample interval
dt_out, which is also the source wavelet's sampling; [time] cfl, which sets
the internal steps per sample; the absorbing layer's thickness, 200 or
400 m, as a number of cells), one thread, PML, FFTW_ESTIMATE plans.
`errors` runs every set-up once and keeps its error (deterministic: it may run on a busy machine) in OUT/errors.json;
it resumes. `time` then times the set-ups on the front of error against
work (padded cells x steps) REPEATS rounds, interleaved (run it on a quiet
machine), and takes medians: the whole process (start, planning,
modelling, writing NetCDF: wall time of `psfwi forward`) and the
propagation alone (psfwi's "forward: done in" line, modelling only), and
once the first run of each set-up with the stability probe's cache empty
(the probe runs once per set-up outside the region measured stable,
docs/wave.md "Stability"; the rounds reuse its answer). The
answer: for 1 %, 0.2 % and 0.05 %, the cheapest set-up reaching it.
"""
import argparse
import itertools
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

V, F, DELAY, L, TMAX = 2000.0, 10.0, 0.15, 3000.0, 1.6
SRC = (1500.0, 1500.0)
RECS = [(1800.0, 1500.0), (1500.0 + 455.0 / math.sqrt(2.0), 1500.0 + 455.0 / math.sqrt(2.0))]
DXS = [5.0, 6.25, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0, 25.0, 30.0, 32.0, 33.0, 35.0, 40.0]
DTS = [0.0005, 0.001, 0.002, 0.004, 0.005, 0.008, 0.01]
CFLS = [0.3, 0.5, 1.0, 2.0]
LAYERS = [200.0, 400.0]  # absorbing layer thickness (m): cells = max(10, round(m / dx))
TARGETS = [0.01, 0.002, 0.0005]


def ricker(t):
    a = (math.pi * F * (t - DELAY)) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


def reference(r, t, n=4000):
    """The exact trace at distance r, samples t (Simpson's rule in u)."""
    T = r / V
    out = np.zeros_like(t)
    w = np.ones(n + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    for i, ti in enumerate(t):
        if ti <= T:
            continue
        h = math.sqrt(ti - T) / n
        u = np.arange(n + 1) * h
        out[i] = (w * ricker(ti - T - u * u) / np.sqrt(2.0 * T + u * u)).sum() * h / (3.0 * math.pi)
    return out


def nsteps(dx, dt, cfl):
    """psfwi's internal steps per sample: ceil(dt / dt_cfl), dt_cfl = cfl dx / v."""
    return max(1, math.ceil(dt / (cfl * dx / V) * (1.0 - 1e-12)))


def run(psfwi, work, dx, dt, cfl, bc):
    """One psfwi forward run: (data file, wall s, propagation s, nsub, padded cells).
    The stability probe's file cache (docs/wave.md) is WORK/probe_cache."""
    tag = f"{dx:g}_{dt * 1e3:g}_{cfl:g}_{bc}"
    model = os.path.join(work, f"v_{dx:g}.nc")
    if not os.path.exists(model):
        n = int(round(L / dx)) + 1
        np.save(os.path.join(work, "v.npy"), np.full((n, n), V, np.float32))
        subprocess.run([psfwi, "model", "import", os.path.join(work, "v.npy"), "--dx", f"{dx:g}",
                        "-o", model], check=True, capture_output=True)
    csv = os.path.join(work, "survey.csv")
    if not os.path.exists(csv):
        with open(csv, "w") as f:
            f.write("shot,source_x,source_z,receiver_x,receiver_z\n")
            for rx, rz in RECS:
                f.write(f"0,{SRC[0]!r},{SRC[1]!r},{rx!r},{rz!r}\n")
    ini = os.path.join(work, f"f_{tag}.ini")
    data = os.path.join(work, f"d_{tag}.nc")
    with open(ini, "w") as f:
        f.write(f"[model]\nvp = {model}\n[wavelet]\nkind = ricker\nfrequency = {F:g}\n"
                f"delay = {DELAY:g}\n[time]\nduration = {TMAX:g}\nsample_interval = {dt:g}\n"
                f"cfl = {cfl:g}\n[survey]\nfile = {csv}\n[propagator]\nthreads = 1\n"
                f"boundary_cells = {bc}\n"
                f"[output]\ndata = {data}\n")
    t0 = time.perf_counter()
    env = dict(os.environ, PSFWI_CACHE_DIR=os.path.join(work, "probe_cache"))
    p = subprocess.run([psfwi, "forward", "-c", ini], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0 and "unstable" in p.stderr:
        return None  # beyond the k-space step's limit (cfl < 1 / sqrt(2) on a square grid)
    if p.returncode != 0:
        raise SystemExit(f"psfwi forward -c {ini} failed:\n{p.stderr}")
    prop = float(re.search(r"forward: done in ([0-9.]+) s", p.stderr).group(1))
    m = re.search(r"padded (\d+) x (\d+)\), dt = [0-9.e-]+ s \((\d+) steps", p.stderr)
    padded, nsub = int(m.group(1)) * int(m.group(2)), int(m.group(3))
    return data, wall, prop, nsub, padded


def error(data, dt, cache):
    import xarray as xr

    d = xr.open_dataset(data)["pressure"].values[0].astype(np.float64)
    nt = d.shape[1]
    if dt not in cache:
        t = np.arange(nt) * dt
        cache[dt] = np.stack([reference(math.hypot(rx - SRC[0], rz - SRC[1]), t) for rx, rz in RECS])
    ref = cache[dt]
    return math.sqrt(((d - ref) ** 2).sum() / (ref ** 2).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("phase", choices=["errors", "time"])
    ap.add_argument("--psfwi", default="build/psfwi")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="runs/bench_accuracy", help="runs and errors.json")
    ap.add_argument("--quick", action="store_true", help="three set-ups (a smoke test)")
    ap.add_argument("--dx-min", type=float, default=0.0,
                    help="errors: leave out grid spacings below this (m); a later run adds them")
    a = ap.parse_args()
    psfwi = os.path.abspath(a.psfwi)
    work = os.path.abspath(a.out)
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "errors.json")
    rows = json.load(open(store)) if os.path.exists(store) else []
    if a.phase == "errors":
        grid = [(dx, dt, c, max(10, round(m / dx)))
                for dx, dt, c, m in itertools.product(DXS, DTS, CFLS, LAYERS) if dx >= a.dx_min]
        if a.quick:
            grid = [(20.0, 0.002, 0.3, 20), (10.0, 0.001, 0.3, 20), (20.0, 0.004, 2.0, 20)]
        seen, setups = {(r["dx"], r["dt"], r["nsub"], r["bc"]) for r in rows}, []
        for dx, dt, c, bc in grid:  # one run per distinct (dx, dt, steps per sample, layer)
            key = (dx, dt, nsteps(dx, dt, c), bc)
            if key not in seen:
                seen.add(key)
                setups.append((dx, dt, c, bc))
        # cheapest first (work ~ cells x steps), so that a partial run holds the coarse end
        setups.sort(key=lambda s: (L / s[0] + 2 * s[3]) ** 2 * nsteps(s[0], s[1], s[2]) / s[1])
        print(f"bench_accuracy: {len(setups)} set-ups to run, {len(rows)} done; in {work}",
              file=sys.stderr)
        cache = {}
        for k, (dx, dt, c, bc) in enumerate(setups):
            res = run(psfwi, work, dx, dt, c, bc)
            if res is None:
                print(f"  [{k + 1}/{len(setups)}] dx {dx:g} m, dt_out {dt * 1e3:g} ms, cfl {c:g}: "
                      "refused as unstable", file=sys.stderr)
                continue
            data, wall, prop, nsub, padded = res
            e = error(data, dt, cache)
            os.remove(data)
            rows.append(dict(dx=dx, dt=dt, cfl=c, bc=bc, nsub=nsub, padded=padded,
                             steps=round(TMAX / dt) * nsub, err=e))
            with open(store + ".tmp", "w") as f:
                json.dump(rows, f, indent=0)
            os.replace(store + ".tmp", store)
            print(f"  [{k + 1}/{len(setups)}] dx {dx:g} m, dt_out {dt * 1e3:g} ms, cfl {c:g} "
                  f"({nsub} steps/sample), {bc} cells: error {100 * e:.4f} % ({wall:.1f} s)",
                  file=sys.stderr)
        print(f"bench_accuracy: errors of {len(rows)} set-ups in {store}", file=sys.stderr)
        return
    if not rows:
        raise SystemExit(f"{store}: no errors yet; run 'bench_accuracy.py errors' first")
    # the front: set-ups that no other beats in both error and work
    for r in rows:
        r["work"] = r["padded"] * r["steps"]
    front = [r for r in rows if not any(o["err"] <= r["err"] and o["work"] < r["work"] for o in rows)]
    front = [r for r in front if r["err"] <= 2 * TARGETS[0]]
    print(f"bench_accuracy: timing {len(front)} set-ups on the front, {a.repeats} rounds",
          file=sys.stderr)
    # the first run of each set-up, with a probe cache that has not seen it:
    # what a user's first run of a set-up costs (set-ups outside the region
    # measured stable pay the stability probe once); the rounds are warm
    shutil.rmtree(os.path.join(work, "probe_cache"), ignore_errors=True)
    for r in front:
        data, r["cold"], _, _, _ = run(psfwi, work, r["dx"], r["dt"], r["cfl"], r["bc"])
        os.remove(data)
        r["wall"], r["prop"] = [], []
    for k in range(a.repeats):
        for r in front:
            data, wall, prop, _, _ = run(psfwi, work, r["dx"], r["dt"], r["cfl"], r["bc"])
            os.remove(data)
            r["wall"].append(wall)
            r["prop"].append(prop)
        print(f"  round {k + 1}/{a.repeats} done", file=sys.stderr)
    for r in front:
        r["wall_med"] = statistics.median(r["wall"])
        r["prop_med"] = statistics.median(r["prop"])
    print(f"Machine: {os.uname().nodename}, {os.cpu_count()} cores, load average before "
          f"the last round {os.getloadavg()[0]:.2f}; {a.repeats} rounds, medians.")
    print()
    print("| dx (m) | dt_out (ms) | cfl | steps/sample | layer (cells) | padded cells | steps "
          "| error (%) | wall (s) | propagation (s) | first run (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(front, key=lambda r: r["err"]):
        print(f"| {r['dx']:g} | {r['dt'] * 1e3:g} | {r['cfl']:g} | {r['nsub']} | {r['bc']} "
              f"| {r['padded']} | {r['steps']} | {100 * r['err']:.4f} | {r['wall_med']:.3f} "
              f"| {r['prop_med']:.3f} | {r['cold']:.3f} |")
    print()
    for tgt in TARGETS:
        ok = [r for r in front if r["err"] <= tgt]
        if not ok:
            best = min(rows, key=lambda r: r["err"])
            print(f"- {100 * tgt:g} %: no set-up reaches it (best {100 * best['err']:.4f} %)")
            continue
        bw = min(ok, key=lambda r: r["wall_med"])
        bp = min(ok, key=lambda r: r["prop_med"])
        print(f"- {100 * tgt:g} %: cheapest whole process: dx {bw['dx']:g} m, dt_out "
              f"{bw['dt'] * 1e3:g} ms, {bw['nsub']} steps/sample, {bw['bc']} cells: "
              f"{bw['wall_med']:.3f} s (propagation {bw['prop_med']:.3f} s, error "
              f"{100 * bw['err']:.4f} %); cheapest propagation: dx {bp['dx']:g} m, dt_out "
              f"{bp['dt'] * 1e3:g} ms, {bp['nsub']} steps/sample, {bp['bc']} cells: "
              f"{bp['prop_med']:.3f} s")


if __name__ == "__main__":
    main()
