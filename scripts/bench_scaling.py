#!/usr/bin/env python3
"""How psfwi's cost grows: grid, shots, threads, MPI ranks (issue 16, docs/BENCHMARKS.md).

    scripts/bench_scaling.py [--psfwi build/psfwi] [--out DIR] [--repeats 3] [--quick]
                             [grid] [shots] [mpi]        (default: all three)

Every run is a `psfwi forward` or `psfwi gradient` process on a layered
model (1500-3500 m/s, 10 m cells, 20-cell PML, absorbing top, k-space
scheme, 10 Hz Ricker, one internal step per sample: 200 steps), sources
20 m deep, a receiver every 4th column. For each run the script keeps the
whole-process wall time, the propagation's own time (psfwi's "done in"
line), the process's peak resident memory (wait4's ru_maxrss) and the
padded grid; runs of one phase are interleaved round by round and medians
are printed as markdown tables (and kept in OUT/scaling.json).

- grid: 256 x 128, 512 x 256, 1024 x 384, 2048 x 768, 4096 x 1536 cells
  (x by z), one shot, one thread: forward time per padded cell and step,
  and bytes per padded cell; the gradient (keep-all tape) up to 2048 x 768
  (4096 x 1536 would tape 5 GB): its time over the forward's and its bytes
  per padded cell and step.
- shots: 512 x 256 cells, 1 to 64 shots, OMP_NUM_THREADS 1 and 2 (shots
  run in parallel, one per thread): forward time per shot, and the 2-thread
  speed-up.
- mpi: the gradient of 16 shots on 512 x 256 cells on 1, 2 and 4 MPI ranks
  of one thread each (mpirun --oversubscribe: 4 ranks share 2 cores here),
  and on one rank with 2 threads.

Standard library only; needs psfwi (and mpirun for the mpi phase).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

GRIDS = [(256, 128), (512, 256), (1024, 384), (2048, 768), (4096, 1536)]
GRAD_MAX_CELLS = 2048 * 768
SHOTS = [1, 2, 4, 8, 16, 32, 64]
RANKS = [1, 2, 4]
DX, VMIN, VMAX, STEPS = 10.0, 1500.0, 3500.0, 200


def sample_interval():
    """One internal step per sample at the default CFL 0.3."""
    return 0.3 * DX / VMAX * 0.999


def model(psfwi, work, nx, nz):
    """The true model (seed 3) and the gradient's model (seed 4) on an nx x nz grid."""
    for seed in (3, 4):
        path = os.path.join(work, f"v{seed}_{nx}x{nz}.nc")
        if not os.path.exists(path):
            subprocess.run([psfwi, "model", "synth", "--family", "layered", "--nx", str(nx),
                            "--nz", str(nz), "--dx", f"{DX:g}", "--seed", str(seed), "--vmin",
                            f"{VMIN:g}", "--vmax", f"{VMAX:g}", "-o", path], check=True,
                           capture_output=True)


