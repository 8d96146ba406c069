/* psfwi regularize: penalties on a 2-D model and on generic parameter
 * vectors, each returning its value and ADDING its exact gradient (w.r.t. the
 * model or vector) into a caller array, so that an inversion sums a data
 * misfit and several weighted penalties into one gradient.
 *
 * Model penalties: model m float32, laid out m[iz * nx + ix] on a grid with
 * spacing dx, dz (m); computed in double. They approximate integrals over the
 * model area: each sum over cells is multiplied by the cell area dA = dx dz,
 * so the values do not change when the same model is sampled more finely.
 * The difference operators are forward differences between neighbouring
 * cells, with no difference across the model's edges (zero-flux edges):
 *   (Dx m)[iz, ix] = (m[iz, ix + 1] - m[iz, ix]) / dx   for ix < nx - 1, else 0
 *   (Dz m)[iz, ix] = (m[iz + 1, ix] - m[iz, ix]) / dz   for iz < nz - 1, else 0
 * Terms (weights >= 0):
 *   Tikhonov  (lam_x / 2) sum (Dx m)^2 dA + (lam_z / 2) sum (Dz m)^2 dA
 *             (gradient -lam laplacian(m) dA, zero-flux edges)
 *   TV        lam sum (sqrt((Dx m)^2 + (Dz m)^2 + eps^2) - eps) dA
 *             (isotropic, smoothed; eps in the units of |grad m|, e.g.
 *             (m/s)/m = 1/s for a velocity; subtracting eps makes a constant
 *             model cost 0 and a step of height J along a line of length L
 *             cost lam J L as eps -> 0)
 *   prior     (lam / 2) sum w (m - m0)^2 dA   (w = 1 without a weight array)
 * Mask: the optional mask (nx * nz bytes, mask[iz * nx + ix], as produced by
 * psfwi_model_water_mask) marks frozen cells: where mask[i] != 0 no gradient
 * is added (the value still counts every cell). The gradient returned is so
 * the exact gradient of the penalty w.r.t. the free cells.
 *
 * Vector norms (network weights, or any parameter vector; no area factor):
 *   L2  (lam / 2) sum u^2      gradient lam u
 *   L1  lam sum |u|            subgradient lam sign(u) (0 at u = 0), and its
 *                              proximal step (soft threshold)
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (NULL array, missing prior model),
 * PSFWI_ERANGE (grid size or spacing, weight < 0, tv_eps <= 0, not finite),
 * PSFWI_ENONFINITE (NaN/Inf in the model, prior or weight; nothing is added
 * to the gradient then). */
#ifndef PSFWI_REGULARIZE_H
#define PSFWI_REGULARIZE_H

#include <stddef.h>

#include "psfwi_core.h"

/* A weighted sum of model penalties, e.g. filled from config keys. Plain
 * data; the pointers are borrowed (the caller keeps the arrays alive). */
typedef struct psfwi_reg {
  size_t nx, nz;
  double dx, dz;             /* m */
  double tikhonov;           /* isotropic Tikhonov weight */
  double tikhonov_x;         /* added to tikhonov for the x term: lam_x = tikhonov + tikhonov_x */
  double tikhonov_z;         /* added to tikhonov for the z term: lam_z = tikhonov + tikhonov_z */
  double tv;                 /* total-variation weight */
  double tv_eps;             /* TV smoothing, > 0 when tv > 0 (units of |grad m|) */
  double prior;              /* weight of the L2 distance to prior_model */
  const float *prior_model;  /* nx * nz; required when prior > 0 */
  const float *prior_weight; /* nx * nz, >= 0, or NULL for 1 */
  const unsigned char *mask; /* nx * nz, != 0 = frozen cell, or NULL */
} psfwi_reg;

/* The value of each term (already weighted) and their sum. */
typedef struct psfwi_reg_terms {
  double tikhonov, tv, prior, total;
} psfwi_reg_terms;

/* Grid from g, every weight 0, no prior, no mask. */
void psfwi_reg_init(psfwi_reg *r, const psfwi_grid *g);
/* Check grid, weights, tv_eps and pointers (not the arrays' values). */
int psfwi_reg_check(const psfwi_reg *r, psfwi_error *err);
/* *value = the weighted sum of the active terms (weight > 0) at m; adds
 * its gradient into grad_accum (nx * nz doubles; may be NULL for the value
 * only). Terms with weight 0 cost nothing. */
int psfwi_reg_eval(const psfwi_reg *r, const float *m, double *value, double *grad_accum,
                   psfwi_error *err);
/* The same with each term reported (for progress lines). */
int psfwi_reg_eval_terms(const psfwi_reg *r, const float *m, psfwi_reg_terms *terms,
                         double *grad_accum, psfwi_error *err);

/* ---- The model penalties one by one (definitions above). mask and
 * grad_accum may be NULL; *value receives the term's value. */
int psfwi_reg_tikhonov(size_t nx, size_t nz, double dx, double dz, double lam_x, double lam_z,
                       const float *m, const unsigned char *mask, double *value, double *grad_accum,
                       psfwi_error *err);
int psfwi_reg_tv(size_t nx, size_t nz, double dx, double dz, double lam, double eps, const float *m,
                 const unsigned char *mask, double *value, double *grad_accum, psfwi_error *err);
/* w may be NULL (w = 1); values of w must be finite and >= 0. */
int psfwi_reg_prior(size_t nx, size_t nz, double dx, double dz, double lam, const float *m,
                    const float *m0, const float *w, const unsigned char *mask, double *value,
                    double *grad_accum, psfwi_error *err);

/* ---- Norms of a parameter vector u of n values. They cannot fail: they
 * return the value and add the (sub)gradient into grad_accum (may be NULL).
 * The float versions accumulate in double and add in float. */
double psfwi_reg_l2(size_t n, double lam, const double *u, double *grad_accum);
double psfwi_reg_l1(size_t n, double lam, const double *u, double *grad_accum);
double psfwi_reg_l2f(size_t n, double lam, const float *u, float *grad_accum);
double psfwi_reg_l1f(size_t n, double lam, const float *u, float *grad_accum);
/* Proximal step of t ||u||_1 (t = step length x lam >= 0), in place:
 * u = sign(u) max(|u| - t, 0), the minimiser of t ||z||_1 + ||z - u||^2 / 2. */
void psfwi_reg_l1_prox(size_t n, double t, double *u);
void psfwi_reg_l1_proxf(size_t n, double t, float *u);

#endif
