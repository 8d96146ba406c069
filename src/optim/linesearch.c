/* Line-search optimisers with box constraints: projected L-BFGS, nonlinear
 * CG (Polak-Ribiere+) and steepest descent, by reverse communication.
 *
 * One iteration from the accepted iterate x (gradient g, inside the box):
 *  1. epsilon-active set A: components within eps_i of a bound whose gradient
 *     pushes outwards, eps_i = min(eps_active (hi_i - lo_i), w) with
 *     w = ||x - P(x - gamma g)||_inf (Bertsekas' two-metric projection).
 *  2. direction d: on the free set the method's direction computed from the
 *     gradient with A zeroed (L-BFGS two-loop recursion, CG recurrence, or
 *     -g); on A the scaled gradient -gamma g; components at a bound pointing
 *     out of the box are zeroed. If d is not a descent direction the memory
 *     is cleared and d = -g.
 *  3. strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6)
 *     on phi(a) = f(P(x + a d)), a piecewise smooth path that is a straight
 *     line up to the first breakpoint:
 *        f(x(a)) <= f(x) + c1 g'(x(a) - x)       (sufficient decrease)
 *        |phi'(a+)| <= c2 |phi'(0)|              (curvature)
 *     with phi'(a+) = sum over components still moving at a of g_i(a) d_i.
 *     Past the last breakpoint phi is constant, so phi' = 0 there. If the
 *     line search runs out of evaluations the best point with sufficient
 *     decrease is taken (counted as a weak step); with none, one restart
 *     along -g; then failure.
 *  4. L-BFGS pair (s, y) stored when s'y > DBL_EPSILON y'y.
 * The whole state lives in the struct below (scalars in two plain structs,
 * vectors in one block), so save/restore is a copy. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"

enum { PH_NEW = 0, PH_START = 1, PH_READY = 2, PH_LS = 3, PH_DONE = 4 };
enum { LS_BRACKET = 0, LS_ZOOM = 1 };

/* Scalars of the state; doubles only (no padding), saved as they are. */
typedef struct reals {
  double f, f0, ft, fprev; /* current, start, told, previous iterate */
  double pg, pg0;          /* projected-gradient inf-norms */
  double gamma;            /* L-BFGS initial inverse-Hessian scale */
  double actw;             /* w of the epsilon-active set at x */
  double alpha, amax;      /* current trial step, last breakpoint */
  double dphi0;            /* phi'(0) of the current line search */
  double lo_a, lo_f, lo_dphi, hi_a, hi_f, hi_dphi;
  double step, acc_dphi0, acc_dphi, xchange; /* last accepted step */
  double beta;                               /* CG coefficient for the next direction */
} reals;

typedef struct counts {
  uint64_t phase, ls_phase, told, task, reason;
  uint64_t iter, nfev, ls_evals, n_active, n_reset, n_skip, n_weak;
  uint64_t mem_count, mem_head; /* pairs stored; slot written next */
  uint64_t dir_sd;              /* current d is plain -g */
  uint64_t forced;              /* current d came from a restart */
  uint64_t cg_since;            /* CG iterations since the last restart */
} counts;

struct psfwi_optim {
  size_t n, m; /* unknowns, L-BFGS memory (0 for the other methods) */
  psfwi_optim_options opt;
  reals r;
  counts c;
  double *block;
  double *lo, *hi, *x, *g, *xt, *gt, *glo, *d; /* n each */
  double *S, *Y;                               /* m * n each, pair j at j * n */
  double *rho, *alpha;                         /* m each (alpha: scratch) */
};

static const char magic[8] = {'P', 'S', 'F', 'W', 'I', 'O', 'P', 'T'};
enum { STATE_VERSION = 1 };

const char *psfwi_optim_task_text(int task) {
  switch (task) {
#define PSFWI_X_CASE(name, value, text) \
  case value: return text;
    PSFWI_OPTIM_TASK_LIST(PSFWI_X_CASE)
#undef PSFWI_X_CASE
    default: return "unknown task";
  }
}

const char *psfwi_optim_reason_text(int reason) {
  switch (reason) {
#define PSFWI_X_CASE(name, value, text) \
  case value: return text;
    PSFWI_OPTIM_REASON_LIST(PSFWI_X_CASE)
#undef PSFWI_X_CASE
    default: return "unknown reason";
  }
}

void psfwi_optim_options_init(psfwi_optim_options *opt, int method) {
  memset(opt, 0, sizeof *opt);
  opt->method = method;
  opt->memory = 10;
  opt->c1 = 1e-4;
  opt->c2 = method == PSFWI_OPTIM_CG ? 0.1 : 0.9;
  opt->max_ls = 20;
  opt->step0 = 0.0;
  opt->gtol_abs = 0.0;
  opt->gtol_rel = 1e-8;
  opt->ftol = 0.0;
  opt->xtol = 0.0;
  opt->max_iter = 0;
  opt->max_eval = 0;
  opt->eps_active = 1e-3;
  opt->cg_restart = 0;
}

