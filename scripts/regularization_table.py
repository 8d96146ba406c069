#!/usr/bin/env python3
"""Markdown tables of the regularization study (scripts/regularization_study.sh).

Usage: scripts/regularization_table.py runs/regularization/table.csv [--pictures DIR]
                                       [--depths Z1,Z2,...] [--best ssim|rmse]
                                       [--only MODEL_NOISE_METHOD,...] [--grid] [--summary]

Prints, per (model, noise, method): every run (regularizer, weight, solver,
RMSE, relative error, SSIM, seconds), then the best weight of each
regularizer by SSIM with its gain over no regularization. Standard library
only, except --pictures: for each (model, noise, method) a PNG in DIR
(MODEL_NOISE_METHOD.png) of the true model, the unregularized result and
the best result of each regularizer, and beside it MODEL_NOISE_METHOD_error.png
with the same panels as errors (model - true, one colour scale), drawn by
scripts/plot_model.py (needs matplotlib and xarray) from the study's folder,
where the table lies. --depths (m) adds, for the same runs, the RMSE
against the true model within each depth interval [0, Z1), [Z1, Z2), ...,
[Zn, bottom] (needs numpy and xarray): where in depth a regularizer helps.
--best picks each regularizer's best weight by the highest SSIM (the
default) or the lowest RMSE. --only keeps the named cases (e.g.
faulted_10_rnn,marmousi_clean_fwi), so that the pictures of one case can be
drawn again without touching the others'.
--grid adds, per case, the runs as a matrix: one row per regularizer, one
column per weight, each cell "RMSE / SSIM". --summary prints instead, per
(model, method), each regularizer's best weight at every noise level
(clean first, then from the highest SNR down) with its RMSE and SSIM
change against the unregularized run of the same data: the study's
findings in one table per method.
"""
import argparse
import csv
import os
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))


def result_file(folder, r):
    """The model file of a run, named as scripts/regularization_study.sh names it."""
    name = "_".join([r["model"], r["noise"], r["method"], r["regularizer"], r["weight"], r["solver"]])
    return os.path.join(folder, name + ".nc")


def true_file(folder, model):
    if model == "marmousi":
        return os.path.join(HERE, "..", "models", "marmousi_40m.nc")
    return os.path.join(folder, f"{model}_true.nc")


def picture(folder, outdir, key, runs):
    model, noise, method = key
    files = [result_file(folder, r) for r in runs]
    missing = [f for f in files + [true_file(folder, model)] if not os.path.isfile(f)]
    if missing:
        print(f"regularization_table.py: no picture for {key}: {missing[0]} missing", file=sys.stderr)
        return
    os.makedirs(outdir, exist_ok=True)
    for suffix, extra in (("", []), ("_error", ["--error"])):
        png = os.path.join(outdir, f"{model}_{noise}_{method}{suffix}.png")
        cmd = [os.path.join(HERE, "plot_model.py"), *files, "--true",
               true_file(folder, model), "--cols", "3", "--dpi", "80", *extra, "-o", png]
        subprocess.run(cmd, check=True)
        print(f"picture: {png} (true, then " +
              ", ".join(f"{r['regularizer']} {r['weight']}" for r in runs) + ")")