def config(work, kind, nx, nz, nshots):
    """A forward (kind 'f', on model seed 3) or gradient (kind 'g', model
    seed 4 against the forward's data as observed) config."""
    tag = f"{nx}x{nz}_{nshots}"
    dt = sample_interval()
    lx = (nx - 1) * DX
    step = lx / (nshots + 1)
    src = f"{step:.3f}:{step:.3f}:{nshots}"
    lines = [
        "[model]", f"vp = v{3 if kind == 'f' else 4}_{nx}x{nz}.nc",
        "[wavelet]", "kind = ricker", "frequency = 10",
        "[time]", f"duration = {STEPS * dt:.9f}", f"sample_interval = {dt:.9f}",
        "[survey]", f"source_x = {src}", "source_z = 20",
        f"receiver_x = 0:{4 * DX:g}:{(nx - 1) // 4 + 1}", "receiver_z = 20",
        "[propagator]", f"vmin = {VMIN:g}", f"vmax = {VMAX:g}",
    ]
    if kind == "f":
        lines += ["[output]", f"data = d_{tag}.nc"]
    else:
        lines += ["[data]", f"observed = d_{tag}.nc", "[output]", f"gradient = g_{tag}.nc"]
    path = os.path.join(work, f"{kind}_{tag}.ini")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run(cmd, env_extra, work):
    """(wall s, propagation s or None, peak RSS bytes, padded cells, stderr)."""
    env = dict(os.environ, **env_extra)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"bench_scaling: {' '.join(cmd)} failed ({p.returncode}):\n{err}")
    m = re.findall(r"done in ([0-9.]+) s", err) or re.findall(r"gradient: J = \S+ in ([0-9.]+) s", err)
    prop = float(m[0]) if m else None
    g = re.search(r"padded (\d+) x (\d+)", err)
    padded = int(g.group(1)) * int(g.group(2)) if g else None
    return wall, prop, ru.ru_maxrss * 1024, padded, err


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def phase_grid(a, psfwi, work, res):
    grids = GRIDS[:2] if a.quick else GRIDS
    for nx, nz in grids:
        model(psfwi, work, nx, nz)
        config(work, "f", nx, nz, 1)
        if nx * nz <= GRAD_MAX_CELLS:
            config(work, "g", nx, nz, 1)
            run([psfwi, "forward", "-c", f"f_{nx}x{nz}_1.ini"], {"OMP_NUM_THREADS": "1"}, work)
    rows = {g: {"f": [], "g": []} for g in grids}
    for k in range(a.repeats):
        for nx, nz in grids:
            for kind in ("f", "g"):
                if kind == "g" and nx * nz > GRAD_MAX_CELLS:
                    continue
                cmd = [psfwi, "forward" if kind == "f" else "gradient", "-c",
                       f"{kind}_{nx}x{nz}_1.ini"]
                rows[(nx, nz)][kind].append(run(cmd, {"OMP_NUM_THREADS": "1"}, work)[:4])
        print(f"  grid: round {k + 1}/{a.repeats}", file=sys.stderr)
    out = []
    print("\n| grid (x by z) | padded cells | forward wall (s) | propagation (s) | ns per cell-step "
          "| forward peak RSS (MiB) | B per padded cell | gradient (s) | gradient / forward "
          "| gradient peak RSS (MiB) | B per padded cell-step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (nx, nz), r in rows.items():
        f, g = r["f"], r["g"]
        padded = f[0][3]
        fw, fp, frss = med([x[0] for x in f]), med([x[1] for x in f]), med([x[2] for x in f])
        ns = fp / (padded * STEPS) * 1e9
        line = dict(nx=nx, nz=nz, padded=padded, fwd_wall=fw, fwd_prop=fp, ns_cell_step=ns,
                    fwd_rss=frss, fwd_bytes_cell=frss / padded)
        gtxt = "| - | - | - | - |"
        if g:
            gw, grss = med([x[1] for x in g]), med([x[2] for x in g])
            ratios = [gx[1] / fx[1] for gx, fx in zip(g, f)]
            line.update(grad=gw, grad_ratio=med(ratios), grad_rss=grss,
                        grad_bytes_cell_step=grss / padded / STEPS)
            gtxt = (f"| {gw:.3f} | {med(ratios):.2f} | {grss / 2**20:.1f} "
                    f"| {grss / padded / STEPS:.2f} |")
        print(f"| {nx} x {nz} | {padded} | {fw:.3f} | {fp:.3f} | {ns:.2f} | {frss / 2**20:.1f} "
              f"| {frss / padded:.1f} " + gtxt)
        out.append(line)
    res["grid"] = out


def phase_shots(a, psfwi, work, res):
    nx, nz = 512, 256
    shots = SHOTS[:3] if a.quick else SHOTS
    model(psfwi, work, nx, nz)
    for n in shots:
        config(work, "f", nx, nz, n)
    times = {(n, t): [] for n in shots for t in (1, 2)}
    for k in range(a.repeats):
        for n in shots:
            for t in (1, 2):
                w = run([psfwi, "forward", "-c", f"f_{nx}x{nz}_{n}.ini"],
                        {"OMP_NUM_THREADS": str(t)}, work)
                times[(n, t)].append(w[1])
        print(f"  shots: round {k + 1}/{a.repeats}", file=sys.stderr)
    out = []
    print(f"\n{nx} x {nz} cells, forward (propagation time):\n")
    print("| shots | 1 thread (s) | per shot (s) | 2 threads (s) | per shot (s) | speed-up |")
    print("|---|---|---|---|---|---|")
    for n in shots:
        t1 = med(times[(n, 1)])
        t2 = med(times[(n, 2)])
        sp = med([x / y for x, y in zip(times[(n, 1)], times[(n, 2)])])
        print(f"| {n} | {t1:.3f} | {t1 / n:.4f} | {t2:.3f} | {t2 / n:.4f} | {sp:.2f} |")
        out.append(dict(shots=n, t1=t1, t2=t2, speedup=sp))
    res["shots"] = out


def phase_mpi(a, psfwi, work, res):
    nx, nz, n = 512, 256, 16
    model(psfwi, work, nx, nz)
    config(work, "f", nx, nz, n)
    config(work, "g", nx, nz, n)
    run([psfwi, "forward", "-c", f"f_{nx}x{nz}_{n}.ini"], {"OMP_NUM_THREADS": "2"}, work)
    env = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1"}
    cases = [(r, 1) for r in (RANKS[:2] if a.quick else RANKS)] + [(1, 2)]
    times = {c: [] for c in cases}
    for k in range(a.repeats):
        for r, t in cases:
            cmd = [psfwi, "gradient", "-c", f"g_{nx}x{nz}_{n}.ini"]
            if r > 1:
                cmd = ["mpirun", "-np", str(r), "--oversubscribe"] + cmd
            times[(r, t)].append(run(cmd, dict(env, OMP_NUM_THREADS=str(t)), work)[1])
        print(f"  mpi: round {k + 1}/{a.repeats}", file=sys.stderr)
    base = times[(1, 1)]
    out = []
    print(f"\nGradient of {n} shots on {nx} x {nz} cells (its own time, set-up excluded):\n")
    print("| ranks x threads | time (s) | speed-up |")
    print("|---|---|---|")
    for r, t in cases:
        sp = med([b / x for b, x in zip(base, times[(r, t)])])
        print(f"| {r} x {t} | {med(times[(r, t)]):.3f} | {sp:.2f} |")
        out.append(dict(ranks=r, threads=t, time=med(times[(r, t)]), speedup=sp))
    res["mpi"] = out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("phases", nargs="*", help="grid, shots, mpi (default: all three)")
    ap.add_argument("--psfwi", default="build/psfwi")
    ap.add_argument("--out", default="runs/bench_scaling")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the two smallest of each (a smoke test)")
    a = ap.parse_args()
    phases = a.phases or ["grid", "shots", "mpi"]
    bad = [p for p in phases if p not in ("grid", "shots", "mpi")]
    if bad:
        ap.error(f"unknown phase '{bad[0]}' (grid, shots, mpi)")
    psfwi = os.path.abspath(a.psfwi)
    work = os.path.abspath(a.out)
    os.makedirs(work, exist_ok=True)
    print(f"Machine: {os.uname().nodename}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} at the start; {a.repeats} rounds, medians; {psfwi}")
    res = {}
    for ph in phases:
        {"grid": phase_grid, "shots": phase_shots, "mpi": phase_mpi}[ph](a, psfwi, work, res)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    with open(os.path.join(work, "scaling.json.tmp"), "w") as f:
        json.dump(res, f, indent=1)
    os.replace(os.path.join(work, "scaling.json.tmp"), os.path.join(work, "scaling.json"))


if __name__ == "__main__":
    main()