static int check_options(const psfwi_optim_options *o, psfwi_error *err) {
  if (o->method != PSFWI_OPTIM_LBFGS && o->method != PSFWI_OPTIM_CG &&
      o->method != PSFWI_OPTIM_STEEPEST)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "optim: method = %d; expected 0 (L-BFGS), 1 (CG) or 2 (steepest descent)",
                      o->method);
  if (o->method == PSFWI_OPTIM_LBFGS && (o->memory < 1 || o->memory > 1000))
    return psfwi_fail(err, PSFWI_EINVAL, "optim: L-BFGS memory = %zu; expected 1 to 1000",
                      o->memory);
  if (!(o->c1 > 0.0 && o->c1 < o->c2 && o->c2 < 1.0))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "optim: Wolfe constants c1 = %g, c2 = %g; expected 0 < c1 < c2 < 1", o->c1,
                      o->c2);
  if (o->max_ls < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "optim: max_ls = 0; expected >= 1 evaluation");
  const struct {
    const char *name;
    double v;
  } nonneg[] = {{"step0", o->step0}, {"gtol_abs", o->gtol_abs}, {"gtol_rel", o->gtol_rel},
                {"ftol", o->ftol},   {"xtol", o->xtol},         {"eps_active", o->eps_active}};
  for (size_t k = 0; k < sizeof nonneg / sizeof nonneg[0]; k++)
    if (!(nonneg[k].v >= 0.0) || !isfinite(nonneg[k].v))
      return psfwi_fail(err, PSFWI_EINVAL, "optim: %s = %g; expected finite and >= 0",
                        nonneg[k].name, nonneg[k].v);
  return PSFWI_OK;
}

psfwi_optim *psfwi_optim_create(size_t n, const psfwi_optim_options *opt, psfwi_error *err) {
  if (opt == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "optim: options are NULL");
    return NULL;
  }
  if (n == 0) {
    psfwi_fail(err, PSFWI_EINVAL, "optim: n = 0 unknowns; expected >= 1");
    return NULL;
  }
  if (check_options(opt, err)) return NULL;
  const size_t m = opt->method == PSFWI_OPTIM_LBFGS ? opt->memory : 0;
  if (n > (SIZE_MAX / sizeof(double) - 2 * m) / (8 + 2 * m)) {
    psfwi_fail(err, PSFWI_ENOMEM, "optim: %zu unknowns with memory %zu do not fit in memory", n, m);
    return NULL;
  }
  psfwi_optim *o = calloc(1, sizeof *o);
  const size_t total = (8 + 2 * m) * n + 2 * m;
  double *b = o ? malloc(total * sizeof *b) : NULL;
  if (b == NULL) {
    free(o);
    psfwi_fail(err, PSFWI_ENOMEM, "optim: cannot allocate %zu doubles for %zu unknowns", total, n);
    return NULL;
  }
  o->n = n;
  o->m = m;
  o->opt = *opt;
  o->block = b;
  double **vec[] = {&o->lo, &o->hi, &o->x, &o->g, &o->xt, &o->gt, &o->glo, &o->d};
  for (size_t k = 0; k < 8; k++) *vec[k] = b + k * n;
  o->S = b + 8 * n;
  o->Y = o->S + m * n;
  o->rho = o->Y + m * n;
  o->alpha = o->rho + m;
  for (size_t i = 0; i < total; i++) b[i] = 0.0;
  for (size_t i = 0; i < n; i++) {
    o->lo[i] = -INFINITY;
    o->hi[i] = INFINITY;
  }
  o->c.phase = PH_NEW;
  o->r.f = o->r.f0 = NAN;
  return o;
}

void psfwi_optim_destroy(psfwi_optim *o) {
  if (o == NULL) return;
  free(o->block);
  free(o);
}

size_t psfwi_optim_size(const psfwi_optim *o) { return o->n; }

/* Shared by psfwi_optim_set_bounds and psfwi_optim_sgd_set_bounds. */
int psfwi_optim_fill_bounds_(size_t n, const double *lo, const double *hi, double lo_all,
                             double hi_all, double *dlo, double *dhi, const char *who,
                             psfwi_error *err);
int psfwi_optim_fill_bounds_(size_t n, const double *lo, const double *hi, double lo_all,
                             double hi_all, double *dlo, double *dhi, const char *who,
                             psfwi_error *err) {
  for (size_t i = 0; i < n; i++) {
    const double l = lo ? lo[i] : lo_all, h = hi ? hi[i] : hi_all;
    if (isnan(l) || isnan(h) || l > h || l == INFINITY || h == -INFINITY)
      return psfwi_fail(err, PSFWI_ERANGE,
                        "%s: bounds of component %zu are lo = %g, hi = %g; expected "
                        "lo <= hi, not NaN, lo < +inf, hi > -inf",
                        who, i, l, h);
  }
  for (size_t i = 0; i < n; i++) {
    dlo[i] = lo ? lo[i] : lo_all;
    dhi[i] = hi ? hi[i] : hi_all;
  }
  return PSFWI_OK;
}