def depth_rmse(folder, model, runs, depths):
    import numpy as np
    import xarray as xr
    truth = xr.open_dataset(true_file(folder, model))["vp"]
    z = truth["z"].values
    edges = [0.0] + depths + [float("inf")]
    names = [f"{edges[i]:g}-{edges[i + 1]:g} m" if edges[i + 1] != float("inf")
             else f"{edges[i]:g} m-bottom" for i in range(len(edges) - 1)]
    print("RMSE (m/s) per depth interval:\n")
    print("| regularizer | weight | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for r in runs:
        f = result_file(folder, r)
        if not os.path.isfile(f):
            print(f"regularization_table.py: {f} missing; no depth row", file=sys.stderr)
            continue
        e = xr.open_dataset(f)["vp"].values - truth.values
        cells = []
        for i in range(len(names)):
            sel = (z >= edges[i]) & (z < edges[i + 1])
            cells.append(f"{np.sqrt(np.mean(e[sel] ** 2)):.1f}" if sel.any() else "-")
        print(f"| {r['regularizer']} | {r['weight']} | " + " | ".join(cells) + " |")
    print()


def noise_order(noise):
    """Clean data first, then from the highest SNR down (anything else last)."""
    if noise == "clean":
        return (0, 0.0, "")
    try:
        return (1, -float(noise), "")
    except ValueError:
        return (2, 0.0, noise)


def unregularized(rs):
    """The unregularized run among one case's runs (the first, if several), or None."""
    return next((r for r in rs if r["regularizer"] == "none"), None)


def grid(rs):
    """One case's runs as a matrix: regularizer rows, weight columns."""
    weights = sorted({r["weight"] for r in rs if r["regularizer"] != "none"}, key=float)
    if not weights:
        return
    regs = []
    for r in rs:
        key = (r["regularizer"], r["solver"])
        if r["regularizer"] != "none" and key not in regs:
            regs.append(key)
    cell = {(r["regularizer"], r["solver"], r["weight"]): r for r in rs}
    fmt = lambda r: f"{float(r['rmse']):.1f} / {float(r['ssim']):.4f}"
    print("RMSE (m/s) / SSIM by weight:\n")
    print("| regularizer | solver | " + " | ".join(weights) + " |")
    print("|---|---|" + "---|" * len(weights))
    base = unregularized(rs)
    if base is not None:
        print(f"| none | {base['solver']} | " + " | ".join([fmt(base)] + [""] * (len(weights) - 1)) + " |")
    for reg, solver in regs:
        cells = [fmt(cell[(reg, solver, w)]) if (reg, solver, w) in cell else "-" for w in weights]
        print(f"| {reg} | {solver} | " + " | ".join(cells) + " |")
    print()


def best_of(rs, score):
    """Each regularizer's best run (by score) among one case's runs."""
    best = {}
    for r in rs:
        if r["regularizer"] == "none":
            continue
        key = (r["regularizer"], r["solver"])
        if key not in best or score(r) > score(best[key]):
            best[key] = r
    return best


def change(r, base):
    """RMSE change (%) and SSIM change of run r against the run base."""
    dr = 100 * (float(r["rmse"]) / float(base["rmse"]) - 1)
    return f"{dr:+.1f} %", f"{float(r['ssim']) - float(base['ssim']):+.4f}"


def summary(groups, by, score):
    """Per (model, method): each regularizer's best weight at every noise level."""
    pairs = sorted({(m, me) for m, _, me in groups})
    for model, method in pairs:
        levels = sorted({n for m, n, me in groups if (m, me) == (model, method)}, key=noise_order)
        names = ["clean" if n == "clean" else f"{n} dB" for n in levels]
        print(f"### {model}, {method}: best weight per regularizer (by {by.upper()})\n")
        print("Each cell: best weight: RMSE change, SSIM change against no regularizer "
              "on the same data (- when a level has no run of it).\n")
        print("| regularizer | solver | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        bests = {n: best_of(groups[(model, n, method)], score) for n in levels}
        bases = {n: unregularized(groups[(model, n, method)]) for n in levels}
        keys = sorted({k for b in bests.values() for k in b})
        for reg, solver in keys:
            cells = []
            for n in levels:
                r = bests[n].get((reg, solver))
                if r is None:
                    cells.append("-")
                elif bases[n] is None:
                    cells.append(f"{r['weight']}: no unregularized run")
                else:
                    dr, ds = change(r, bases[n])
                    cells.append(f"{r['weight']}: {dr}, {ds}")
            print(f"| {reg} | {solver} | " + " | ".join(cells) + " |")
        print()


def case(r):
    """A run's case name, MODEL_NOISE_METHOD (the names --only takes)."""
    return "_".join((r["model"], r["noise"], r["method"]))


def parse_depths(text):
    try:
        return sorted(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not depths in m, e.g. 1000,2000")


def main():
    ap = argparse.ArgumentParser(prog="regularization_table.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage=argparse.SUPPRESS)
    ap.add_argument("table", help="the study's table.csv")
    ap.add_argument("--pictures", metavar="DIR", help="write the pictures of the best runs here")
    ap.add_argument("--depths", metavar="Z1,Z2,...", type=parse_depths,
                    help="RMSE per depth interval (m)")
    ap.add_argument("--best", choices=("ssim", "rmse"), default="ssim",
                    help="how each regularizer's best weight is picked")
    ap.add_argument("--only", metavar="MODEL_NOISE_METHOD,...",
                    help="keep these cases only, e.g. faulted_10_rnn")
    ap.add_argument("--grid", action="store_true",
                    help="add each case's runs as a regularizer x weight matrix")
    ap.add_argument("--summary", action="store_true",
                    help="only the best weight per regularizer at every noise level, "
                         "per model and method")
    opts = ap.parse_args()
    if opts.summary and (opts.grid or opts.depths is not None or opts.pictures is not None):
        ap.error("--summary prints the summary only: leave out --grid, --depths and --pictures")
    by, depths, outdir = opts.best, opts.depths, opts.pictures
    score = (lambda r: float(r["ssim"])) if by == "ssim" else (lambda r: -float(r["rmse"]))
    try:
        with open(opts.table, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"regularization_table.py: {opts.table}: {e.strerror}")
    need = {"model", "noise", "method", "regularizer", "weight", "solver", "rmse",
            "relative_error", "ssim", "seconds"}
    if rows and not need <= set(rows[0]):
        sys.exit(f"regularization_table.py: {opts.table}: not a study table (columns "
                 + ", ".join(sorted(need - set(rows[0]))) + " missing)")
    if opts.only is not None:
        keep = set(opts.only.split(","))
        known = {case(r) for r in rows}
        unknown = sorted(keep - known)
        if unknown:
            sys.exit(f"regularization_table.py: --only: no case {unknown[0]} in {opts.table} "
                     f"(it has: {', '.join(sorted(known))})")
        rows = [r for r in rows if case(r) in keep]
    if not rows:
        sys.exit(f"regularization_table.py: {opts.table}: no runs yet")
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["noise"], r["method"])].append(r)
    if opts.summary:
        summary(groups, by, score)
        return
    for (model, noise, method), rs in sorted(groups.items()):
        noise_text = "clean data" if noise == "clean" else f"{noise} dB SNR"
        print(f"### {model}, {noise_text}, {method}\n")
        print("| regularizer | weight | solver | RMSE (m/s) | rel. error (%) | SSIM | time (s) |")
        print("|---|---|---|---|---|---|---|")
        for r in rs:
            print(f"| {r['regularizer']} | {r['weight']} | {r['solver']} | "
                  f"{float(r['rmse']):.1f} | {float(r['relative_error']):.2f} | "
                  f"{float(r['ssim']):.4f} | {r['seconds']} |")
        print()
        if opts.grid:
            grid(rs)
        base = unregularized(rs)
        best = best_of(rs, score)
        if best:
            print(f"Best weight per regularizer (by {by.upper()}):\n")
            print("| regularizer | solver | best weight | RMSE (m/s) | change vs none | "
                  "SSIM | change vs none |")
            print("|---|---|---|---|---|---|---|")
            for (reg, solver), r in sorted(best.items()):
                dr, ds = change(r, base) if base is not None else ("n/a", "n/a")
                print(f"| {reg} | {solver} | {r['weight']} | {float(r['rmse']):.1f} | {dr} | "
                      f"{float(r['ssim']):.4f} | {ds} |")
        print()
        folder = os.path.dirname(os.path.abspath(opts.table))
        runs = ([base] if base is not None else []) + [r for _, r in sorted(best.items())]
        if depths is not None and best:
            depth_rmse(folder, model, runs, depths)
        if outdir is not None and best:
            picture(folder, outdir, (model, noise, method), runs)


if __name__ == "__main__":
    main()
