/* Stochastic first-order steps: SGD (plain, momentum, Nesterov), Adam, AdamW,
 * RMSprop, Adadelta, with PyTorch's formulas (see psfwi_optim.h), optional box
 * projection, and a save/restore of the whole state. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"

/* Defined in linesearch.c (module-internal). */
int psfwi_optim_fill_bounds_(size_t n, const double *lo, const double *hi, double lo_all,
                             double hi_all, double *dlo, double *dhi, const char *who,
                             psfwi_error *err);

/* Scalars of the state (doubles only: saved as they are). */
typedef struct sgd_reals {
  double t;       /* steps taken */
  double lr;      /* current learning rate */
  double pow1;    /* beta1^t */
  double pow2;    /* beta2^t */
  double bounded; /* 1 if bounds were set */
} sgd_reals;

struct psfwi_optim_sgd {
  size_t n;
  psfwi_optim_sgd_options opt;
  sgd_reals r;
  double *block; /* m, v, lo, hi: n each (Adadelta keeps its accumulated
                    squared update u in m) */
  double *m, *v, *lo, *hi;
};

static const char magic[8] = {'P', 'S', 'F', 'W', 'I', 'S', 'G', 'D'};
enum { SGD_STATE_VERSION = 1, SGD_HDR_WORDS = 4 };

void psfwi_optim_sgd_options_init(psfwi_optim_sgd_options *opt, int method) {
  memset(opt, 0, sizeof *opt);
  opt->method = method;
  opt->lr = 1e-3;
  opt->momentum = 0.9;
  opt->beta1 = 0.9;
  opt->beta2 = 0.999;
  opt->rho = 0.99;
  opt->eps = 1e-8;
  opt->weight_decay = 0.0;
  if (method == PSFWI_SGD_ADADELTA) { /* torch.optim.Adadelta's defaults */
    opt->lr = 1.0;
    opt->rho = 0.9;
    opt->eps = 1e-6;
  }
}

static int check_lr(double lr, psfwi_error *err) {
  if (!(lr > 0.0) || !isfinite(lr))
    return psfwi_fail(err, PSFWI_ERANGE, "sgd: learning rate lr = %g; expected finite and > 0", lr);
  return PSFWI_OK;
}

static int check_options(const psfwi_optim_sgd_options *o, psfwi_error *err) {
  if (o->method < PSFWI_SGD_PLAIN || o->method > PSFWI_SGD_ADADELTA)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "sgd: method = %d; expected 0 (SGD) to 6 (Adadelta), see enum "
                      "psfwi_sgd_method",
                      o->method);
  if (check_lr(o->lr, err)) return err ? err->status : PSFWI_ERANGE;
  const struct {
    const char *name;
    double v;
  } unit[] = {{"momentum", o->momentum}, {"beta1", o->beta1}, {"beta2", o->beta2}, {"rho", o->rho}};
  for (size_t k = 0; k < sizeof unit / sizeof unit[0]; k++)
    if (!(unit[k].v >= 0.0 && unit[k].v < 1.0))
      return psfwi_fail(err, PSFWI_ERANGE, "sgd: %s = %g; expected 0 <= %s < 1", unit[k].name,
                        unit[k].v, unit[k].name);
  if (!(o->eps > 0.0) || !isfinite(o->eps))
    return psfwi_fail(err, PSFWI_ERANGE, "sgd: eps = %g; expected finite and > 0", o->eps);
  if (!(o->weight_decay >= 0.0) || !isfinite(o->weight_decay))
    return psfwi_fail(err, PSFWI_ERANGE, "sgd: weight_decay = %g; expected finite and >= 0",
                      o->weight_decay);
  return PSFWI_OK;
}

psfwi_optim_sgd *psfwi_optim_sgd_create(size_t n, const psfwi_optim_sgd_options *opt,
                                        psfwi_error *err) {
  if (opt == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "sgd: options are NULL");
    return NULL;
  }
  if (n == 0) {
    psfwi_fail(err, PSFWI_EINVAL, "sgd: n = 0 unknowns; expected >= 1");
    return NULL;
  }
  if (check_options(opt, err)) return NULL;
  if (n > SIZE_MAX / (4 * sizeof(double))) {
    psfwi_fail(err, PSFWI_ENOMEM, "sgd: %zu unknowns do not fit in memory", n);
    return NULL;
  }
  psfwi_optim_sgd *s = calloc(1, sizeof *s);
  double *b = s ? calloc(4 * n, sizeof *b) : NULL;
  if (b == NULL) {
    free(s);
    psfwi_fail(err, PSFWI_ENOMEM, "sgd: cannot allocate the state of %zu unknowns", n);
    return NULL;
  }
  s->n = n;
  s->opt = *opt;
  s->block = b;
  s->m = b;
  s->v = b + n;
  s->lo = b + 2 * n;
  s->hi = b + 3 * n;
  for (size_t i = 0; i < n; i++) {
    s->lo[i] = -INFINITY;
    s->hi[i] = INFINITY;
  }
  s->r.lr = opt->lr;
  psfwi_optim_sgd_reset(s);
  return s;
}