int psfwi_optim_set_bounds(psfwi_optim *o, const double *lo, const double *hi, double lo_all,
                           double hi_all, psfwi_error *err) {
  if (o->c.phase != PH_NEW)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "optim: bounds must be set before psfwi_optim_set (the run has started)");
  return psfwi_optim_fill_bounds_(o->n, lo, hi, lo_all, hi_all, o->lo, o->hi, "optim", err);
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* ||P(x - g) - x||_inf */
static double pg_norm(const psfwi_optim *o, const double *x, const double *g) {
  double s = 0.0;
  for (size_t i = 0; i < o->n; i++) {
    const double p = fabs(clampd(x[i] - g[i], o->lo[i], o->hi[i]) - x[i]);
    if (p > s) s = p;
  }
  return s;
}

static size_t count_active(const psfwi_optim *o, const double *x) {
  size_t k = 0;
  for (size_t i = 0; i < o->n; i++) k += (x[i] == o->lo[i] || x[i] == o->hi[i]);
  return k;
}

/* First trial step for direction v: step0 / ||v||_inf or 1 / ||v||_2. */
static double first_step(const psfwi_optim *o, const double *v) {
  double a = 0.0;
  if (o->opt.step0 > 0.0) {
    for (size_t i = 0; i < o->n; i++) a = fmax(a, fabs(v[i]));
    return a > 0.0 ? o->opt.step0 / a : 0.0;
  }
  for (size_t i = 0; i < o->n; i++) a += v[i] * v[i];
  return a > 0.0 ? 1.0 / sqrt(a) : 0.0;
}

/* w = ||x - P(x - gam g)||_inf, the width of the epsilon-active set. */
static double active_width(const psfwi_optim *o, const double *x, const double *g, double gam) {
  double w = 0.0;
  for (size_t i = 0; i < o->n; i++) {
    const double p = fabs(x[i] - clampd(x[i] - gam * g[i], o->lo[i], o->hi[i]));
    if (p > w) w = p;
  }
  return w;
}

static int is_active(const psfwi_optim *o, size_t i, const double *x, const double *g, double w) {
  const double lo = o->lo[i], hi = o->hi[i];
  double e = o->opt.eps_active * (hi - lo);
  if (!(e < w)) e = w;
  return (g[i] > 0.0 && x[i] <= lo + e) || (g[i] < 0.0 && x[i] >= hi - e);
}

/* Step at which component i reaches its bound along d (inf if never). */
static double breakpoint(const psfwi_optim *o, size_t i) {
  const double di = o->d[i];
  if (di > 0.0) return (o->hi[i] - o->x[i]) / di;
  if (di < 0.0) return (o->lo[i] - o->x[i]) / di;
  return INFINITY;
}

/* xt = P(x + a d), consistent with breakpoint(). */
static void trial_point(psfwi_optim *o, double a) {
  for (size_t i = 0; i < o->n; i++) {
    const double di = o->d[i];
    if (di == 0.0) {
      o->xt[i] = o->x[i];
    } else if (a >= breakpoint(o, i)) {
      o->xt[i] = di > 0.0 ? o->hi[i] : o->lo[i];
    } else {
      o->xt[i] = clampd(o->x[i] + a * di, o->lo[i], o->hi[i]);
    }
  }
}

static void swap_ptr(double **a, double **b) {
  double *t = *a;
  *a = *b;
  *b = t;
}

static void finish(psfwi_optim *o, int task, int reason) {
  o->c.phase = PH_DONE;
  o->c.task = (uint64_t)task;
  o->c.reason = (uint64_t)reason;
}

static void clear_memory(psfwi_optim *o) {
  o->c.mem_count = 0;
  o->c.mem_head = 0;
  o->r.gamma = 1.0;
  o->r.beta = 0.0;
  o->c.cg_since = 0;
}

