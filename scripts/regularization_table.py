#!/usr/bin/env python3
"""Markdown tables of the regularization study (scripts/regularization_study.sh).

Usage: scripts/regularization_table.py runs/regularization/table.csv

Prints, per (model, noise, method): every run (regularizer, weight, solver,
RMSE, relative error, SSIM, seconds), then the best weight of each
regularizer by SSIM with its gain over no regularization. Standard library
only.
"""
import csv
import sys
from collections import defaultdict


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no runs yet")
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["noise"], r["method"])].append(r)
    for (model, noise, method), rs in sorted(groups.items()):
        noise_text = "clean data" if noise == "clean" else f"{noise} dB SNR"
        print(f"### {model}, {noise_text}, {method}\n")
        print("| regularizer | weight | solver | RMSE (m/s) | rel. error (%) | SSIM | time (s) |")
        print("|---|---|---|---|---|---|---|")
        for r in rs:
            print(f"| {r['regularizer']} | {r['weight']} | {r['solver']} | "
                  f"{float(r['rmse']):.1f} | {float(r['relative_error']):.2f} | "
                  f"{float(r['ssim']):.4f} | {r['seconds']} |")
        base = [r for r in rs if r["regularizer"] == "none"]
        best = {}
        for r in rs:
            if r["regularizer"] == "none":
                continue
            key = (r["regularizer"], r["solver"])
            if key not in best or float(r["ssim"]) > float(best[key]["ssim"]):
                best[key] = r
        if best:
            print("\nBest weight per regularizer (by SSIM):\n")
            print("| regularizer | solver | best weight | SSIM | change vs none |")
            print("|---|---|---|---|---|")
            for (reg, solver), r in sorted(best.items()):
                d = (f"{float(r['ssim']) - float(base[0]['ssim']):+.4f}" if base else "n/a")
                print(f"| {reg} | {solver} | {r['weight']} | {float(r['ssim']):.4f} | {d} |")
        print()


if __name__ == "__main__":
    main()
