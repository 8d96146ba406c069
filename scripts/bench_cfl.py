#!/usr/bin/env python3
"""Accuracy of the k-space time step against the CFL number in
heterogeneous models (issue 16, docs/BENCHMARKS.md "Time step").

    scripts/bench_cfl.py [--psfwi build/psfwi] [--out runs/bench_cfl] [--cfl 0.1,0.2,...]
                         [--models homogeneous,marmousi,faulted,salt]

The k-space scheme with c_ref = vmax is exact in time where the velocity is
c_ref and loses accuracy where it is slower; how much, for which CFL number
(vmax dt / dx), is measured here on the set-up of the shipped Marmousi
configurations (40 m cells, 5 Hz Ricker delayed 0.3 s, i.e. 3 points per
shortest wavelength at 1500 m/s; 4 s; 3 shots at a quarter, half and three
quarters of the width, 20 m deep; a receiver on every column, 20 m deep;
PML of 20 cells; absorbing top) in:
- homogeneous: 2000 m/s on Marmousi's grid (the control: the scheme is
  exact in time there, so its error must be round-off at every CFL);
- marmousi: models/marmousi_40m.nc (1500..5500 m/s; skipped when absent:
  scripts/make_models.sh);
- faulted: psfwi model synth --family faulted, 231 x 76 cells of 40 m,
  seed 7, 1500..4500 m/s, 80 m of water (the regularization study's);
- salt: psfwi model synth --family salt, same grid, seed 3, 1500..4500 m/s,
  80 m of water.
For each CFL number c the gathers are recorded at dt_out = c dx / vmax (one
internal step per sample, so the step is exactly c) and compared with a
reference of the same samples and wavelet stepped at CFL <= 0.02
(ceil(c / 0.02) internal steps per sample): the relative L2 difference of
the whole gathers is the time-stepping error alone.
"""
import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np

NX, NZ, DX = 231, 76, 40.0


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return p


def models(psfwi, work):
    out = {}
    hom = os.path.join(work, "homogeneous.nc")
    if not os.path.exists(hom):
        np.save(os.path.join(work, "h.npy"), np.full((NZ, NX), 2000.0, np.float32))
        sh([psfwi, "model", "import", os.path.join(work, "h.npy"), "--dx", f"{DX:g}", "-o", hom])
    out["homogeneous"] = (hom, 2000.0)
    if os.path.exists("models/marmousi_40m.nc"):
        out["marmousi"] = (os.path.abspath("models/marmousi_40m.nc"), 5500.0)
    else:
        print("bench_cfl: models/marmousi_40m.nc absent (scripts/make_models.sh); skipped",
              file=sys.stderr)
    for fam, seed in (("faulted", 7), ("salt", 3)):
        f = os.path.join(work, f"{fam}.nc")
        if not os.path.exists(f):
            sh([psfwi, "model", "synth", "--family", fam, "--nx", str(NX), "--nz", str(NZ), "--dx",
                f"{DX:g}", "--seed", str(seed), "--vmin", "1500", "--vmax", "4500", "--water", "80",
                "-o", f])
        out[fam] = (f, 4500.0)
    return out


def forward(psfwi, work, model, vmax, dt, cfl, tag):
    ini = os.path.join(work, f"{tag}.ini")
    data = os.path.join(work, f"{tag}.nc")
    nt = int(math.floor(4.0 / dt + 1e-9))
    with open(ini, "w") as f:
        f.write(f"[model]\nvp = {model}\n[wavelet]\nkind = ricker\nfrequency = 5\ndelay = 0.3\n"
                f"[time]\nduration = {nt * dt!r}\nsample_interval = {dt!r}\ncfl = {cfl!r}\n"
                f"[survey]\nsource_x = {NX * DX / 4:g}:{NX * DX / 4:g}:3\nsource_z = 20\n"
                f"receiver_x = 0:{DX:g}:{NX}\nreceiver_z = 20\n[propagator]\nvmax = {vmax:g}\n"
                f"[output]\ndata = {data}\n")
    t0 = time.perf_counter()
    p = subprocess.run([psfwi, "forward", "-c", ini], capture_output=True, text=True)
    if p.returncode != 0 and "unstable" in p.stderr:
        return None, 0.0  # refused by psfwi's stability probe (docs/wave.md)
    if p.returncode != 0:
        raise SystemExit(f"psfwi forward -c {ini} failed:\n{p.stderr}")
    return data, time.perf_counter() - t0


def read(path):
    import xarray as xr

    return xr.open_dataset(path)["pressure"].values.astype(np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--psfwi", default="build/psfwi")
    ap.add_argument("--out", default="runs/bench_cfl")
    ap.add_argument("--cfl", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--models", default="homogeneous,marmousi,faulted,salt",
                    help="a subset of the four models, comma-separated")
    a = ap.parse_args()
    psfwi = os.path.abspath(a.psfwi)
    work = os.path.abspath(a.out)
    os.makedirs(work, exist_ok=True)
    cfls = [float(c) for c in a.cfl.split(",")]
    ms = models(psfwi, work)
    want = a.models.split(",")
    unknown = [m for m in want if m not in ("homogeneous", "marmousi", "faulted", "salt")]
    if unknown:
        raise SystemExit(f"bench_cfl: --models: unknown {', '.join(unknown)}; expected "
                         "homogeneous, marmousi, faulted, salt")
    ms = {k: v for k, v in ms.items() if k in want}
    res = {}
    for name, (path, vmax) in ms.items():
        for c in cfls:
            dt = c * DX / vmax
            ref_cfl = c / math.ceil(c / 0.02)
            d, t = forward(psfwi, work, path, vmax, dt, c * (1 + 1e-9), f"{name}_{c:g}")
            if d is None:
                res[(name, c)] = None
                print(f"  {name}, cfl {c:g}: refused as unstable", file=sys.stderr)
                continue
            r, tr = forward(psfwi, work, path, vmax, dt, ref_cfl * (1 + 1e-9), f"{name}_{c:g}_ref")
            x, y = read(d), read(r)
            os.remove(d)
            os.remove(r)
            e = math.sqrt(((x - y) ** 2).sum() / (y ** 2).sum())
            res[(name, c)] = (e, t, tr)
            print(f"  {name}, cfl {c:g}: dt {1e3 * dt:.3f} ms, error {100 * e:.4g} % "
                  f"({t:.1f} s; reference {tr:.1f} s)", file=sys.stderr)
    names = list(ms)
    print("Relative L2 difference (%) of the gathers from the CFL <= 0.02 reference, "
          "one internal step per sample:")
    print()
    print("| CFL | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for c in cfls:
        print(f"| {c:g} | " + " | ".join("refused (unstable)" if res[(n, c)] is None
                                           else f"{100 * res[(n, c)][0]:.3g}" for n in names) + " |")


if __name__ == "__main__":
    main()