/* Search direction d at (x, g); returns phi'(0) = g'd. */
static double direction(psfwi_optim *o, int force_sd) {
  const size_t n = o->n;
  const double *x = o->x, *g = o->g, w = o->r.actw;
  double *d = o->d;
  if (force_sd || o->opt.method == PSFWI_OPTIM_STEEPEST ||
      (o->opt.method == PSFWI_OPTIM_LBFGS && o->c.mem_count == 0) ||
      (o->opt.method == PSFWI_OPTIM_CG && o->r.beta == 0.0)) {
    for (size_t i = 0; i < n; i++) d[i] = -g[i];
    o->c.dir_sd = 1;
  } else if (o->opt.method == PSFWI_OPTIM_LBFGS) {
    const size_t m = o->m, k = (size_t)o->c.mem_count, head = (size_t)o->c.mem_head;
    for (size_t i = 0; i < n; i++) d[i] = is_active(o, i, x, g, w) ? 0.0 : g[i];
    for (size_t t = 0; t < k; t++) { /* newest to oldest */
      const size_t j = (head + m - 1 - t) % m;
      const double *s = o->S + j * n, *y = o->Y + j * n;
      double a = 0.0;
      for (size_t i = 0; i < n; i++) a += s[i] * d[i];
      a *= o->rho[j];
      o->alpha[j] = a;
      for (size_t i = 0; i < n; i++) d[i] -= a * y[i];
    }
    for (size_t i = 0; i < n; i++) d[i] *= o->r.gamma;
    for (size_t t = 0; t < k; t++) { /* oldest to newest */
      const size_t j = (head + m - k + t) % m;
      const double *s = o->S + j * n, *y = o->Y + j * n;
      double b = 0.0;
      for (size_t i = 0; i < n; i++) b += y[i] * d[i];
      b = o->alpha[j] - o->rho[j] * b;
      for (size_t i = 0; i < n; i++) d[i] += b * s[i];
    }
    for (size_t i = 0; i < n; i++) d[i] = is_active(o, i, x, g, w) ? -o->r.gamma * g[i] : -d[i];
    o->c.dir_sd = 0;
  } else { /* CG with beta > 0 */
    for (size_t i = 0; i < n; i++)
      d[i] = is_active(o, i, x, g, w) ? -g[i] : -g[i] + o->r.beta * d[i];
    o->c.dir_sd = 0;
  }
  double dphi0 = 0.0;
  for (size_t i = 0; i < n; i++) {
    if ((x[i] <= o->lo[i] && d[i] < 0.0) || (x[i] >= o->hi[i] && d[i] > 0.0)) d[i] = 0.0;
    dphi0 += g[i] * d[i];
  }
  return dphi0;
}

/* Ask for an evaluation at P(x + a d). */
static void request(psfwi_optim *o, double a, int *task) {
  if (o->opt.max_eval > 0 && o->c.nfev >= o->opt.max_eval) {
    finish(o, PSFWI_OPTIM_STOPPED, PSFWI_OPTIM_MAXEVAL);
    *task = PSFWI_OPTIM_STOPPED;
    return;
  }
  o->r.alpha = a;
  trial_point(o, a);
  o->c.told = 0;
  o->c.phase = PH_LS;
  o->c.task = PSFWI_OPTIM_EVAL;
  *task = PSFWI_OPTIM_EVAL;
}

/* Direction and first trial of a new line search. Returns 0, or -1 when no
 * descent direction exists even along -g (run finished). */
static int start_search(psfwi_optim *o, int force_sd, int *task) {
  double dphi0 = direction(o, force_sd);
  if (!(dphi0 < 0.0) && !o->c.dir_sd) {
    o->c.n_reset++;
    clear_memory(o);
    force_sd = 1;
    dphi0 = direction(o, 1);
  }
  if (!(dphi0 < 0.0)) {
    finish(o, PSFWI_OPTIM_FAILED, PSFWI_OPTIM_LINESEARCH);
    *task = PSFWI_OPTIM_FAILED;
    return -1;
  }
  o->c.forced = (uint64_t)force_sd;
  double amax = 0.0;
  for (size_t i = 0; i < o->n; i++)
    if (o->d[i] != 0.0) amax = fmax(amax, breakpoint(o, i));
  double a;
  if (o->opt.method == PSFWI_OPTIM_LBFGS && !o->c.dir_sd) {
    a = 1.0;
  } else if (o->opt.method != PSFWI_OPTIM_LBFGS && o->c.iter > 0 && !force_sd) {
    a = o->r.step * o->r.acc_dphi0 / dphi0; /* Nocedal & Wright (3.60) */
    if (!(a > 0.0) || !isfinite(a)) a = first_step(o, o->d);
  } else if (o->c.iter > 0 && o->r.xchange > 0.0) {
    /* a restart during the run: move x as far as the last accepted step */
    double dmax = 0.0;
    for (size_t i = 0; i < o->n; i++) dmax = fmax(dmax, fabs(o->d[i]));
    a = o->r.xchange / dmax;
  } else {
    a = first_step(o, o->d);
  }
  if (a > amax) a = amax;
  o->r.dphi0 = dphi0;
  o->r.amax = amax;
  o->r.lo_a = 0.0;
  o->r.lo_f = o->r.f;
  o->r.lo_dphi = dphi0;
  o->r.hi_a = o->r.hi_f = o->r.hi_dphi = 0.0;
  memcpy(o->glo, o->g, o->n * sizeof *o->glo);
  o->c.ls_phase = LS_BRACKET;
  o->c.ls_evals = 0;
  request(o, a, task);
  return 0;
}

