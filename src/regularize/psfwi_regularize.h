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
  /* The sparsity and low-rank norms (docs/regularize.md), of r = m - norm_ref
   * (norm_ref NULL: of m itself): */
  double l1;               /* lam of int |r| dA */
  double group;            /* lam of the group l1,2 norm of r */
  int group_kind;          /* PSFWI_REG_GROUP_COLUMNS (default) or _ROWS */
  double nuclear;          /* lam of the nuclear norm of r (sqrt(dA) sum s_j) */
  double ksupport;         /* lam of (dA / 2) ||s(r)||_(k)^2 */
  size_t ksupport_k;       /* k, 1..min(nx, nz), when ksupport > 0 */
  const float *norm_ref;   /* nx * nz or NULL */
  int tv_kind;             /* tv: PSFWI_REG_TV_ISOTROPIC (default) or _ANISOTROPIC */
  double norm_eps;         /* smoothing of l1, group and nuclear, as the RMS residual
                                (m/s) below which they are quadratic (converted to each
                                norm's units, docs/regularize.md); 0: the exact norms,
                                with subgradients */
  int proximal;            /* != 0: l1, group, nuclear, ksupport and tv are left to
                                psfwi_reg_prox: eval gives their exact values and adds no
                                gradient for them */
  struct psfwi_reg_ws *ws; /* workspace of this shape; required for nuclear, ksupport, or
                                tv when proximal */
} psfwi_reg;

/* The value of each term (already weighted) and their sums: total of all,
 * smooth of those whose gradient eval adds (all but the proximal ones). */
