#!/usr/bin/python3
"""Draw a psfwi shot gather (or wavefield snapshots) to PNG.

  plot_gather.py SHOTS.nc -o out.png [--shot I] [--clip PERCENTILE]
  plot_gather.py OBSERVED.nc --compare MODELLED.nc -o out.png [--shot I]
  plot_gather.py SNAPSHOTS.nc -o out.png        (pressure(time, z, x) frames)

Gathers: receiver position (km) across, time (s) down, grey scale clipped at
a percentile of |p|. --compare: the observed gather, the modelled one (e.g.
psfwi forward on an inversion's result) and their difference side by side
on one grey scale (the observed gather's), with the residual's relative L2
norm in its title; both files must hold the same acquisition. Snapshots: up to 6 frames side by side, axes in km.
Needs Debian's python3-matplotlib and python3-xarray.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--shot", type=int, default=0)
    ap.add_argument("--clip", type=float, default=99.0, help="percentile of |p| for the colour limits")
    ap.add_argument("--compare", help="a modelled gather of the same acquisition: observed, modelled, residual")
    a = ap.parse_args()
    try:
        ds = xr.open_dataset(a.file)
    except Exception as e:  # noqa: BLE001
        sys.exit(f"plot_gather.py: error: cannot open '{a.file}' as NetCDF: {e}")
    if "pressure" not in ds:
        sys.exit(f"plot_gather.py: error: '{a.file}' has no variable 'pressure'")
    p = ds["pressure"]
    if a.compare and p.dims != ("shot", "receiver", "time"):
        sys.exit("plot_gather.py: error: --compare needs shot gathers")
    if p.dims == ("shot", "receiver", "time") and a.compare:
        try:
            dm = xr.open_dataset(a.compare)
        except Exception as e:  # noqa: BLE001
            sys.exit(f"plot_gather.py: error: cannot open '{a.compare}' as NetCDF: {e}")
        if "pressure" not in dm or dm["pressure"].shape != p.shape or not np.allclose(
                dm["receiver_x"].values, ds["receiver_x"].values, atol=1e-3):
            sys.exit(f"plot_gather.py: error: '{a.compare}' does not hold the acquisition of '{a.file}' "
                     f"(pressure {tuple(p.shape)})")
        if not 0 <= a.shot < p.sizes["shot"]:
            sys.exit(f"plot_gather.py: error: --shot {a.shot}: the file has shots 0..{p.sizes['shot'] - 1}")
        d = p.isel(shot=a.shot).values
        m = dm["pressure"].isel(shot=a.shot).values
        r = d - m
        rx = ds["receiver_x"].isel(shot=a.shot).values / 1000.0
        t = ds["time"].values
        c = np.percentile(np.abs(d), a.clip) or 1.0
        rel = float(np.linalg.norm(r) / (np.linalg.norm(d) or 1.0))
        fig, axes = plt.subplots(1, 3, figsize=(15, 6), sharey=True)
        titles = [f"observed: {os.path.basename(a.file)}", f"modelled: {os.path.basename(a.compare)}",
                  f"observed - modelled (relative L2 {rel:.3f})"]
        for ax, img, title in zip(axes, (d, m, r), titles):
            ax.imshow(img.T, cmap="gray", vmin=-c, vmax=c, aspect="auto", extent=[rx[0], rx[-1], t[-1], t[0]])
            ax.set_title(f"{title}\nshot {a.shot}", fontsize=9)
            ax.set_xlabel("receiver x (km)")
        axes[0].set_ylabel("time (s)")
    elif p.dims == ("shot", "receiver", "time"):
        if not 0 <= a.shot < p.sizes["shot"]:
            sys.exit(f"plot_gather.py: error: --shot {a.shot}: the file has shots 0..{p.sizes['shot'] - 1}")
        d = p.isel(shot=a.shot).values
        rx = ds["receiver_x"].isel(shot=a.shot).values / 1000.0
        t = ds["time"].values
        c = np.percentile(np.abs(d), a.clip) or 1.0
        fig, ax = plt.subplots(figsize=(7, 6))
        ax.imshow(d.T, cmap="gray", vmin=-c, vmax=c, aspect="auto",
                  extent=[rx[0], rx[-1], t[-1], t[0]])
        sx = float(ds["source_x"].values[a.shot]) / 1000.0
        ax.set_title(f"{os.path.basename(a.file)}: shot {a.shot} (source at x = {sx:.3f} km)", fontsize=9)
        ax.set_xlabel("receiver x (km)")
        ax.set_ylabel("time (s)")
    elif p.dims == ("time", "z", "x"):
        n = p.sizes["time"]
        idx = np.unique(np.linspace(0, n - 1, min(n, 6)).astype(int))
        fig, axes = plt.subplots(1, len(idx), figsize=(3.2 * len(idx), 3), squeeze=False)
        x, z = ds["x"].values / 1000.0, ds["z"].values / 1000.0
        for ax, k in zip(axes[0], idx):
            f = p.isel(time=k).values
            c = np.percentile(np.abs(f), a.clip) or 1.0
            ax.imshow(f, cmap="seismic", vmin=-c, vmax=c, extent=[x[0], x[-1], z[-1], z[0]])
            ax.set_title(f"t = {float(ds['time'].values[k]):.3f} s", fontsize=9)
            ax.set_xlabel("x (km)")
        axes[0][0].set_ylabel("depth (km)")
    else:
        sys.exit(f"plot_gather.py: error: pressure has dimensions {p.dims}; expected (shot, receiver, time) or (time, z, x)")
    fig.tight_layout()
    tmp = a.output + f".tmp.{os.getpid()}.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, a.output)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
