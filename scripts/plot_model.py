#!/usr/bin/python3
"""Draw psfwi velocity models (or model-history files) to PNG.

  plot_model.py MODEL.nc [MODEL.nc ...] -o out.png [--true TRUE.nc [--error]]
                [--iteration N] [--vmin V --vmax V] [--psfwi PATH]

Each model is drawn side by side with the 'seismic' colour map, axes in km
and a colour bar in m/s. A history file (vp(iteration, z, x)) is drawn at its
last iteration (or --iteration N), with its objective curve beside it when it
has one. With --true, the true model is drawn first and every other panel's
title carries its compare metrics (RMSE, relative error, SSIM), computed by
`psfwi compare` so the numbers are the same as in psfwi's tables. With
--error, every panel after the true model shows its error, model - true, in
m/s on one symmetric colour scale for all panels (+-V with --elim V, else
the 99th percentile of |error| over all of them): the differences between
results that look alike as velocity maps.

Needs Debian's python3-matplotlib and python3-xarray (scripts/install_deps.sh).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from psfwi_command import find_psfwi  # noqa: E402

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def fail(msg):
    print(f"plot_model.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path, iteration):
    """Return (vp as DataArray (z, x), objective array or None, label)."""
    try:
        ds = xr.open_dataset(path)
    except Exception as e:  # noqa: BLE001 - report any reader failure plainly
        fail(f"cannot open '{path}' as NetCDF: {e}")
    if "vp" not in ds:
        fail(f"'{path}' has no variable 'vp'; expected a psfwi model or history file")
    vp = ds["vp"]
    label = os.path.basename(path)
    objective = None
    if "iteration" in vp.dims:
        n = vp.sizes["iteration"]
        it = n - 1 if iteration is None else iteration
        if not 0 <= it < n:
            fail(f"'{path}' has iterations 0..{n - 1}; --iteration {it} is out of range")
        vp = vp.isel(iteration=it)
        label += f" (iteration {it})"
        if "objective" in ds:
            objective = ds["objective"].values
    if tuple(vp.dims) != ("z", "x"):
        fail(f"'{path}': vp has dimensions {vp.dims}; expected (z, x)")
    return vp.load(), objective, label


def metrics(psfwi, true_path, paths):
    """Metrics per path from `psfwi compare --format json` (history files are
    compared at the drawn iteration through a temporary model file)."""
    out = subprocess.run([psfwi, "compare", true_path, *paths, "--format", "json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"psfwi compare failed: {out.stderr.strip()}")
    return {m["model"]: m for m in json.loads(out.stdout)["models"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--true", help="true model: drawn first, metrics in the other titles")
    ap.add_argument("--iteration", type=int, help="iteration of history files (default: last)")
    ap.add_argument("--vmin", type=float)
    ap.add_argument("--vmax", type=float)
    ap.add_argument("--psfwi", help="path of the psfwi command (for --true metrics)")
    ap.add_argument("--dpi", type=int, default=120)
    ap.add_argument("--std", help="a 'psfwi dnn predict' output of several networks: its "
                    "vp_std (the ensemble's per-cell standard deviation) as a last panel")
    ap.add_argument("--cols", type=int, default=0, help="panels per row (default: one row)")
    ap.add_argument("--error", action="store_true",
                    help="with --true: draw each model's error (model - true) instead of the model")
    ap.add_argument("--elim", type=float, help="--error's colour range +-ELIM m/s")
    a = ap.parse_args()
    if a.error and not a.true:
        fail("--error needs --true (the model the errors are taken against)")
    if a.elim is not None and not a.elim > 0:
        fail(f"--elim {a.elim}: expected a positive range in m/s")

    paths = ([a.true] if a.true else []) + a.models
    panels = [load(p, a.iteration) for p in paths]
    values = np.concatenate([v.values.ravel() for v, _, _ in panels])
    vmin = a.vmin if a.vmin is not None else float(np.nanmin(values))
    vmax = a.vmax if a.vmax is not None else float(np.nanmax(values))

    titles = [label for _, _, label in panels]
    if a.true:
        psfwi = find_psfwi(a.psfwi)
        if psfwi is None:
            fail("--true needs the psfwi command: pass --psfwi PATH or put it on PATH")
        with tempfile.TemporaryDirectory() as tmp:
            cmp_paths = []
            for k, (vp, _, _) in enumerate(panels[1:]):
                p = paths[k + 1]
                if a.iteration is not None or "iteration" in xr.open_dataset(p)["vp"].dims:
                    q = os.path.join(tmp, f"panel{k}.nc")
                    vp.to_dataset(name="vp").to_netcdf(q)
                    p = q
                cmp_paths.append(p)
            met = metrics(psfwi, a.true, cmp_paths)
            for k, p in enumerate(cmp_paths):
                m = met[p]
                titles[k + 1] += f"\nRMSE {m['rmse']:.1f} m/s, rel. {m['rel_l2']:.2f} %, SSIM {m['ssim']:.3f}"
        titles[0] += " (true)"

    std = None
    if a.std:
        ds = xr.open_dataset(a.std)
        if "vp_std" not in ds:
            fail(f"'{a.std}' has no variable 'vp_std'; expected 'psfwi dnn predict' of several networks")
        std = ds["vp_std"].load()
    elim = None
    if a.error:
        truth = panels[0][0]
        for k, (vp, obj, label) in enumerate(panels[1:]):
            if vp.shape != truth.shape:
                fail(f"{paths[k + 1]}: grid {vp.shape} differs from the true model's {truth.shape}")
            panels[k + 1] = (vp - truth.values, obj, label)
        errs = np.concatenate([v.values.ravel() for v, _, _ in panels[1:]])
        elim = a.elim if a.elim is not None else float(np.nanpercentile(np.abs(errs), 99))
        elim = max(elim, 1e-6)
    ncurves = sum(1 for _, obj, _ in panels if obj is not None)
    n = len(panels) + ncurves + (std is not None)
    aspect = max(float(panels[0][0].x[-1] - panels[0][0].x[0]), 1.0) / max(float(panels[0][0].z[-1] - panels[0][0].z[0]), 1.0)
    w = min(6.0, 2.5 * max(aspect, 0.6))
    cols = a.cols if a.cols > 0 else n
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols + 1.0, (w / max(aspect, 0.6) + 1.2) * rows),
                             squeeze=False)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    k = 0
    for i, ((vp, obj, _), title) in enumerate(zip(panels, titles)):
        ax = axes[k]
        k += 1
        x, z = vp.x.values / 1000.0, vp.z.values / 1000.0
        dx = (x[1] - x[0]) if len(x) > 1 else 0.001
        dz = (z[1] - z[0]) if len(z) > 1 else 0.001
        is_err = elim is not None and i > 0
        im = ax.imshow(vp.values, cmap="RdBu_r" if is_err else "seismic",
                       vmin=-elim if is_err else vmin, vmax=elim if is_err else vmax,
                       aspect="equal",
                       extent=[x[0] - dx / 2, x[-1] + dx / 2, z[-1] + dz / 2, z[0] - dz / 2])
        ax.set_xlabel("x (km)")
        ax.set_ylabel("depth (km)")
        ax.set_title(title + (" (error)" if is_err else ""), fontsize=9)
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label("vp - true (m/s)" if is_err else "vp (m/s)")
        if obj is not None:
            axc = axes[k]
            k += 1
            axc.semilogy(np.arange(len(obj)), obj, "o-")
            axc.set_xlabel("iteration")
            axc.set_ylabel("objective")
            axc.grid(True, which="both", alpha=0.3)
    if std is not None:
        ax = axes[k]
        x, z = std.x.values / 1000.0, std.z.values / 1000.0
        dx = (x[1] - x[0]) if len(x) > 1 else 0.001
        dz = (z[1] - z[0]) if len(z) > 1 else 0.001
        im = ax.imshow(std.values, cmap="viridis", aspect="equal",
                       extent=[x[0] - dx / 2, x[-1] + dx / 2, z[-1] + dz / 2, z[0] - dz / 2])
        ax.set_xlabel("x (km)")
        ax.set_ylabel("depth (km)")
        ax.set_title(f"{os.path.basename(a.std)}: vp_std (ensemble)", fontsize=9)
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label("std (m/s)")
    fig.tight_layout()
    tmp = a.output + f".tmp.{os.getpid()}.png"
    fig.savefig(tmp, dpi=a.dpi)
    os.replace(tmp, a.output)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
