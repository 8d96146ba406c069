#!/usr/bin/python3
"""Draw the convergence of a psfwi inversion history to PNG.

  plot_history.py HISTORY.nc [HISTORY.nc ...] -o out.png [--label NAME ...]

Left: the objective per iteration (log scale; the data misfit normalised to
1 at the start of each frequency band, plus regularization), band changes
marked. Right (when the history has a true model's
errors): relative error (%) and SSIM per iteration. Several histories are
drawn on the same axes (e.g. serial and MPI runs, or two methods).
Needs Debian's python3-matplotlib and python3-xarray.
"""
import argparse
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("histories", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--dpi", type=int, default=120)
    a = ap.parse_args()
    dss = []
    for path in a.histories:
        try:
            ds = xr.open_dataset(path)
        except Exception as e:  # noqa: BLE001
            sys.exit(f"plot_history: cannot open '{path}': {e}")
        if "objective" not in ds or "iteration" not in ds.dims:
            sys.exit(f"plot_history: '{path}' is not a psfwi inversion history "
                     "(no objective(iteration))")
        dss.append(ds)
    labels = a.label + [p for p in a.histories[len(a.label):]]
    truth = all("relative_error" in ds for ds in dss)
    fig, axes = plt.subplots(1, 2 if truth else 1, figsize=(11 if truth else 6, 4), squeeze=False)
    ax = axes[0][0]
    for ds, lab in zip(dss, labels):
        it = ds["iteration"].values
        ax.semilogy(it, ds["objective"].values, label=f"{lab}")
        if "band" in ds:
            b = ds["band"].values
            for k in range(1, len(b)):
                if b[k] != b[k - 1]:
                    ax.axvline(it[k] - 0.5, color="0.8", lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective (misfit / misfit at band start + reg.)")
    ax.set_title("objective per band (grey lines: band changes)")
    ax.legend(fontsize=8)
    if truth:
        ax = axes[0][1]
        ax2 = ax.twinx()
        for ds, lab in zip(dss, labels):
            it = ds["iteration"].values
            ax.plot(it, ds["relative_error"].values, label=f"{lab}: relative error")
            ax2.plot(it, ds["ssim"].values, ls="--", label=f"{lab}: SSIM")
        ax.set_xlabel("iteration")
        ax.set_ylabel("relative L2 error (%)")
        ax2.set_ylabel("SSIM (dashed)")
        ax.set_title("model error against the true model")
        ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(a.output, dpi=a.dpi)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