void psfwi_optim_sgd_destroy(psfwi_optim_sgd *s) {
  if (s == NULL) return;
  free(s->block);
  free(s);
}

int psfwi_optim_sgd_set_bounds(psfwi_optim_sgd *s, const double *lo, const double *hi,
                               double lo_all, double hi_all, psfwi_error *err) {
  const int st = psfwi_optim_fill_bounds_(s->n, lo, hi, lo_all, hi_all, s->lo, s->hi, "sgd", err);
  if (st == PSFWI_OK) s->r.bounded = 1.0;
  return st;
}

int psfwi_optim_sgd_set_lr(psfwi_optim_sgd *s, double lr, psfwi_error *err) {
  if (check_lr(lr, err)) return PSFWI_ERANGE;
  s->r.lr = lr;
  return PSFWI_OK;
}

void psfwi_optim_sgd_reset(psfwi_optim_sgd *s) {
  for (size_t i = 0; i < 2 * s->n; i++) s->block[i] = 0.0;
  s->r.t = 0.0;
  s->r.pow1 = 1.0;
  s->r.pow2 = 1.0;
}

size_t psfwi_optim_sgd_steps(const psfwi_optim_sgd *s) { return (size_t)s->r.t; }

/* The update of component i from x and g; returns the new x (unprojected). */
static double update(psfwi_optim_sgd *s, size_t i, double x, double g, double c1, double c2) {
  const psfwi_optim_sgd_options *o = &s->opt;
  const double lr = s->r.lr;
  double gw = o->method == PSFWI_SGD_ADAMW ? g : g + o->weight_decay * x;
  switch (o->method) {
    case PSFWI_SGD_PLAIN: return x - lr * gw;
    case PSFWI_SGD_MOMENTUM:
    case PSFWI_SGD_NESTEROV: {
      const double b = s->r.t == 0.0 ? gw : o->momentum * s->m[i] + gw;
      s->m[i] = b;
      return x - lr * (o->method == PSFWI_SGD_NESTEROV ? gw + o->momentum * b : b);
    }
    case PSFWI_SGD_ADAMW:
      x -= lr * o->weight_decay * x;
      /* fall through */
    case PSFWI_SGD_ADAM: {
      s->m[i] = o->beta1 * s->m[i] + (1.0 - o->beta1) * gw;
      s->v[i] = o->beta2 * s->v[i] + (1.0 - o->beta2) * gw * gw;
      return x - lr * (s->m[i] / c1) / (sqrt(s->v[i] / c2) + o->eps);
    }
    case PSFWI_SGD_RMSPROP:
      s->v[i] = o->rho * s->v[i] + (1.0 - o->rho) * gw * gw;
      return x - lr * gw / (sqrt(s->v[i]) + o->eps);
    default: { /* Adadelta: v = E[g^2], m = u = E[delta^2] */
      s->v[i] = o->rho * s->v[i] + (1.0 - o->rho) * gw * gw;
      const double delta = sqrt(s->m[i] + o->eps) / sqrt(s->v[i] + o->eps) * gw;
      s->m[i] = o->rho * s->m[i] + (1.0 - o->rho) * delta * delta;
      return x - lr * delta;
    }
  }
}

static double project(const psfwi_optim_sgd *s, size_t i, double x) {
  if (x < s->lo[i]) return s->lo[i];
  if (x > s->hi[i]) return s->hi[i];
  return x;
}

#define SGD_STEP_BODY(XTYPE)                                                                       \
  for (size_t i = 0; i < s->n; i++)                                                                \
    if (!isfinite((double)g[i]))                                                                   \
      return psfwi_fail(err, PSFWI_ENONFINITE,                                                     \
                        "sgd: gradient g[%zu] = %g at step %zu; nothing updated", i, (double)g[i], \
                        (size_t)s->r.t + 1);                                                       \
  const double p1 = s->r.pow1 * s->opt.beta1, p2 = s->r.pow2 * s->opt.beta2;                       \
  const double c1 = 1.0 - p1, c2 = 1.0 - p2;                                                       \
  for (size_t i = 0; i < s->n; i++) {                                                              \
    const double xn = project(s, i, update(s, i, (double)x[i], (double)g[i], c1, c2));             \
    x[i] = (XTYPE)xn;                                                                              \
  }                                                                                                \
  s->r.pow1 = p1;                                                                                  \
  s->r.pow2 = p2;                                                                                  \
  s->r.t += 1.0;                                                                                   \
  return PSFWI_OK;

/* clang-format off */
int psfwi_optim_sgd_step(psfwi_optim_sgd *s, double *x, const double *g, psfwi_error *err) {
  SGD_STEP_BODY(double)
}

int psfwi_optim_sgd_stepf(psfwi_optim_sgd *s, float *x, const float *g, psfwi_error *err) {
  SGD_STEP_BODY(float)
}

/* clang-format on */

