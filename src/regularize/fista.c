/* FISTA with backtracking and adaptive restart, in reverse communication;
 * the method and the call sequence are described in psfwi_regularize.h and
 * docs/regularize.md. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_regularize.h"

const char *psfwi_fista_task_text(int task) {
  switch (task) {
#define PSFWI_X_CASE(name, value, text) \
  case value: return text;
    PSFWI_FISTA_TASK_LIST(PSFWI_X_CASE)
#undef PSFWI_X_CASE
    default: return "unknown task";
  }
}

const char *psfwi_fista_reason_text(int reason) {
  switch (reason) {
#define PSFWI_X_CASE(name, value, text) \
  case value: return text;
    PSFWI_FISTA_REASON_LIST(PSFWI_X_CASE)
#undef PSFWI_X_CASE
    default: return "unknown reason";
  }
}

void psfwi_reg_fista_options_init(psfwi_reg_fista_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->step0 = 1.0;
  opt->first_change = 0.0;
  opt->shrink = 0.5;
  opt->grow = 1.0;
  opt->restart = 1;
  opt->max_backtrack = 60;
}

enum phase {
  PH_IDLE = 0, /* before psfwi_reg_fista_set */
  PH_NEED_Y,   /* request f and gradient at y */
  PH_TRIAL,    /* compute the trial point z and request f there */
  PH_EMIT,     /* report NEW_X */
  PH_CHECK,    /* stopping tests, then the next iteration */
  PH_TERMINAL  /* report info.task again */
};

/* Everything but the vectors: saved as it is. */
typedef struct fista_scalars {
  psfwi_reg_fista_info info;
  int phase;
  int pending; /* 0, or the EVAL task awaiting tell */
  int started; /* the start point was evaluated */
  size_t trials;
  double fy, tk;
} fista_scalars;

struct psfwi_reg_fista {
  size_t n;
  psfwi_reg_fista_options opt;
  psfwi_reg_prox_fn prox;
  void *ctx;
  fista_scalars s;
  double *v;                   /* 5 n: x, xp, y, gy, z */
  double *x, *xp, *y, *gy, *z; /* current, previous, extrapolated point, gradient there, trial */
};

static int check_options(const psfwi_reg_fista_options *o, psfwi_error *err) {
  static const char who[] = "FISTA options";
  if (!(o->step0 >= 0.0) || !isfinite(o->step0) || !(o->first_change >= 0.0) ||
      !isfinite(o->first_change) || (o->step0 == 0.0 && o->first_change == 0.0))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%s: step0 = %g, first_change = %g; expected step0 > 0, or step0 = 0 and "
                      "first_change > 0",
                      who, o->step0, o->first_change);
  if (!(o->shrink > 0.0 && o->shrink < 1.0))
    return psfwi_fail(err, PSFWI_EINVAL, "%s: shrink = %g; expected in (0, 1)", who, o->shrink);
  if (!(o->grow >= 1.0) || !isfinite(o->grow))
    return psfwi_fail(err, PSFWI_EINVAL, "%s: grow = %g; expected finite and >= 1", who, o->grow);
  if (o->max_backtrack < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: max_backtrack = 0; expected >= 1", who);
  if (!(o->gtol >= 0.0) || !(o->xtol >= 0.0) || !isfinite(o->gtol) || !isfinite(o->xtol))
    return psfwi_fail(err, PSFWI_EINVAL, "%s: gtol = %g, xtol = %g; expected finite and >= 0", who,
                      o->gtol, o->xtol);
  return PSFWI_OK;
}

