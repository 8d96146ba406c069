#!/usr/bin/env python3
"""The regularization study, part (b): the table of
scripts/dnn_regularization_study.sh as Markdown, Spearman's rank
correlation of geometric complexity with each error, and a scatter plot.

    scripts/dnn_regularization_table.py runs/dnn_regularization/table.csv \
        [-o docs/img/dnn_regularization_gc.png]

Spearman's rho is Pearson's correlation of the ranks (ties get their mean
rank); the p-value is the two-sided one of the permutation test (all
permutations up to 8 networks, else 100,000 random ones, seed 1), so no
SciPy is needed.
"""
import argparse
import csv
import itertools
import math

import numpy as np


def ranks(a):
    a = np.asarray(a, float)
    order = np.argsort(a, kind="mergesort")
    r = np.empty(len(a))
    r[order] = np.arange(1, len(a) + 1)
    for v in np.unique(a):  # mean rank of ties
        m = a == v
        r[m] = r[m].mean()
    return r


def pearson(x, y):
    x = x - x.mean()
    y = y - y.mean()
    d = math.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / d) if d > 0 else float("nan")


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    rho = pearson(rx, ry)
    n = len(rx)
    if n < 3 or not math.isfinite(rho):
        return rho, float("nan")
    if n <= 8:
        perms = (np.array(p) for p in itertools.permutations(ry))
        total = math.factorial(n)
    else:
        rng = np.random.default_rng(1)
        total = 100000
        perms = (rng.permutation(ry) for _ in range(total))
    hits = sum(abs(pearson(rx, p)) >= abs(rho) - 1e-12 for p in perms)
    if n <= 8:
        return rho, hits / total  # exact: the identity is one of the permutations
    return rho, (hits + 1) / (total + 1)  # Monte Carlo: never 0 (Phipson and Smyth 2010)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table")
    ap.add_argument("-o", "--output", help="scatter plot (PNG)")
    a = ap.parse_args()
    with open(a.table, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{a.table}: no rows")
    noisy = [k for k in rows[0] if k.startswith("test_mae_") and k.endswith("db")]
    cols = ["regularizer", "scale", "weight", "epochs", "best_epoch", "gc", "test_mae"] + noisy + [
        "marmousi_rel", "marmousi_ssim", "seconds"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            try:
                x = float(v)
                if c in ("gc",):
                    v = f"{x:.4g}"
                elif c in ("test_mae", "marmousi_ssim") or c in noisy:
                    v = f"{x:.4f}"
                elif c == "marmousi_rel":
                    v = f"{x:.2f} %"
            except ValueError:
                pass
            cells.append(v)
        print("| " + " | ".join(cells) + " |")
    gc = np.array([float(r["gc"]) for r in rows])
    print()
    print(f"Spearman's rank correlation of geometric complexity with each error ({len(rows)} networks):")
    targets = ["test_mae"] + noisy + ["marmousi_rel"]
    for t in targets:
        rho, p = spearman(gc, np.array([float(r[t]) for r in rows]))
        print(f"- {t}: rho = {rho:+.3f} (permutation p = {p:.3g})")
    if a.output:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 3.8))
        regs = sorted({r["regularizer"] for r in rows})
        marks = dict(zip(regs, "os^vD<>xP*"))
        for ax, t in zip(np.atleast_1d(axes), targets):
            y = np.array([float(r[t]) for r in rows])
            for g in regs:
                m = np.array([r["regularizer"] == g for r in rows])
                ax.scatter(gc[m], y[m], marker=marks[g], label=g)
            rho, p = spearman(gc, y)
            ax.set_xscale("log")
            ax.set_xlabel("geometric complexity (best epoch)")
            ax.set_ylabel(t.replace("_", " "))
            ax.set_title(f"Spearman rho {rho:+.2f} (p {p:.2g})", fontsize=10)
        np.atleast_1d(axes)[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.output, dpi=110)
        print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
