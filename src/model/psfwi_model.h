/* psfwi model: synthetic velocity-model families and operations on models
 * (crop, resample, smoothing, clipping, water-layer masks). Pure
 * computation on psfwi_model (core/); no file I/O.
 *
 * Synthetic families are reproducible: the same parameters, seed and grid
 * give the same model bit for bit (a private splitmix64 RNG, no libc rand();
 * across machines this also needs the same libm results for sin, cos, exp,
 * pow, atan2 in double). Velocities stay within [vmin, vmax] and mostly
 * increase with depth, as in sedimentary basins. docs/model.md describes the
 * families and the algorithms. */
#ifndef PSFWI_MODEL_H
#define PSFWI_MODEL_H

#include <stdint.h>

#include "psfwi_core.h"

typedef enum {
  PSFWI_FAMILY_LAYERED = 0, /* flat layers, thin and thick */
  PSFWI_FAMILY_FOLDED,      /* curved (folded) layers */
  PSFWI_FAMILY_FAULTED,     /* layers offset by several faults */
  PSFWI_FAMILY_SALT,        /* layered background with a fast salt-like body */
  PSFWI_FAMILY_ANOMALY,     /* smooth background with Gaussian anomalies / a disc */
  PSFWI_FAMILY_BLOCKY,      /* 2 to 8 thick flat layers of constant velocity */
  PSFWI_FAMILY_COUNT
} psfwi_family;

/* Name <-> family ("layered", "folded", "faulted", "salt", "anomaly",
 * "blocky"; numbered in that order, which shards store: never renumber).
 * psfwi_family_name gives "unknown" for a value out of range; parsing ignores
 * case and fails with PSFWI_EINVAL for any other name. */
const char *psfwi_family_name(psfwi_family f);
int psfwi_family_parse(const char *name, psfwi_family *f, psfwi_error *err);

typedef struct psfwi_synth_params {
  psfwi_family family;
  uint64_t seed;
  double vmin, vmax;  /* m/s, 0 < vmin < vmax */
  double water_depth; /* m of water (1500 m/s, clipped into bounds) on top; 0 = none */
} psfwi_synth_params;

/* Defaults: layered, seed 1, 1500..4500 m/s, no water. */
void psfwi_synth_defaults(psfwi_synth_params *p);
/* A new model of family p->family on grid g. Structures are drawn as
 * fractions of the physical extent ((nx - 1) dx by (nz - 1) dz, measured from
 * the grid's first point; the geology starts below the water), so the same
 * seed on a finer grid over the same extent gives the same geology sampled
 * more finely. Rows whose depth below the first row is < water_depth are
 * water; the rock below is then at least 5 % of (vmax - vmin) faster, so the
 * sea floor is an interface. Errors: PSFWI_EINVAL (NULL pointer, unknown family), PSFWI_ERANGE
 * (bad grid, not 0 < vmin < vmax, water_depth < 0 or not finite). */
psfwi_model *psfwi_synth_create(const psfwi_grid *g, const psfwi_synth_params *p, psfwi_error *err);

/* ---- Operations (each returns a new model or works in place as named) --- */
/* Keep the grid points with x in [x0, x1], z in [z0, z1] (m, inclusive; bounds
 * snapped inwards to grid points with a 1e-6 cell tolerance). The new grid's
 * origin is its first kept point. PSFWI_ERANGE when a bound is not finite,
 * x0 > x1, the window reaches outside the model or holds no grid point. */
psfwi_model *psfwi_model_crop(const psfwi_model *m, double x0, double x1, double z0, double z1,
                              psfwi_error *err);
/* Resample to spacing dx, dz (m) over the same extent and origin: the new
 * grid has floor((n - 1) h / h_new) + 1 points per axis (a last partial
 * interval is dropped). Each coarsened axis is first low-passed with a
 * Gaussian of sigma = 0.5 x the new spacing (anti-aliasing, replicated
 * edges); interpolation is separable Keys cubic convolution clamped between
 * the two nearest samples, so values never leave the local range (no
 * ringing at interfaces). PSFWI_ERANGE for a spacing <= 0 or not finite, or a
 * result of more than 4e9 points. */
psfwi_model *psfwi_model_resample(const psfwi_model *m, double dx, double dz, psfwi_error *err);
/* Gaussian smoothing with standard deviation sigma (m) in both directions
 * (sigma / dx cells along x, sigma / dz along z; separable, truncated at
 * 4 sigma); in slowness (1/v) when slowness != 0. Edges: replicate boundary
 * values. sigma = 0 leaves the model as it is. mask (may be NULL; nx * nz
 * bytes, mask[iz * nx + ix]): cells where mask[i] != 0 keep their value and
 * are left out of their neighbours' averages (normalised convolution), so a
 * masked water layer neither changes nor leaks into the rock below. In place.
 * PSFWI_ERANGE for sigma < 0, not finite, or above 1e6 grid spacings; the
 * model must pass psfwi_model_check. */
int psfwi_model_smooth(psfwi_model *m, double sigma, int slowness, const unsigned char *mask,
                       psfwi_error *err);
/* Clip every value into [vmin, vmax] (finite, 0 < vmin < vmax). In place;
 * PSFWI_ENONFINITE (and nothing changed) if the model holds a NaN or Inf. */
int psfwi_model_clip(psfwi_model *m, double vmin, double vmax, psfwi_error *err);
/* Water-layer mask: mask[iz * nx + ix] = 1 for cells above and including the
 * last cell from the top of each column whose velocity is within tol of
 * v_water (contiguous from z = 0). Caller allocates nx * nz bytes. Returns
 * the number of masked cells through count (may be NULL). PSFWI_EINVAL for a
 * NULL mask, PSFWI_ERANGE for v_water <= 0 or tol < 0 (or not finite). */
int psfwi_model_water_mask(const psfwi_model *m, double v_water, double tol, unsigned char *mask,
                           size_t *count, psfwi_error *err);

#endif