psfwi_reg_fista *psfwi_reg_fista_create(size_t n, const psfwi_reg_fista_options *opt,
                                        psfwi_reg_prox_fn prox, void *ctx, psfwi_error *err) {
  psfwi_reg_fista_options o;
  psfwi_reg_fista_options_init(&o);
  if (opt) o = *opt;
  if (n < 1 || n > ((size_t)-1) / (5 * sizeof(double))) {
    psfwi_fail(err, PSFWI_ERANGE, "FISTA: n = %zu unknowns; expected >= 1", n);
    return NULL;
  }
  if (prox == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "FISTA: the proximal operator is NULL");
    return NULL;
  }
  if (check_options(&o, err)) return NULL;
  psfwi_reg_fista *f = calloc(1, sizeof *f);
  if (f) f->v = malloc(5 * n * sizeof(double));
  if (f == NULL || f->v == NULL) {
    if (f) free(f);
    psfwi_fail(err, PSFWI_ENOMEM, "FISTA: out of memory for n = %zu", n);
    return NULL;
  }
  f->n = n;
  f->opt = o;
  f->prox = prox;
  f->ctx = ctx;
  f->x = f->v;
  f->xp = f->x + n;
  f->y = f->xp + n;
  f->gy = f->y + n;
  f->z = f->gy + n;
  f->s.phase = PH_IDLE;
  return f;
}

void psfwi_reg_fista_destroy(psfwi_reg_fista *o) {
  if (o == NULL) return;
  free(o->v);
  free(o);
}

int psfwi_reg_fista_set(psfwi_reg_fista *o, const double *x0, psfwi_error *err) {
  if (x0 == NULL) return psfwi_fail(err, PSFWI_EINVAL, "FISTA: start point is NULL");
  for (size_t i = 0; i < o->n; i++)
    if (!isfinite(x0[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "FISTA: start point x0[%zu] = %g", i, x0[i]);
  memset(&o->s, 0, sizeof o->s);
  memcpy(o->y, x0, o->n * sizeof(double));
  memcpy(o->x, x0, o->n * sizeof(double));
  memcpy(o->xp, x0, o->n * sizeof(double));
  o->s.tk = 1.0;
  o->s.info.step = o->opt.step0;
  o->s.info.reason = PSFWI_FISTA_RUNNING;
  o->s.phase = PH_NEED_Y;
  return PSFWI_OK;
}

static int finish(psfwi_reg_fista *o, int task, int reason, int *out) {
  o->s.phase = PH_TERMINAL;
  o->s.info.task = task;
  o->s.info.reason = reason;
  *out = task;
  return PSFWI_OK;
}

static int request(psfwi_reg_fista *o, int task, int *out) {
  if (o->opt.max_eval > 0 && o->s.info.nfev >= o->opt.max_eval)
    return finish(o, PSFWI_FISTA_STOPPED, PSFWI_FISTA_MAXEVAL, out);
  o->s.pending = task;
  o->s.info.task = task;
  *out = task;
  return PSFWI_OK;
}

int psfwi_reg_fista_iterate(psfwi_reg_fista *o, int *task, psfwi_error *err) {
  fista_scalars *s = &o->s;
  if (s->phase == PH_IDLE)
    return psfwi_fail(err, PSFWI_EINVAL, "FISTA: iterate called before psfwi_reg_fista_set");
  if (s->phase == PH_TERMINAL) {
    *task = s->info.task;
    return PSFWI_OK;
  }
  if (s->pending) { /* not told yet: the same request */
    *task = s->pending;
    return PSFWI_OK;
  }
  for (;;) switch (s->phase) {
      case PH_NEED_Y: return request(o, PSFWI_FISTA_EVAL_FG, task);
      case PH_TRIAL: {
        const double a = s->info.step;
        for (size_t i = 0; i < o->n; i++) o->z[i] = o->y[i] - a * o->gy[i];
        const int st = o->prox(o->ctx, o->n, a, o->z, err);
        if (st) {
          finish(o, PSFWI_FISTA_FAILED, PSFWI_FISTA_PROX, task);
          return st;
        }
        return request(o, PSFWI_FISTA_EVAL_F, task);
      }
      case PH_EMIT:
        s->phase = PH_CHECK;
        s->info.task = PSFWI_FISTA_NEW_X;
        *task = PSFWI_FISTA_NEW_X;
        return PSFWI_OK;
      case PH_CHECK:
        if (s->info.iter > 0) {
          if (o->opt.gtol > 0.0 && s->info.gmap <= o->opt.gtol)
            return finish(o, PSFWI_FISTA_CONVERGED, PSFWI_FISTA_GTOL, task);
          if (o->opt.xtol > 0.0 && s->info.x_change <= o->opt.xtol)
            return finish(o, PSFWI_FISTA_CONVERGED, PSFWI_FISTA_XTOL, task);
        }
        if (o->opt.max_iter > 0 && s->info.iter >= o->opt.max_iter)
          return finish(o, PSFWI_FISTA_STOPPED, PSFWI_FISTA_MAXITER, task);
        /* At the start the gradient at y = x0 is known: go straight to a trial. */
        s->phase = s->info.iter == 0 ? PH_TRIAL : PH_NEED_Y;
        s->trials = 0;
        continue;
      default: return psfwi_fail(err, PSFWI_EINTERNAL, "FISTA: bad phase %d", s->phase);
    }
}

const double *psfwi_reg_fista_x(const psfwi_reg_fista *o) {
  return o->s.pending == PSFWI_FISTA_EVAL_F ? o->z : o->y;
}

/* The trial z passed the test: x+ = z, then the momentum step or a restart. */
static void accept(psfwi_reg_fista *o, double fz) {
  fista_scalars *s = &o->s;
  const size_t n = o->n;
  double gm = 0.0, dx = 0.0, r = 0.0;
  for (size_t i = 0; i < n; i++) {
    gm = fmax(gm, fabs(o->y[i] - o->z[i]));
    dx = fmax(dx, fabs(o->z[i] - o->x[i]));
    r += (o->y[i] - o->z[i]) * (o->z[i] - o->x[i]); /* restart test */
  }
  memcpy(o->xp, o->x, n * sizeof(double));
  memcpy(o->x, o->z, n * sizeof(double));
  s->info.f = fz;
  s->info.gmap = gm / s->info.step;
  s->info.x_change = dx;
  s->info.iter++;
  if (o->opt.restart && r > 0.0) {
    s->tk = 1.0;
    memcpy(o->y, o->x, n * sizeof(double));
    s->info.n_restart++;
  } else {
    const double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * s->tk * s->tk)), beta = (s->tk - 1.0) / tn;
    for (size_t i = 0; i < n; i++) o->y[i] = o->x[i] + beta * (o->x[i] - o->xp[i]);
    s->tk = tn;
  }
  s->phase = PH_EMIT;
}