/* Accept the trial (xt, ft, gt) at step a with path derivative dphi. */
static void accept(psfwi_optim *o, double a, double dphi, int *task) {
  const size_t n = o->n;
  double *x = o->x, *g = o->g, *xt = o->xt, *gt = o->gt;
  double xch = 0.0;
  for (size_t i = 0; i < n; i++) xch = fmax(xch, fabs(xt[i] - x[i]));
  if (o->opt.method == PSFWI_OPTIM_LBFGS) {
    double sy = 0.0, yy = 0.0;
    for (size_t i = 0; i < n; i++) {
      const double s = xt[i] - x[i], y = gt[i] - g[i];
      sy += s * y;
      yy += y * y;
    }
    if (sy > DBL_EPSILON * yy && yy > 0.0) {
      const size_t j = (size_t)o->c.mem_head;
      double *S = o->S + j * n, *Y = o->Y + j * n;
      for (size_t i = 0; i < n; i++) {
        S[i] = xt[i] - x[i];
        Y[i] = gt[i] - g[i];
      }
      o->rho[j] = 1.0 / sy;
      o->r.gamma = sy / yy;
      o->c.mem_head = (j + 1) % o->m;
      if (o->c.mem_count < o->m) o->c.mem_count++;
    } else {
      o->c.n_skip++;
    }
  }
  /* Width of the next active set: gamma = the scale of the next step. */
  double gam;
  if (o->opt.method == PSFWI_OPTIM_LBFGS)
    gam = o->c.mem_count > 0 ? o->r.gamma : first_step(o, gt);
  else
    gam = a;
  const double wnew = active_width(o, xt, gt, gam);
  if (o->opt.method == PSFWI_OPTIM_CG) { /* Polak-Ribiere+ on the free parts */
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
      const double r0 = is_active(o, i, x, g, o->r.actw) ? 0.0 : g[i];
      const double r1 = is_active(o, i, xt, gt, wnew) ? 0.0 : gt[i];
      num += r1 * (r1 - r0);
      den += r0 * r0;
    }
    double beta = den > 0.0 ? num / den : 0.0;
    if (!(beta > 0.0) || !isfinite(beta)) beta = 0.0;
    o->c.cg_since++;
    const size_t period = o->opt.cg_restart > 0 ? o->opt.cg_restart : n;
    if (o->c.cg_since >= period) beta = 0.0;
    if (beta == 0.0) o->c.cg_since = 0;
    o->r.beta = beta;
  }
  o->r.actw = wnew;
  o->r.fprev = o->r.f;
  o->r.f = o->r.ft;
  swap_ptr(&o->x, &o->xt);
  swap_ptr(&o->g, &o->gt);
  o->r.step = a;
  o->r.acc_dphi0 = o->r.dphi0;
  o->r.acc_dphi = dphi;
  o->r.xchange = xch;
  o->r.pg = pg_norm(o, o->x, o->g);
  o->c.n_active = count_active(o, o->x);
  o->c.iter++;
  o->c.phase = PH_READY;
  o->c.task = PSFWI_OPTIM_NEW_X;
  *task = PSFWI_OPTIM_NEW_X;
}

/* Safeguarded cubic interpolation between lo and hi (N&W 3.59). */
static double interpolate(const reals *r) {
  const double a0 = r->lo_a, a1 = r->hi_a, f0 = r->lo_f, f1 = r->hi_f;
  const double g0 = r->lo_dphi, g1 = r->hi_dphi;
  const double d1 = g0 + g1 - 3.0 * (f0 - f1) / (a0 - a1);
  const double disc = d1 * d1 - g0 * g1;
  double a = 0.5 * (a0 + a1);
  if (disc >= 0.0) {
    const double d2 = (a1 > a0 ? 1.0 : -1.0) * sqrt(disc);
    const double den = g1 - g0 + 2.0 * d2;
    const double c = a1 - (a1 - a0) * (g1 + d2 - d1) / den;
    if (isfinite(c)) a = c;
  }
  const double lo = fmin(a0, a1), hi = fmax(a0, a1), wid = hi - lo;
  return clampd(a, lo + 0.1 * wid, hi - 0.1 * wid);
}

/* The line search ran out: take the best point, restart along -g, or fail. */
static void exhausted(psfwi_optim *o, int *task) {
  reals *r = &o->r;
  if (r->lo_a > 0.0 && r->lo_f < r->f) {
    trial_point(o, r->lo_a);
    swap_ptr(&o->gt, &o->glo);
    r->ft = r->lo_f;
    o->c.n_weak++;
    accept(o, r->lo_a, r->lo_dphi, task);
    return;
  }
  if (!o->c.dir_sd) {
    o->c.n_reset++;
    clear_memory(o);
    start_search(o, 1, task);
    return;
  }
  finish(o, PSFWI_OPTIM_FAILED, PSFWI_OPTIM_LINESEARCH);
  *task = PSFWI_OPTIM_FAILED;
}

