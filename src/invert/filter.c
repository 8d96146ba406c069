/* Zero-phase Butterworth data filter (forward-backward, zero initial
 * conditions) and its transpose. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

static const double PI = 3.14159265358979323846;

#define MAX_ORDER 10
#define MAX_SECT  (2 * ((MAX_ORDER + 1) / 2))

/* One second-order section y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) x. */
typedef struct biquad {
  double b0, b1, b2, a1, a2;
} biquad;

struct psfwi_filter {
  psfwi_filter_opts opts;
  double dt;
  size_t nsect;
  biquad sect[MAX_SECT];
};

void psfwi_filter_opts_defaults(psfwi_filter_opts *o) {
  memset(o, 0, sizeof *o);
  o->f_lowcut = 0.0;
  o->f_highcut = 0.0;
  o->order = 4;
}

/* Bilinear transform (prewarped: K = tan(pi fc dt)) of the Butterworth
 * prototype of order n, low-pass (hp = 0) or high-pass (hp = 1). */
static void design(psfwi_filter *f, int n, double fc, int hp) {
  const double K = tan(PI * fc * f->dt), K2 = K * K;
  for (int k = 0; k < n / 2; k++) {
    const double zeta = sin(PI * (double)(2 * k + 1) / (2.0 * (double)n));
    const double a0 = 1.0 + 2.0 * zeta * K + K2;
    biquad *b = &f->sect[f->nsect++];
    if (hp) {
      b->b0 = 1.0 / a0;
      b->b1 = -2.0 / a0;
      b->b2 = 1.0 / a0;
    } else {
      b->b0 = K2 / a0;
      b->b1 = 2.0 * K2 / a0;
      b->b2 = K2 / a0;
    }
    b->a1 = 2.0 * (K2 - 1.0) / a0;
    b->a2 = (1.0 - 2.0 * zeta * K + K2) / a0;
  }
  if (n % 2 != 0) {
    biquad *b = &f->sect[f->nsect++];
    b->b0 = hp ? 1.0 / (1.0 + K) : K / (1.0 + K);
    b->b1 = hp ? -b->b0 : b->b0;
    b->b2 = 0.0;
    b->a1 = (K - 1.0) / (K + 1.0);
    b->a2 = 0.0;
  }
}

psfwi_filter *psfwi_filter_create(const psfwi_filter_opts *o, double dt, psfwi_error *err) {
  if (o == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "psfwi_filter_create: options are required");
    return NULL;
  }
  if (!(dt > 0.0) || !isfinite(dt)) {
    psfwi_fail(err, PSFWI_ERANGE, "filter sample interval dt = %g s; expected > 0", dt);
    return NULL;
  }
  if (o->order < 1 || o->order > MAX_ORDER) {
    psfwi_fail(err, PSFWI_ERANGE, "filter order = %d; expected 1 to %d", o->order, MAX_ORDER);
    return NULL;
  }
  const double nyq = 0.5 / dt;
  const double fl = o->f_lowcut, fh = o->f_highcut;
  if (!isfinite(fl) || fl < 0.0 || fl >= nyq) {
    psfwi_fail(err, PSFWI_ERANGE,
               "filter f_lowcut = %g Hz; expected 0 (none) or inside (0, %g Hz) (Nyquist of "
               "dt = %g s)",
               fl, nyq, dt);
    return NULL;
  }
  if (!isfinite(fh) || fh < 0.0 || fh >= nyq) {
    psfwi_fail(err, PSFWI_ERANGE,
               "filter f_highcut = %g Hz; expected 0 (none) or inside (0, %g Hz) (Nyquist of "
               "dt = %g s)",
               fh, nyq, dt);
    return NULL;
  }
  if (fl == 0.0 && fh == 0.0) {
    psfwi_fail(err, PSFWI_EINVAL,
               "filter with neither f_lowcut nor f_highcut; expected at least one corner");
    return NULL;
  }
  if (fl > 0.0 && fh > 0.0 && fl >= fh) {
    psfwi_fail(err, PSFWI_EINVAL,
               "filter f_lowcut = %g Hz >= f_highcut = %g Hz; expected f_lowcut < f_highcut", fl,
               fh);
    return NULL;
  }
  psfwi_filter *f = calloc(1, sizeof *f);
  if (f == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a filter");
    return NULL;
  }
  f->opts = *o;
  f->dt = dt;
  if (fh > 0.0) design(f, o->order, fh, 0);
  if (fl > 0.0) design(f, o->order, fl, 1);
  return f;
}

void psfwi_filter_destroy(psfwi_filter *f) { free(f); }

double psfwi_filter_dt(const psfwi_filter *f) { return f->dt; }

/* The causal cascade C on x[0..n) in place (Direct Form II transposed, zero
 * initial state). */
static void causal(const psfwi_filter *f, size_t n, double *x) {
  for (size_t s = 0; s < f->nsect; s++) {
    const biquad b = f->sect[s];
    double z1 = 0.0, z2 = 0.0;
    for (size_t t = 0; t < n; t++) {
      const double in = x[t], y = b.b0 * in + z1;
      z1 = b.b1 * in - b.a1 * y + z2;
      z2 = b.b2 * in - b.a2 * y;
      x[t] = y;
    }
  }
}

static void reverse(size_t n, double *x) {
  for (size_t i = 0, j = n; i + 1 < j; i++) {
    j--;
    const double t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
}

/* F = R C R C: causal pass, then the same pass backwards in time. C (a
 * truncated causal convolution) is a lower-triangular Toeplitz matrix, so
 * C^T = R C R and F^T = C^T R C^T R = (R C R) R (R C R) R = R C R C = F:
 * psfwi_filter_adjoint runs this very sequence. */
void psfwi_filter_run_(const psfwi_filter *f, size_t nt, float *x, double *work) {
  for (size_t t = 0; t < nt; t++) work[t] = (double)x[t];
  causal(f, nt, work);
  reverse(nt, work);
  causal(f, nt, work);
  reverse(nt, work);
  for (size_t t = 0; t < nt; t++) x[t] = (float)work[t];
}

static int run_all(const psfwi_filter *f, size_t ntrace, size_t nt, float *traces,
                   psfwi_error *err) {
  if (f == NULL || (traces == NULL && ntrace * nt > 0))
    return psfwi_fail(err, PSFWI_EINVAL, "psfwi_filter_apply: filter and traces are required");
  if (nt == 0 || ntrace == 0) return PSFWI_OK;
  double *work = malloc(nt * sizeof(double));
  if (work == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu samples", nt);
  for (size_t i = 0; i < ntrace; i++) psfwi_filter_run_(f, nt, traces + i * nt, work);
  free(work);
  return PSFWI_OK;
}

int psfwi_filter_apply(const psfwi_filter *f, size_t ntrace, size_t nt, float *traces,
                       psfwi_error *err) {
  return run_all(f, ntrace, nt, traces, err);
}

int psfwi_filter_adjoint(const psfwi_filter *f, size_t ntrace, size_t nt, float *traces,
                         psfwi_error *err) {
  return run_all(f, ntrace, nt, traces, err);
}