int psfwi_reg_fista_tell(psfwi_reg_fista *o, double f, const double *g, psfwi_error *err) {
  fista_scalars *s = &o->s;
  const int what = s->pending;
  if (what == 0) return psfwi_fail(err, PSFWI_EINVAL, "FISTA: tell without a pending evaluation");
  const size_t n = o->n;
  if (what == PSFWI_FISTA_EVAL_FG && g == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "FISTA: the gradient is needed (task EVAL_FG)");
  s->pending = 0;
  int bad = !isfinite(f);
  size_t ibad = 0;
  if (what == PSFWI_FISTA_EVAL_FG)
    for (size_t i = 0; i < n && !bad; i++)
      if (!isfinite(g[i])) {
        bad = 1;
        ibad = i;
      }
  if (bad) {
    int t;
    finish(o, PSFWI_FISTA_FAILED, PSFWI_FISTA_NONFINITE, &t);
    if (!isfinite(f))
      return psfwi_fail(err, PSFWI_ENONFINITE, "FISTA: f = %g at evaluation %zu", f,
                        s->info.nfev + 1);
    return psfwi_fail(err, PSFWI_ENONFINITE, "FISTA: gradient[%zu] = %g at evaluation %zu", ibad,
                      g[ibad], s->info.nfev + 1);
  }
  s->info.nfev++;
  if (what == PSFWI_FISTA_EVAL_FG) {
    s->info.ngev++;
    s->fy = f;
    memcpy(o->gy, g, n * sizeof(double));
    if (!s->started) { /* the start point: report it as iterate 0 */
      s->started = 1;
      s->info.f = f;
      if (o->opt.step0 == 0.0) {
        double gmax = 0.0;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
        s->info.step = gmax > 0.0 ? o->opt.first_change / gmax : 1.0;
      }
      s->phase = PH_EMIT;
    } else {
      s->info.step *= o->opt.grow;
      s->phase = PH_TRIAL;
    }
    return PSFWI_OK;
  }
  /* EVAL_F at the trial z: the sufficient-decrease test, with a rounding
   * allowance of a few ulps of f(y). */
  double gd = 0.0, dd = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double d = o->z[i] - o->y[i];
    gd += o->gy[i] * d;
    dd += d * d;
  }
  const double bound = s->fy + gd + dd / (2.0 * s->info.step);
  if (f <= bound + 8.0 * DBL_EPSILON * fabs(s->fy)) {
    accept(o, f);
    return PSFWI_OK;
  }
  s->info.n_backtrack++;
  s->info.step *= o->opt.shrink;
  if (++s->trials >= o->opt.max_backtrack) {
    int t;
    finish(o, PSFWI_FISTA_FAILED, PSFWI_FISTA_BACKTRACK, &t);
    return PSFWI_OK;
  }
  s->phase = PH_TRIAL;
  return PSFWI_OK;
}

