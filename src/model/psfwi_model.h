/* psfwi model: synthetic velocity-model families and operations on models
 * (crop, resample, smoothing, clipping, water-layer masks). Pure
 * computation on psfwi_model (core/); no file I/O.
 *
 * Synthetic families are reproducible: the same parameters and seed give the
 * same model bit for bit on every machine (a private counter-based RNG, no
 * libc rand()). Velocities stay within [vmin, vmax] and mostly increase with
 * depth, as in sedimentary basins. */
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
  PSFWI_FAMILY_COUNT
} psfwi_family;

/* Name <-> family ("layered", "folded", "faulted", "salt", "anomaly"). */
const char *psfwi_family_name(psfwi_family f);
int psfwi_family_parse(const char *name, psfwi_family *f, psfwi_error *err);

typedef struct psfwi_synth_params {
  psfwi_family family;
  uint64_t seed;
  double vmin, vmax;     /* m/s, 0 < vmin < vmax */
  double water_depth;    /* m of water (1500 m/s, clipped into bounds) on top; 0 = none */
} psfwi_synth_params;

/* Defaults: layered, seed 1, 1500..4500 m/s, no water. */
void psfwi_synth_defaults(psfwi_synth_params *p);
/* A new model of family p->family on grid g. */
psfwi_model *psfwi_synth_create(const psfwi_grid *g, const psfwi_synth_params *p,
                                psfwi_error *err);

/* ---- Operations (each returns a new model or works in place as named) --- */
/* Keep x in [x0, x1], z in [z0, z1] (m, inclusive, snapped to grid points). */
psfwi_model *psfwi_model_crop(const psfwi_model *m, double x0, double x1, double z0, double z1,
                              psfwi_error *err);
/* Resample to spacing dx, dz (m) over the same extent; when coarsening, the
 * model is first low-passed (Gaussian, sigma = 0.5 new spacing... see .c) so
 * that the result is not aliased; interpolation is bilinear. */
psfwi_model *psfwi_model_resample(const psfwi_model *m, double dx, double dz, psfwi_error *err);
/* Gaussian smoothing with standard deviation sigma (m) in both directions;
 * in slowness (1/v) when slowness != 0. Edges: replicate boundary values.
 * mask (may be NULL): cells where mask[i] != 0 keep their value. In place. */
int psfwi_model_smooth(psfwi_model *m, double sigma, int slowness, const unsigned char *mask,
                       psfwi_error *err);
/* Clip every value into [vmin, vmax]. In place. */
int psfwi_model_clip(psfwi_model *m, double vmin, double vmax, psfwi_error *err);
/* Water-layer mask: mask[iz * nx + ix] = 1 for cells above and including the
 * last cell from the top of each column whose velocity is within tol of
 * v_water (contiguous from z = 0). Caller allocates nx * nz bytes. Returns
 * the number of masked cells through count (may be NULL). */
int psfwi_model_water_mask(const psfwi_model *m, double v_water, double tol, unsigned char *mask,
                           size_t *count, psfwi_error *err);

#endif