/* ---- State: magic | u64 version, method, n, sizeof(sgd_reals) | reals | m v lo hi
 * | u64 FNV-1a checksum. */
size_t psfwi_optim_sgd_state_size(const psfwi_optim_sgd *s) {
  return sizeof magic + SGD_HDR_WORDS * sizeof(uint64_t) + sizeof(sgd_reals) +
         4 * s->n * sizeof(double) + sizeof(uint64_t);
}

int psfwi_optim_sgd_state_save(const psfwi_optim_sgd *s, void *buf, size_t size, psfwi_error *err) {
  const size_t need = psfwi_optim_sgd_state_size(s);
  if (buf == NULL || size < need)
    return psfwi_fail(err, PSFWI_ERANGE, "sgd: state buffer of %zu bytes; %zu needed", size, need);
  unsigned char *p = buf;
  const uint64_t hdr[SGD_HDR_WORDS] = {SGD_STATE_VERSION, (uint64_t)s->opt.method, s->n,
                                       sizeof(sgd_reals)};
  memcpy(p, magic, sizeof magic);
  p += sizeof magic;
  memcpy(p, hdr, sizeof hdr);
  p += sizeof hdr;
  memcpy(p, &s->r, sizeof s->r);
  p += sizeof s->r;
  memcpy(p, s->block, 4 * s->n * sizeof(double));
  p += 4 * s->n * sizeof(double);
  const uint64_t h = (uint64_t)psfwi_fnv1a(buf, need - sizeof h);
  memcpy(p, &h, sizeof h);
  return PSFWI_OK;
}

int psfwi_optim_sgd_state_restore(psfwi_optim_sgd *s, const void *buf, size_t size,
                                  psfwi_error *err) {
  const unsigned char *p = buf;
  uint64_t hdr[SGD_HDR_WORDS];
  if (buf == NULL || size < sizeof magic + sizeof hdr || memcmp(p, magic, sizeof magic) != 0)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "sgd: state buffer (%zu bytes) does not start with an SGD state header",
                      size);
  memcpy(hdr, p + sizeof magic, sizeof hdr);
  if (hdr[0] != SGD_STATE_VERSION || hdr[3] != sizeof(sgd_reals))
    return psfwi_fail(err, PSFWI_EFORMAT, "sgd: state version %llu; this build reads version %d",
                      (unsigned long long)hdr[0], SGD_STATE_VERSION);
  if (hdr[1] != (uint64_t)s->opt.method || hdr[2] != s->n)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "sgd: saved state has method %llu and n = %llu; this optimiser has "
                      "method %d and n = %zu",
                      (unsigned long long)hdr[1], (unsigned long long)hdr[2], s->opt.method, s->n);
  const size_t need = psfwi_optim_sgd_state_size(s);
  if (size != need)
    return psfwi_fail(err, PSFWI_EFORMAT, "sgd: state buffer of %zu bytes; expected %zu", size,
                      need);
  uint64_t h;
  memcpy(&h, p + need - sizeof h, sizeof h);
  if (h != (uint64_t)psfwi_fnv1a(buf, need - sizeof h))
    return psfwi_fail(err, PSFWI_EFORMAT, "sgd: state buffer checksum mismatch (corrupt)");
  p += sizeof magic + sizeof hdr;
  memcpy(&s->r, p, sizeof s->r);
  p += sizeof s->r;
  memcpy(s->block, p, 4 * s->n * sizeof(double));
  return PSFWI_OK;
}

/* ---- Gradient clipping by the global L2 norm (torch.nn.utils.clip_grad_norm_).
 * The norm is accumulated in double from g (double) or gf (float); if the
 * sum of squares overflows with every component finite, it is recomputed
 * scaled by the largest |g_i|. */
static double l2norm(size_t n, const double *g, const float *gf) {
  double ss = 0.0, amax = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double gi = g ? g[i] : (double)gf[i];
    ss += gi * gi;
    amax = fmax(amax, fabs(gi));
  }
  const double norm = sqrt(ss);
  if (!isinf(norm) || !isfinite(amax)) return norm;
  ss = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double gi = (g ? g[i] : (double)gf[i]) / amax;
    ss += gi * gi;
  }
  return amax * sqrt(ss);
}

/* The factor g is multiplied by: < 1 only when clipping applies. */
static double clip_factor(double norm, double max_norm) {
  if (!isfinite(norm) || !(max_norm > 0.0)) return 1.0;
  return fmin(max_norm / (norm + 1e-6), 1.0);
}

double psfwi_optim_clip_norm(size_t n, double *g, double max_norm) {
  const double norm = l2norm(n, g, NULL), c = clip_factor(norm, max_norm);
  if (c < 1.0)
    for (size_t i = 0; i < n; i++) g[i] *= c;
  return norm;
}

double psfwi_optim_clip_normf(size_t n, float *g, double max_norm) {
  const double norm = l2norm(n, NULL, g), c = clip_factor(norm, max_norm);
  if (c < 1.0)
    for (size_t i = 0; i < n; i++) g[i] = (float)((double)g[i] * c);
  return norm;
}