void psfwi_reg_fista_current(const psfwi_reg_fista *o, const double **x, double *f) {
  if (x) *x = o->x;
  if (f) *f = o->s.info.f;
}

void psfwi_reg_fista_get_info(const psfwi_reg_fista *o, psfwi_reg_fista_info *info) {
  *info = o->s.info;
}

/* ---- State: magic, version, n, scalars, 5 n doubles, FNV-1a checksum. */
static const uint64_t MAGIC = 0x4154534946667370ull; /* "psfFISTA" */
static const uint64_t VERSION = 1;

static size_t header_size(void) { return 3 * sizeof(uint64_t) + sizeof(fista_scalars); }

size_t psfwi_reg_fista_state_size(const psfwi_reg_fista *o) {
  return header_size() + 5 * o->n * sizeof(double) + sizeof(uint64_t);
}

static uint64_t fnv1a(const unsigned char *p, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

int psfwi_reg_fista_state_save(const psfwi_reg_fista *o, void *buf, size_t size, psfwi_error *err) {
  const size_t need = psfwi_reg_fista_state_size(o);
  if (buf == NULL || size < need)
    return psfwi_fail(err, PSFWI_ERANGE, "FISTA state: buffer of %zu bytes; %zu needed", size,
                      need);
  unsigned char *p = buf;
  const uint64_t h[3] = {MAGIC, VERSION, (uint64_t)o->n};
  memcpy(p, h, sizeof h);
  memcpy(p + sizeof h, &o->s, sizeof o->s);
  memcpy(p + header_size(), o->v, 5 * o->n * sizeof(double));
  const uint64_t sum = fnv1a(p, need - sizeof(uint64_t));
  memcpy(p + need - sizeof(uint64_t), &sum, sizeof sum);
  return PSFWI_OK;
}

int psfwi_reg_fista_state_restore(psfwi_reg_fista *o, const void *buf, size_t size,
                                  psfwi_error *err) {
  const size_t need = psfwi_reg_fista_state_size(o);
  const unsigned char *p = buf;
  uint64_t h[3], sum;
  if (buf == NULL || size < 3 * sizeof(uint64_t))
    return psfwi_fail(err, PSFWI_EFORMAT, "FISTA state: %zu bytes; too short", size);
  memcpy(h, p, sizeof h);
  if (h[0] != MAGIC || h[1] != VERSION)
    return psfwi_fail(err, PSFWI_EFORMAT, "FISTA state: bad magic or version %llu",
                      (unsigned long long)h[1]);
  if (h[2] != (uint64_t)o->n)
    return psfwi_fail(err, PSFWI_EINVAL, "FISTA state: saved for n = %llu, this object has %zu",
                      (unsigned long long)h[2], o->n);
  if (size != need)
    return psfwi_fail(err, PSFWI_EFORMAT, "FISTA state: %zu bytes; expected %zu", size, need);
  memcpy(&sum, p + need - sizeof sum, sizeof sum);
  if (sum != fnv1a(p, need - sizeof sum))
    return psfwi_fail(err, PSFWI_EFORMAT, "FISTA state: checksum mismatch");
  fista_scalars sc;
  memcpy(&sc, p + sizeof h, sizeof sc);
  if (sc.phase < PH_NEED_Y || sc.phase > PH_TERMINAL)
    return psfwi_fail(err, PSFWI_EFORMAT, "FISTA state: bad phase %d", sc.phase);
  o->s = sc;
  memcpy(o->v, p + header_size(), 5 * o->n * sizeof(double));
  return PSFWI_OK;
}