typedef struct psfwi_reg_terms {
  double tikhonov, tv, prior, total;
  double l1, group, nuclear, ksupport, smooth;
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

/* ==== Sparsity, low-rank and Jacobian norms of the model, their proximal
 * operators, and a FISTA loop (norms.c, prox.c, fista.c; docs/regularize.md).
 *
 * Model m float32 (or double for the proxes), m[iz * nx + ix], seen as the
 * nz x nx matrix M (rows = depths). r = m - m0 is the model's difference to
 * an optional prior m0 (NULL: m0 = 0). Every value approximates an integral
 * over the model area, so it is unchanged when the same model is sampled
 * more finely (dA = dx dz):
 *   L1        R = dA sum_i phi(r_i)
 *   group     columns: R = dx sum_ix phi(N_ix), N_ix = sqrt(dz sum_iz r[iz,ix]^2)
 *             rows:    R = dz sum_iz phi(N_iz), N_iz = sqrt(dx sum_ix r[iz,ix]^2)
 *             (columns = vertical traces: the l1,2 norm selects whole traces
 *             that differ from the prior)
 *   TV aniso  R = dA sum_cells phi(Dx m) + phi(Dz m)   (D as above; the l1
 *             norm of the Jacobian, beside the isotropic psfwi_reg_tv)
 *   nuclear   R = sum_j phi(sqrt(dA) s_j), s_j the singular values of R as
 *             an nz x nx matrix (sqrt(dA) s_j are those of the integral
 *             operator with kernel r(z, x), hence grid-invariant)
 *   k-support R = (dA / 2) ||s||_(k)^2, the squared spectral k-support norm
 *             (Argyriou, Foygel & Srebro 2012; McDonald, Pontil & Stamos
 *             2016): ||s||_(k)^2 = min { sum_j s_j^2 / th_j : 0 <= th_j <= 1,
 *             sum th_j = k }; k = 1 gives ||s||_1^2 = ||M||_*^2, k = min(nx,
 *             nz) the squared Frobenius norm. Value only (the prox below).
 * and each penalty returns lam R. phi is the smoothing of |.|:
 *   phi(a) = sqrt(a^2 + eps^2) - eps  (eps > 0: smooth, for L-BFGS; the value
 *            lies within eps of |a| per term) or |a| (eps = 0: the exact norm;
 *            the gradient is then a subgradient, 0 at a kink),
 * eps in the units of the argument: m/s for L1, (m/s) sqrt(m) for a group,
 * 1/s for TV, (m/s) m for the nuclear norm.
 * The gradient (lam dR/dm, exact for eps > 0) is ADDED into grad_accum
 * (nx * nz doubles, may be NULL) except at masked cells (mask as above).
 *
 * Proximal operators, in place on u (nx * nz doubles):
 *   u <- argmin_z t R(z) + ||z - u||^2 / 2     (t = step x lam >= 0)
 * with R the unsmoothed (eps = 0) norm above, prior included (the prox is
 * then m0 + prox(u - m0)). They ignore masks (a caller freezing cells
 * resets them afterwards). In terms of the plain discrete operators:
 *   L1        soft threshold at t dA
 *   group     u_g max(1 - tau / ||u_g||_2, 0), tau = t dx sqrt(dz) (columns),
 *             t dz sqrt(dx) (rows)
 *   nuclear   singular-value soft threshold at t sqrt(dA) (LAPACKE dgesdd)
 *   k-support the vector prox of (lam'/2) ||.||_(k)^2, lam' = t dA, on the
 *             singular values: th_j = clip(a s_j - lam', 0, 1) with a such that
 *             sum th_j = k, s_j <- th_j s_j / (th_j + lam')
 *   TV        the dual (Chambolle / Beck-Teboulle FGP) method on
 *             min_z t sum_cells |(dz dXz, dx dZz)| + ||z - u||^2 / 2 (dX, dZ
 *             unit forward differences; l2 norm per cell for isotropic, l1
 *             for anisotropic), stopped on a certified duality gap.
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (NULL array or workspace, bad kind,
 * k out of 1..min(nx, nz)), PSFWI_ERANGE (grid, weight, t or eps < 0 or not
 * finite; workspace of another shape), PSFWI_ENONFINITE (NaN/Inf in m, m0 or
 * u; nothing is changed then), PSFWI_EINTERNAL (dgesdd did not converge),
 * PSFWI_ENOMEM (workspace creation). */

/* Scratch for one model shape: the SVD (A, s, U, V^T and LAPACK's own work
 * arrays, sized by a workspace query at creation) and the TV dual method's
 * fields (7 nx nz doubles). Create once per shape; no operator allocates.
 * Not thread-safe: one workspace per thread. NULL on failure (err filled). */
typedef struct psfwi_reg_ws psfwi_reg_ws;
psfwi_reg_ws *psfwi_reg_ws_create(size_t nx, size_t nz, psfwi_error *err);
void psfwi_reg_ws_destroy(psfwi_reg_ws *ws); /* accepts NULL */

enum psfwi_reg_group_kind { PSFWI_REG_GROUP_COLUMNS = 0, PSFWI_REG_GROUP_ROWS = 1 };
enum psfwi_reg_tv_kind { PSFWI_REG_TV_ISOTROPIC = 0, PSFWI_REG_TV_ANISOTROPIC = 1 };

/* ---- Values and gradients (definitions above) */
int psfwi_reg_l1_model(size_t nx, size_t nz, double dx, double dz, double lam, double eps,
                       const float *m, const float *m0, const unsigned char *mask, double *value,
                       double *grad_accum, psfwi_error *err);
int psfwi_reg_group(size_t nx, size_t nz, double dx, double dz, int kind, double lam, double eps,
                    const float *m, const float *m0, const unsigned char *mask, double *value,
                    double *grad_accum, psfwi_error *err);
int psfwi_reg_tv_aniso(size_t nx, size_t nz, double dx, double dz, double lam, double eps,
                       const float *m, const unsigned char *mask, double *value, double *grad_accum,
                       psfwi_error *err);
/* One SVD (dgesdd; singular vectors only when grad_accum != NULL). The
 * gradient is lam U diag(s' / sqrt(s'^2 + eps^2)) V^T sqrt(dA), s' =
 * sqrt(dA) s (eps = 0: lam sqrt(dA) U V^T over the nonzero s). */
int psfwi_reg_nuclear(psfwi_reg_ws *ws, double dx, double dz, double lam, double eps,
                      const float *m, const float *m0, const unsigned char *mask, double *value,
                      double *grad_accum, psfwi_error *err);
/* Value (dA lam / 2) ||s||_(k)^2 and, when grad_accum != NULL, its gradient
 * lam dA U diag(g) V^T, g the gradient of the vector function (below); at a
 * kink (a singular value 0 outside the saturated set) g takes 0 there, a
 * subgradient. */
int psfwi_reg_ksupport(psfwi_reg_ws *ws, double dx, double dz, double lam, size_t k, const float *m,
                       const float *m0, const unsigned char *mask, double *value,
                       double *grad_accum, psfwi_error *err);

/* ---- Proximal operators (definitions above); m0 may be NULL. */
int psfwi_reg_l1_model_prox(size_t nx, size_t nz, double dx, double dz, double t, const float *m0,
                            double *u, psfwi_error *err);
int psfwi_reg_group_prox(size_t nx, size_t nz, double dx, double dz, int kind, double t,
                         const float *m0, double *u, psfwi_error *err);
int psfwi_reg_nuclear_prox(psfwi_reg_ws *ws, double dx, double dz, double t, const float *m0,
                           double *u, psfwi_error *err);
int psfwi_reg_ksupport_prox(psfwi_reg_ws *ws, double dx, double dz, size_t k, double t,
                            const float *m0, double *u, psfwi_error *err);

/* TV prox options: stop after max_iter dual iterations (default 500) or
 * when the duality gap certifies sqrt(2 gap / (nx nz)) <= tol, i.e. the RMS
 * distance of the result to the exact prox is at most tol (model units;
 * default 1e-3). The certificate is loose: it falls as the square root of
 * the error (about sqrt(t |K (x - x*)|_1 / n)), so the result is usually
 * much closer than tol, and tol far below 1e-4 of the model's scale costs
 * many iterations. warm != 0 starts from the dual field the workspace kept
 * from its last TV prox (projected onto the new constraint set): a FISTA
 * loop converges in a few dual iterations per step then. */
typedef struct psfwi_reg_tv_prox_opts {
  size_t max_iter;
  double tol;
  int warm;
} psfwi_reg_tv_prox_opts;
typedef struct psfwi_reg_tv_prox_info {
  size_t iter;      /* dual iterations done */
  double gap;       /* final duality gap (>= 0; units of t R) */
  double rms_bound; /* sqrt(2 gap / (nx nz)) >= RMS distance to the exact prox */
  int converged;    /* rms_bound <= tol */
} psfwi_reg_tv_prox_info;
void psfwi_reg_tv_prox_opts_init(psfwi_reg_tv_prox_opts *o);
/* opt and info may be NULL (defaults; no report). Not converging within
 * max_iter is not an error (info.converged = 0). */
int psfwi_reg_tv_prox(psfwi_reg_ws *ws, int kind, double dx, double dz, double t,
                      const psfwi_reg_tv_prox_opts *opt, double *u, psfwi_reg_tv_prox_info *info,
                      psfwi_error *err);

/* ---- Plain vector building blocks (no grid, no area factor). */
/* ||w||_(k), the k-support norm of w (n values, 1 <= k <= n); O(n). */
double psfwi_reg_ksupport_norm(size_t n, size_t k, const double *w);
/* The same, and (g != NULL) g = the gradient of ||w||_(k)^2 / 2: w_i where
 * th_i = 1, sign(w_i) (sum of the other |w|) / (k - n_saturated) elsewhere
 * (0 where w_i = 0: a subgradient). */
double psfwi_reg_ksupport_grad_vec(size_t n, size_t k, const double *w, double *g);
/* w <- argmin_x (lam / 2) ||x||_(k)^2 + ||x - w||^2 / 2 (lam >= 0), O(n). */
void psfwi_reg_ksupport_prox_vec(size_t n, size_t k, double lam, double *w);
/* Group soft threshold of the whole vector: w <- w max(1 - t / ||w||_2, 0). */
void psfwi_reg_group_prox_vec(size_t n, double t, double *w);

/* ==== What an inversion needs beyond values and gradients (composite.c).
 *
 * psfwi_reg_prox: u <- argmin_z t P(z) + ||z - u||^2 / 2 over lo <= z <= hi
 * (per cell; lo, hi NULL: unbounded; lo = hi freezes a cell), P the sum of
 * the terms r->proximal leaves to it (l1, group, nuclear, ksupport, tv with
 * their weights). One term whose prox lies in the box is exact in one call;
 * otherwise a splitting iterates (M functions: the terms and the box; the
 * parallel Dykstra-like splitting of Combettes & Pesquet 2011, Algorithm
 * 10.31, i.e. a proximal-gradient method on the dual, by default with
 * FISTA's momentum and adaptive restart on that dual) until
 * the RMS change of x, and the RMS distance of each term's prox output to
 * the point the step was taken at, are at most tol (model units, RMS over
 * the cells as the TV prox's tol) or max_iter, and the
 * result is clipped to the box (the bounds hold exactly). The TV prox inside
 * uses the tv options (warm started from the workspace's dual field).
 * Allocates (2 M + 4) nx nz doubles per call. */
typedef struct psfwi_reg_prox_opts {
  size_t max_iter; /* default 100 */
  double tol;      /* default 0.1 */
  int accelerate;  /* default 1: FISTA momentum on the splitting's dual (0: plain) */
  psfwi_reg_tv_prox_opts
      tv; /* default: tol 0.1, max_iter 100; warm (within one call: each call starts cold) */
} psfwi_reg_prox_opts;
typedef struct psfwi_reg_prox_info {
  size_t nterms, iter; /* proximal terms; splitting iterations (0: one exact prox) */
  double change;       /* last RMS change or prox output's distance */
  int converged;
} psfwi_reg_prox_info;
void psfwi_reg_prox_opts_init(psfwi_reg_prox_opts *o);
size_t psfwi_reg_prox_count(const psfwi_reg *r); /* proximal terms (0 unless r->proximal) */
int psfwi_reg_prox(const psfwi_reg *r, double t, const double *lo, const double *hi,
                   const psfwi_reg_prox_opts *opt, double *u, psfwi_reg_prox_info *info,
                   psfwi_error *err);

/* Automatic scale of the weights (auto_scale). With g the gradient of the
 * data term (normalised misfit) at the start and delta = -step g / ||g||_inf
 * the steepest-descent update whose largest change is step (m/s), every
 * active term's weight is multiplied by D / R(delta): D = step ||g||^2 /
 * ||g||_inf, the first-order decrease of the data term along delta, R the
 * term with unit weight and no smoothing applied to delta alone. A weight of
 * 1 then means: over the first update the term changes as much as the data
 * term, whatever the model's size, spacing or velocities. Terms whose R is 0
 * keep their weight. factors[PSFWI_REG_NSCALE] receives the factors (1 for
 * inactive terms); psfwi_reg_apply_scale multiplies the weights by given
 * factors (a resumed run). Masked cells are left out of delta. */
enum {
  PSFWI_REG_SCALE_TIKHONOV,
  PSFWI_REG_SCALE_TV,
  PSFWI_REG_SCALE_L2,
  PSFWI_REG_SCALE_L1,
  PSFWI_REG_SCALE_GROUP,
  PSFWI_REG_SCALE_NUCLEAR,
  PSFWI_REG_SCALE_KSUPPORT,
  PSFWI_REG_NSCALE
};
int psfwi_reg_auto_scale(psfwi_reg *r, const double *g, double step, double *factors,
                         psfwi_error *err);
void psfwi_reg_apply_scale(psfwi_reg *r, const double *factors);
/* The weights psfwi_reg_apply_scale scales, copied from src to dst (the
 * unscaled weights back before a new scale: auto_scale at each band). */
void psfwi_reg_copy_weights(psfwi_reg *dst, const psfwi_reg *src);
/* "auto_scale: weights x tikhonov ..., ksupport ..." for a progress note. */
void psfwi_reg_scale_text(const double *factors, char *buf, size_t n);

/* ==== FISTA: min_x f(x) + g(x), f smooth (the caller evaluates f and its
 * gradient), g with a cheap prox (a callback). Beck & Teboulle (2009) with
 * backtracking: at y_k (gradient gy), trial z = prox_{a g}(y - a gy),
 * accepted when
 *     f(z) <= f(y) + <gy, z - y> + ||z - y||^2 / (2 a),
 * otherwise a <- shrink a and retry; then t_{k+1} = (1 + sqrt(1 + 4 t_k^2))
 * / 2 and y_{k+1} = x_{k+1} + (t_k - 1) / t_{k+1} (x_{k+1} - x_k).
 * Adaptive restart (O'Donoghue & Candes 2015, gradient scheme, option
 * restart): when <y_k - x_{k+1}, x_{k+1} - x_k> > 0 the momentum is reset
 * (t = 1, y = x_{k+1}). Reverse communication as psfwi_optim:
 *
 *     psfwi_reg_fista_set(o, x0, err);
 *     for (;;) {
 *       int task;
 *       if (psfwi_reg_fista_iterate(o, &task, err)) break;       // error
 *       if (task == PSFWI_FISTA_EVAL_FG) {        // f and gradient at x
 *         f = objective(psfwi_reg_fista_x(o), g);
 *         if (psfwi_reg_fista_tell(o, f, g, err)) break;
 *       } else if (task == PSFWI_FISTA_EVAL_F) {  // f only (g may be NULL)
 *         if (psfwi_reg_fista_tell(o, objective(psfwi_reg_fista_x(o), NULL), NULL, err)) break;
 *       } else if (task == PSFWI_FISTA_NEW_X) {   // log, checkpoint
 *       } else break;                             // CONVERGED, STOPPED, FAILED
 *     }
 *
 * The loop applies prox(ctx, n, t, x, err) (x in place; t = step a) and
 * never needs g's value: the caller adds it for reports. Trial points need
 * f only; the gradient is requested at each y (after a restart y is the
 * last trial point, evaluated again with its gradient). */
#define PSFWI_FISTA_TASK_LIST(X)                                            \
  X(PSFWI_FISTA_EVAL_FG, 1, "evaluate f and its gradient at fista_x")       \
  X(PSFWI_FISTA_EVAL_F, 2, "evaluate f (gradient not needed) at fista_x")   \
  X(PSFWI_FISTA_NEW_X, 3, "iteration done: a new iterate was accepted")     \
  X(PSFWI_FISTA_CONVERGED, 4, "converged")                                  \
  X(PSFWI_FISTA_STOPPED, 5, "stopped at the iteration or evaluation limit") \
  X(PSFWI_FISTA_FAILED, 6, "failed")
enum psfwi_fista_task {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_FISTA_TASK_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};
#define PSFWI_FISTA_REASON_LIST(X)                                                   \
  X(PSFWI_FISTA_RUNNING, 0, "running")                                               \
  X(PSFWI_FISTA_GTOL, 1, "gradient mapping below tolerance")                         \
  X(PSFWI_FISTA_XTOL, 2, "change of x below tolerance")                              \
  X(PSFWI_FISTA_MAXITER, 3, "iteration limit reached")                               \
  X(PSFWI_FISTA_MAXEVAL, 4, "evaluation limit reached")                              \
  X(PSFWI_FISTA_BACKTRACK, 5, "backtracking found no step with sufficient decrease") \
  X(PSFWI_FISTA_NONFINITE, 6, "the caller supplied a non-finite f or gradient")      \
  X(PSFWI_FISTA_PROX, 7, "the proximal operator failed")
enum psfwi_fista_reason {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_FISTA_REASON_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};
const char *psfwi_fista_task_text(int task);
const char *psfwi_fista_reason_text(int reason);

typedef int (*psfwi_reg_prox_fn)(void *ctx, size_t n, double t, double *x, psfwi_error *err);

/* Options (psfwi_reg_fista_options_init, then change what you need).
 * Tests on each accepted iterate; 0 switches a test off:
 *   gtol: ||(y_k - x_{k+1}) / a||_inf <= gtol (the gradient mapping, f units
 *         per x unit; 0 at a minimiser)
 *   xtol: ||x_{k+1} - x_k||_inf <= xtol (x units) */
typedef struct psfwi_reg_fista_options {
  double step0;         /* first step a (> 0; x^2 / f units; default 1), or 0: */
  double first_change;  /* then a = first_change / ||grad f(x0)||_inf (x units) */
  double shrink;        /* backtracking factor in (0, 1) (default 0.5) */
  double grow;          /* >= 1: each iteration first tries grow a (default 1:
                          the standard non-increasing step) */
  int restart;          /* adaptive restart on (default 1) */
  size_t max_backtrack; /* trials per iteration (default 60) */
  size_t max_iter;      /* 0 = no limit (default 0) */
  size_t max_eval;      /* evaluations told, 0 = no limit (default 0) */
  double gtol, xtol;    /* default 0, 0 */
} psfwi_reg_fista_options;
void psfwi_reg_fista_options_init(psfwi_reg_fista_options *opt);

typedef struct psfwi_reg_fista_info {
  int task, reason;
  size_t iter;        /* accepted iterations */
  size_t nfev, ngev;  /* evaluations of f, of which with gradient */
  size_t n_backtrack; /* step reductions in all */
  size_t n_restart;   /* momentum resets */
  double f;           /* f at the current iterate (smooth part only) */
  double step;        /* current step a */
  double gmap;        /* last ||(y - x+) / a||_inf */
  double x_change;    /* last ||x+ - x||_inf */
} psfwi_reg_fista_info;

typedef struct psfwi_reg_fista psfwi_reg_fista;
/* n >= 1; allocates 5 n doubles. prox must not be NULL. */
psfwi_reg_fista *psfwi_reg_fista_create(size_t n, const psfwi_reg_fista_options *opt,
                                        psfwi_reg_prox_fn prox, void *ctx, psfwi_error *err);
void psfwi_reg_fista_destroy(psfwi_reg_fista *o);
/* Start from x0 (finite; used as given, not proxed). Next task: EVAL_FG. */
int psfwi_reg_fista_set(psfwi_reg_fista *o, const double *x0, psfwi_error *err);
int psfwi_reg_fista_iterate(psfwi_reg_fista *o, int *task, psfwi_error *err);
const double *psfwi_reg_fista_x(const psfwi_reg_fista *o); /* point to evaluate */
/* f and (for EVAL_FG) the gradient at psfwi_reg_fista_x. Non-finite values
 * return PSFWI_ENONFINITE and end the run (FAILED, reason NONFINITE). */
int psfwi_reg_fista_tell(psfwi_reg_fista *o, double f, const double *g, psfwi_error *err);
/* Current accepted iterate (valid after the first NEW_X) and f there. */
void psfwi_reg_fista_current(const psfwi_reg_fista *o, const double **x, double *f);
void psfwi_reg_fista_get_info(const psfwi_reg_fista *o, psfwi_reg_fista_info *info);
/* Complete state as a flat native-endian buffer (magic, version, n, sum);
 * restore needs the same n (PSFWI_EINVAL) and a sound buffer (PSFWI_EFORMAT;
 * the object is unchanged then). The prox callback is the object's own. */
size_t psfwi_reg_fista_state_size(const psfwi_reg_fista *o);
int psfwi_reg_fista_state_save(const psfwi_reg_fista *o, void *buf, size_t size, psfwi_error *err);
int psfwi_reg_fista_state_restore(psfwi_reg_fista *o, const void *buf, size_t size,
                                  psfwi_error *err);

#endif