/* Process the told evaluation at the current trial step. */
static void line_search_step(psfwi_optim *o, int *task) {
  reals *r = &o->r;
  const size_t n = o->n;
  const double a = r->alpha, ft = r->ft;
  o->c.told = 0;
  o->c.ls_evals++;
  double gts = 0.0, dphi = 0.0;
  for (size_t i = 0; i < n; i++) {
    gts += o->g[i] * (o->xt[i] - o->x[i]);
    if (o->d[i] != 0.0 && a < breakpoint(o, i)) dphi += o->gt[i] * o->d[i];
  }
  const int suff = ft <= r->f + o->opt.c1 * gts;
  const int curv = fabs(dphi) <= -o->opt.c2 * r->dphi0;
  if (o->c.ls_phase == LS_BRACKET) {
    if (!suff || (o->c.ls_evals > 1 && ft >= r->lo_f)) {
      r->hi_a = a, r->hi_f = ft, r->hi_dphi = dphi;
      o->c.ls_phase = LS_ZOOM;
    } else if (curv) {
      accept(o, a, dphi, task);
      return;
    } else if (dphi >= 0.0) {
      r->hi_a = r->lo_a, r->hi_f = r->lo_f, r->hi_dphi = r->lo_dphi;
      r->lo_a = a, r->lo_f = ft, r->lo_dphi = dphi;
      swap_ptr(&o->gt, &o->glo);
      o->c.ls_phase = LS_ZOOM;
    } else {
      r->lo_a = a, r->lo_f = ft, r->lo_dphi = dphi;
      swap_ptr(&o->gt, &o->glo);
      const double next = fmin(4.0 * a, r->amax);
      if (o->c.ls_evals >= o->opt.max_ls || !(next > a) || !isfinite(next)) {
        exhausted(o, task);
      } else {
        request(o, next, task);
      }
      return;
    }
  } else {
    if (!suff || ft >= r->lo_f) {
      r->hi_a = a, r->hi_f = ft, r->hi_dphi = dphi;
    } else {
      if (curv) {
        accept(o, a, dphi, task);
        return;
      }
      if (dphi * (r->hi_a - r->lo_a) >= 0.0) {
        r->hi_a = r->lo_a, r->hi_f = r->lo_f, r->hi_dphi = r->lo_dphi;
      }
      r->lo_a = a, r->lo_f = ft, r->lo_dphi = dphi;
      swap_ptr(&o->gt, &o->glo);
    }
  }
  /* zoom: next trial inside (lo, hi) */
  const double next = interpolate(r);
  if (o->c.ls_evals >= o->opt.max_ls || !(next != r->lo_a && next != r->hi_a) ||
      fabs(r->hi_a - r->lo_a) <= 1e-15 * fmax(fabs(r->lo_a), fabs(r->hi_a))) {
    exhausted(o, task);
    return;
  }
  request(o, next, task);
}

