#!/usr/bin/python3
"""Model error against cost for classical FWI and the theory-guided RNN.

  plot_compare.py FWI_HISTORY.nc RNN_HISTORY.nc --shots N -o out.png [--title T]

The cost is counted in wave propagations (one shot's forward or backward
modelling): an FWI evaluation of N shots costs 2 N (forward and adjoint;
its history counts evaluations), an RNN epoch's batches 2 N and each band
start N (its history counts propagations). Left: relative model error (%);
right: SSIM, both against propagations. Needs Debian's python3-matplotlib
and python3-xarray.
"""
import argparse
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fwi")
    ap.add_argument("rnn")
    ap.add_argument("--shots", type=int, required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    try:
        f = xr.open_dataset(a.fwi)
        r = xr.open_dataset(a.rnn)
    except Exception as e:  # noqa: BLE001
        sys.exit(f"plot_compare: {e}")
    for name, ds, need in (("FWI", f, "evaluations"), ("RNN", r, "propagations")):
        for v in (need, "relative_error", "ssim"):
            if v not in ds:
                sys.exit(f"plot_compare: the {name} history has no '{v}' "
                         "(run with [model] true to record errors)")
    fx = 2 * a.shots * f["evaluations"].values
    rx = r["propagations"].values
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for k, (v, lab) in enumerate((("relative_error", "relative model error (%)"),
                                  ("ssim", "SSIM"))):
        ax[k].plot(fx, f[v].values, "o-", ms=3, label="classical FWI (L-BFGS)")
        ax[k].plot(rx, r[v].values, "s-", ms=3, label="theory-guided RNN")
        ax[k].set_xlabel("wave propagations (shot forwards + backwards)")
        ax[k].set_ylabel(lab)
        ax[k].grid(alpha=0.3)
        ax[k].legend()
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