int psfwi_optim_set(psfwi_optim *o, const double *x0, psfwi_error *err) {
  for (size_t i = 0; i < o->n; i++)
    if (!isfinite(x0[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "optim: starting point x0[%zu] = %g", i, x0[i]);
  for (size_t i = 0; i < o->n; i++) o->xt[i] = clampd(x0[i], o->lo[i], o->hi[i]);
  memset(&o->c, 0, sizeof o->c);
  memset(&o->r, 0, sizeof o->r);
  clear_memory(o);
  o->r.f = o->r.f0 = o->r.fprev = NAN;
  o->c.phase = PH_START;
  o->c.task = PSFWI_OPTIM_EVAL;
  o->c.reason = PSFWI_OPTIM_RUNNING;
  return PSFWI_OK;
}

int psfwi_optim_iterate(psfwi_optim *o, int *task, psfwi_error *err) {
  switch (o->c.phase) {
    case PH_NEW:
      return psfwi_fail(err, PSFWI_EINVAL, "optim: iterate called before psfwi_optim_set");
    case PH_DONE: *task = (int)o->c.task; return PSFWI_OK;
    case PH_START:
      if (!o->c.told) break;
      o->c.told = 0;
      swap_ptr(&o->x, &o->xt);
      swap_ptr(&o->g, &o->gt);
      o->r.f = o->r.f0 = o->r.ft;
      o->r.pg = o->r.pg0 = pg_norm(o, o->x, o->g);
      o->r.actw = active_width(o, o->x, o->g, first_step(o, o->g));
      o->c.n_active = count_active(o, o->x);
      o->c.phase = PH_READY;
      o->c.task = PSFWI_OPTIM_NEW_X;
      *task = PSFWI_OPTIM_NEW_X;
      return PSFWI_OK;
    case PH_LS:
      if (!o->c.told) break;
      line_search_step(o, task);
      return PSFWI_OK;
    case PH_READY: {
      const reals *r = &o->r;
      const psfwi_optim_options *p = &o->opt;
      if (r->pg == 0.0 || r->pg <= fmax(p->gtol_abs, p->gtol_rel * r->pg0)) {
        finish(o, PSFWI_OPTIM_CONVERGED, PSFWI_OPTIM_GTOL);
      } else if (o->c.iter > 0 && p->ftol > 0.0 &&
                 r->fprev - r->f <= p->ftol * fmax(fabs(r->fprev), fabs(r->f))) {
        finish(o, PSFWI_OPTIM_CONVERGED, PSFWI_OPTIM_FTOL);
      } else if (o->c.iter > 0 && p->xtol > 0.0 && r->xchange <= p->xtol) {
        finish(o, PSFWI_OPTIM_CONVERGED, PSFWI_OPTIM_XTOL);
      } else if (p->max_iter > 0 && o->c.iter >= p->max_iter) {
        finish(o, PSFWI_OPTIM_STOPPED, PSFWI_OPTIM_MAXITER);
      } else {
        start_search(o, 0, task);
        return PSFWI_OK;
      }
      *task = (int)o->c.task;
      return PSFWI_OK;
    }
    default:
      return psfwi_fail(err, PSFWI_EINTERNAL, "optim: bad internal phase %u", (unsigned)o->c.phase);
  }
  /* An evaluation is pending and not told yet: ask again. */
  o->c.task = PSFWI_OPTIM_EVAL;
  *task = PSFWI_OPTIM_EVAL;
  return PSFWI_OK;
}

const double *psfwi_optim_x(const psfwi_optim *o) { return o->xt; }

int psfwi_optim_tell(psfwi_optim *o, double f, const double *g, psfwi_error *err) {
  if ((o->c.phase != PH_START && o->c.phase != PH_LS) || o->c.told)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "optim: no evaluation is pending (call psfwi_optim_iterate and tell "
                      "only after task EVAL)");
  const size_t k = (size_t)o->c.nfev + 1;
  int bad = !isfinite(f);
  size_t ibad = 0;
  for (size_t i = 0; i < o->n && !bad; i++)
    if (!isfinite(g[i])) bad = 1, ibad = i;
  if (bad) {
    finish(o, PSFWI_OPTIM_FAILED, PSFWI_OPTIM_NONFINITE);
    if (!isfinite(f))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "optim: objective f = %g at evaluation %zu (iteration %zu); the run "
                        "is stopped at the last accepted iterate",
                        f, k, (size_t)o->c.iter);
    return psfwi_fail(err, PSFWI_ENONFINITE,
                      "optim: gradient g[%zu] = %g at evaluation %zu (iteration %zu); the run "
                      "is stopped at the last accepted iterate",
                      ibad, g[ibad], k, (size_t)o->c.iter);
  }
  memcpy(o->gt, g, o->n * sizeof *g);
  o->r.ft = f;
  o->c.told = 1;
  o->c.nfev++;
  return PSFWI_OK;
}

void psfwi_optim_current(const psfwi_optim *o, const double **x, const double **g, double *f) {
  if (x) *x = o->x;
  if (g) *g = o->g;
  if (f) *f = o->r.f;
}

void psfwi_optim_get_info(const psfwi_optim *o, psfwi_optim_info *info) {
  memset(info, 0, sizeof *info);
  info->task = (int)o->c.task;
  info->reason = (int)o->c.reason;
  info->iter = (size_t)o->c.iter;
  info->nfev = (size_t)o->c.nfev;
  info->ls_evals = (size_t)o->c.ls_evals;
  info->n_active = (size_t)o->c.n_active;
  info->n_reset = (size_t)o->c.n_reset;
  info->n_skip = (size_t)o->c.n_skip;
  info->n_weak = (size_t)o->c.n_weak;
  info->f = o->r.f;
  info->f0 = o->r.f0;
  info->pg_norm = o->r.pg;
  info->pg_norm0 = o->r.pg0;
  info->step = o->r.step;
  info->dphi0 = o->r.acc_dphi0;
  info->dphi = o->r.acc_dphi;
  info->x_change = o->r.xchange;
}

/* ---- State ---------------------------------------------------------------------
 * magic[8] | u64 version, method, n, memory, sizeof(reals), sizeof(counts) |
 * reals | counts | lo hi x g xt gt glo d (n doubles each) | S Y (m n) | rho (m)
 * | u64 FNV-1a checksum of everything before it. */
enum { HDR_WORDS = 6 };

size_t psfwi_optim_state_size(const psfwi_optim *o) {
  return sizeof magic + HDR_WORDS * sizeof(uint64_t) + sizeof(reals) + sizeof(counts) +
         (8 * o->n + 2 * o->m * o->n + o->m) * sizeof(double) + sizeof(uint64_t);
}

static void put(unsigned char **p, const void *src, size_t bytes) {
  memcpy(*p, src, bytes);
  *p += bytes;
}

static void get(const unsigned char **p, void *dst, size_t bytes) {
  memcpy(dst, *p, bytes);
  *p += bytes;
}

int psfwi_optim_state_save(const psfwi_optim *o, void *buf, size_t size, psfwi_error *err) {
  const size_t need = psfwi_optim_state_size(o);
  if (buf == NULL || size < need)
    return psfwi_fail(err, PSFWI_ERANGE, "optim: state buffer of %zu bytes; %zu needed", size,
                      need);
  unsigned char *p = buf;
  const uint64_t hdr[HDR_WORDS] = {STATE_VERSION, (uint64_t)o->opt.method, o->n,
                                   o->m,          sizeof(reals),           sizeof(counts)};
  put(&p, magic, sizeof magic);
  put(&p, hdr, sizeof hdr);
  put(&p, &o->r, sizeof o->r);
  put(&p, &o->c, sizeof o->c);
  const double *vec[] = {o->lo, o->hi, o->x, o->g, o->xt, o->gt, o->glo, o->d};
  for (size_t k = 0; k < 8; k++) put(&p, vec[k], o->n * sizeof(double));
  put(&p, o->S, o->m * o->n * sizeof(double));
  put(&p, o->Y, o->m * o->n * sizeof(double));
  put(&p, o->rho, o->m * sizeof(double));
  const uint64_t h = (uint64_t)psfwi_fnv1a(buf, (size_t)(p - (unsigned char *)buf));
  put(&p, &h, sizeof h);
  return PSFWI_OK;
}

int psfwi_optim_state_restore(psfwi_optim *o, const void *buf, size_t size, psfwi_error *err) {
  const unsigned char *p = buf;
  uint64_t hdr[HDR_WORDS];
  if (buf == NULL || size < sizeof magic + sizeof hdr || memcmp(p, magic, sizeof magic) != 0)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "optim: state buffer (%zu bytes) does not start with an optimiser "
                      "state header",
                      size);
  p += sizeof magic;
  get(&p, hdr, sizeof hdr);
  if (hdr[0] != STATE_VERSION || hdr[4] != sizeof(reals) || hdr[5] != sizeof(counts))
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "optim: state version %llu (layout %llu/%llu); this build reads "
                      "version %d (layout %zu/%zu)",
                      (unsigned long long)hdr[0], (unsigned long long)hdr[4],
                      (unsigned long long)hdr[5], STATE_VERSION, sizeof(reals), sizeof(counts));
  if (hdr[1] != (uint64_t)o->opt.method || hdr[2] != o->n || hdr[3] != o->m)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "optim: saved state has method %llu, n = %llu, memory %llu; this "
                      "optimiser has method %d, n = %zu, memory %zu",
                      (unsigned long long)hdr[1], (unsigned long long)hdr[2],
                      (unsigned long long)hdr[3], o->opt.method, o->n, o->m);
  const size_t need = psfwi_optim_state_size(o);
  if (size != need)
    return psfwi_fail(err, PSFWI_EFORMAT, "optim: state buffer of %zu bytes; expected %zu", size,
                      need);
  uint64_t h;
  memcpy(&h, (const unsigned char *)buf + need - sizeof h, sizeof h);
  if (h != (uint64_t)psfwi_fnv1a(buf, need - sizeof h))
    return psfwi_fail(err, PSFWI_EFORMAT, "optim: state buffer checksum mismatch (corrupt)");
  reals r;
  counts c;
  get(&p, &r, sizeof r);
  get(&p, &c, sizeof c);
  if (c.phase > PH_DONE || c.mem_count > o->m || (o->m > 0 && c.mem_head >= o->m))
    return psfwi_fail(err, PSFWI_EFORMAT, "optim: state buffer holds an impossible state");
  o->r = r;
  o->c = c;
  /* Vectors in their canonical order (pointer swaps do not matter). */
  o->lo = o->block, o->hi = o->block + o->n, o->x = o->block + 2 * o->n;
  o->g = o->block + 3 * o->n, o->xt = o->block + 4 * o->n, o->gt = o->block + 5 * o->n;
  o->glo = o->block + 6 * o->n, o->d = o->block + 7 * o->n;
  get(&p, o->block, 8 * o->n * sizeof(double));
  get(&p, o->S, o->m * o->n * sizeof(double));
  get(&p, o->Y, o->m * o->n * sizeof(double));
  get(&p, o->rho, o->m * sizeof(double));
  return PSFWI_OK;
}
