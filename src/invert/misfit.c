/* Data misfits: value and adjoint source (dJ/du) for L2, spectral (DFT at
 * chosen frequencies), trace-normalised correlation, L1 and Huber
 * objectives, with an optional data filter inside the objective. */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

static const double PI = 3.14159265358979323846;

struct psfwi_misfit {
  psfwi_misfit_kind kind;
  size_t nt;
  double dt;
  const psfwi_filter *filter;
  double huber_delta; /* HUBER */
  size_t nfreq;
  double *freqs;     /* Hz */
  double *cs, *sn;   /* cos / sin(2 pi f_k t dt): [k * nt + t] */
  size_t nfft;       /* ENVELOPE, PHASE: the Hilbert transform's length (>= 2 nt) */
  fftwf_plan hf, hb; /* ENVELOPE, PHASE: forward and backward, new-array execution */
};

void psfwi_misfit_opts_defaults(psfwi_misfit_opts *o) {
  memset(o, 0, sizeof *o);
  o->kind = PSFWI_MISFIT_L2;
  o->freqs = NULL;
  o->nfreq = 0;
  o->filter = NULL;
}

void psfwi_misfit_destroy(psfwi_misfit *mf) {
  if (mf == NULL) return;
  free(mf->freqs);
  free(mf->cs);
  free(mf->sn);
  if (mf->hf) fftwf_destroy_plan(mf->hf);
  if (mf->hb) fftwf_destroy_plan(mf->hb);
  free(mf);
}

psfwi_misfit *psfwi_misfit_create(const psfwi_misfit_opts *o, size_t nt, double dt,
                                  psfwi_error *err) {
  if (o == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "psfwi_misfit_create: options are required");
    return NULL;
  }
  if (o->kind != PSFWI_MISFIT_L2 && o->kind != PSFWI_MISFIT_SPECTRAL &&
      o->kind != PSFWI_MISFIT_CORRELATION && o->kind != PSFWI_MISFIT_L1 &&
      o->kind != PSFWI_MISFIT_HUBER && o->kind != PSFWI_MISFIT_ENVELOPE &&
      o->kind != PSFWI_MISFIT_PHASE) {
    psfwi_fail(err, PSFWI_EINVAL,
               "misfit kind %d is unknown; expected L2 (0), spectral (1), correlation (2), "
               "L1 (3), Huber (4), envelope (5) or phase (6)",
               (int)o->kind);
    return NULL;
  }
  if (o->kind == PSFWI_MISFIT_HUBER && (!(o->huber_delta > 0.0) || !isfinite(o->huber_delta))) {
    psfwi_fail(err, PSFWI_ERANGE,
               "Huber misfit with huber_delta = %g; expected finite and > 0 (the residual, in "
               "data units, where the quadratic part turns linear)",
               o->huber_delta);
    return NULL;
  }
  if (nt < 1) {
    psfwi_fail(err, PSFWI_EINVAL, "misfit for nt = 0 samples; expected >= 1");
    return NULL;
  }
  if (!(dt > 0.0) || !isfinite(dt)) {
    psfwi_fail(err, PSFWI_ERANGE, "misfit sample interval dt = %g s; expected > 0", dt);
    return NULL;
  }
  if (o->filter != NULL && fabs(psfwi_filter_dt(o->filter) - dt) > 1e-9 * dt) {
    psfwi_fail(err, PSFWI_EINVAL,
               "misfit filter was made for dt = %g s but the traces are sampled at dt = %g s",
               psfwi_filter_dt(o->filter), dt);
    return NULL;
  }
  const double nyq = 0.5 / dt;
  if (o->kind == PSFWI_MISFIT_SPECTRAL) {
    if (o->nfreq < 1 || o->freqs == NULL) {
      psfwi_fail(err, PSFWI_EINVAL,
                 "spectral misfit with %zu frequencies; expected a list of >= 1 (freqs, nfreq)",
                 o->nfreq);
      return NULL;
    }
    for (size_t k = 0; k < o->nfreq; k++)
      if (!isfinite(o->freqs[k]) || o->freqs[k] < 0.0 || o->freqs[k] > nyq) {
        psfwi_fail(err, PSFWI_ERANGE,
                   "spectral misfit frequency %zu = %g Hz; expected in [0, %g Hz] (Nyquist of "
                   "dt = %g s)",
                   k, o->freqs[k], nyq, dt);
        return NULL;
      }
  }
  psfwi_misfit *mf = calloc(1, sizeof *mf);
  if (mf == NULL) goto nomem;
  mf->kind = o->kind;
  mf->nt = nt;
  mf->dt = dt;
  mf->filter = o->filter;
  mf->huber_delta = o->huber_delta;
  if (o->kind == PSFWI_MISFIT_SPECTRAL) {
    mf->nfreq = o->nfreq;
    mf->freqs = malloc(o->nfreq * sizeof(double));
    mf->cs = malloc(o->nfreq * nt * sizeof(double));
    mf->sn = malloc(o->nfreq * nt * sizeof(double));
    if (!mf->freqs || !mf->cs || !mf->sn) goto nomem;
    memcpy(mf->freqs, o->freqs, o->nfreq * sizeof(double));
    for (size_t k = 0; k < o->nfreq; k++) {
      for (size_t t = 0; t < nt; t++) {
        /* phase in cycles reduced to [0, 1) first: accurate for long traces */
        const double cyc = o->freqs[k] * (double)t * dt;
        const double ph = 2.0 * PI * (cyc - floor(cyc));
        mf->cs[k * nt + t] = cos(ph);
        mf->sn[k * nt + t] = sin(ph);
      }
    }
  }
  if (o->kind == PSFWI_MISFIT_ENVELOPE || o->kind == PSFWI_MISFIT_PHASE) {
    const size_t n = psfwi_fft_size(2 * nt);
    mf->nfft = n;
    float *a = fftwf_alloc_real(n);
    fftwf_complex *b = fftwf_alloc_complex(n / 2 + 1);
    if (a == NULL || b == NULL) {
      fftwf_free(a);
      fftwf_free(b);
      goto nomem;
    }
    fftwf_make_planner_thread_safe();
    mf->hf = fftwf_plan_dft_r2c_1d((int)n, a, b, FFTW_ESTIMATE | FFTW_UNALIGNED);
    mf->hb = fftwf_plan_dft_c2r_1d((int)n, b, a, FFTW_ESTIMATE | FFTW_UNALIGNED);
    fftwf_free(a);
    fftwf_free(b);
    if (mf->hf == NULL || mf->hb == NULL) goto nomem;
  }
  return mf;
nomem:
  psfwi_misfit_destroy(mf);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a misfit for %zu samples", nt);
  return NULL;
}

size_t psfwi_misfit_nt(const psfwi_misfit *mf) { return mf->nt; }
double psfwi_misfit_dt(const psfwi_misfit *mf) { return mf->dt; }
psfwi_misfit_kind psfwi_misfit_get_kind(const psfwi_misfit *mf) { return mf->kind; }

static int check_finite(const float *x, size_t ntrace, size_t nt, const char *what,
                        psfwi_error *err) {
  for (size_t i = 0; i < ntrace * nt; i++)
    if (!isfinite(x[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s trace %zu sample %zu is not finite (%g)", what,
                        i / nt, i % nt, (double)x[i]);
  return PSFWI_OK;
}

/* One trace: returns its J and writes g = dJ/du (if g != NULL). */
/* h = H x, the discrete Hilbert transform of nt samples: the zero-padded
 * transform of nfft points times -i sign(f) (0 at DC and Nyquist), cut to
 * nt samples. Its transpose is -H exactly (the multiplier's conjugate). */
static int hilbert(const psfwi_misfit *mf, const double *x, double *h) {
  const size_t n = mf->nfft, nf = n / 2 + 1, nt = mf->nt;
  float *a = fftwf_alloc_real(n);
  fftwf_complex *b = fftwf_alloc_complex(nf);
  if (a == NULL || b == NULL) {
    fftwf_free(a);
    fftwf_free(b);
    return PSFWI_ENOMEM;
  }
  memset(a, 0, n * sizeof *a);
  for (size_t t = 0; t < nt; t++) a[t] = (float)x[t];
  fftwf_execute_dft_r2c(mf->hf, a, b);
  b[0] = 0.0f;
  if (n % 2 == 0) b[nf - 1] = 0.0f;
  for (size_t f = 1; f < nf - (n % 2 == 0); f++) { /* -i (re + i im) = im - i re */
    const float re = crealf(b[f]), im = cimagf(b[f]);
    b[f] = im / (float)n - I * (re / (float)n);
  }
  fftwf_execute_dft_c2r(mf->hb, b, a);
  for (size_t t = 0; t < nt; t++) h[t] = (double)a[t];
  fftwf_free(a);
  fftwf_free(b);
  return PSFWI_OK;
}

/* ENVELOPE: J = 1/2 sum (E(u) - E(d))^2, E(x) = sqrt(x^2 + (H x)^2 + eps^2),
 * eps = 1e-6 max |d| (smooth where the envelope vanishes); the adjoint
 * source r u / E(u) - H(r H u / E(u)), r = E(u) - E(d). */
static double envelope_misfit(const psfwi_misfit *mf, const float *u, const float *d, float *g,
                              int *oom) {
  const size_t nt = mf->nt;
  double *w = malloc(5 * nt * sizeof *w);
  if (w == NULL) {
    *oom = 1;
    return 0.0;
  }
  double *x = w, *hu = w + nt, *hd = w + 2 * nt, *q = w + 3 * nt, *hq = w + 4 * nt;
  double dmax = 0.0;
  for (size_t t = 0; t < nt; t++) dmax = fmax(dmax, fabs((double)d[t]));
  const double eps2 = pow(1e-6 * dmax, 2) + 1e-300;
  for (size_t t = 0; t < nt; t++) x[t] = (double)u[t];
  int st = hilbert(mf, x, hu);
  for (size_t t = 0; t < nt; t++) x[t] = (double)d[t];
  if (st == PSFWI_OK) st = hilbert(mf, x, hd);
  double J = 0.0;
  for (size_t t = 0; st == PSFWI_OK && t < nt; t++) {
    const double eu = sqrt((double)u[t] * u[t] + hu[t] * hu[t] + eps2);
    const double ed = sqrt((double)d[t] * d[t] + hd[t] * hd[t] + eps2);
    const double r = eu - ed;
    J += 0.5 * r * r;
    x[t] = r * (double)u[t] / eu; /* the direct part */
    q[t] = r * hu[t] / eu;        /* through H */
  }
  if (g && st == PSFWI_OK) {
    st = hilbert(mf, q, hq);
    for (size_t t = 0; st == PSFWI_OK && t < nt; t++) g[t] = (float)(x[t] - hq[t]);
  }
  free(w);
  if (st != PSFWI_OK) *oom = 1;
  return J;
}

/* PHASE: J = 1/2 sum |n(u) - n(d)|^2 with n(x) = a / sqrt(|a|^2 + c^2 m),
 * a = x + i H x the analytic signal and m = mean |a|^2 over the trace (so
 * n(lambda x) = n(x): blind to amplitude; c = PHASE_C damps the phase where
 * the envelope is far below its RMS). With r = n(u) - n(d), rho =
 * sqrt(|a|^2 + c^2 m), s = Re(conj(r) a), K = sum s / rho^3, the complex
 * q = r / rho - a s / rho^3 - (K c^2 / nt) a gives dJ = sum Re(conj(q) da),
 * and the adjoint source is Re q - H(Im q) (H^T = -H). */
static const double PHASE_C = 0.1;
static double phase_misfit(const psfwi_misfit *mf, const float *u, const float *d, float *g,
                           int *oom) {
  const size_t nt = mf->nt;
  double *w = malloc(6 * nt * sizeof *w);
  if (w == NULL) {
    *oom = 1;
    return 0.0;
  }
  double *x = w, *hu = w + nt, *hd = w + 2 * nt, *qr = w + 3 * nt, *qi = w + 4 * nt,
         *hq = w + 5 * nt;
  for (size_t t = 0; t < nt; t++) x[t] = (double)u[t];
  int st = hilbert(mf, x, hu);
  for (size_t t = 0; t < nt; t++) x[t] = (double)d[t];
  if (st == PSFWI_OK) st = hilbert(mf, x, hd);
  double mu = 0.0, md = 0.0;
  for (size_t t = 0; st == PSFWI_OK && t < nt; t++) {
    mu += (double)u[t] * u[t] + hu[t] * hu[t];
    md += (double)d[t] * d[t] + hd[t] * hd[t];
  }
  const double c2 = PHASE_C * PHASE_C, eu2 = c2 * mu / (double)nt, ed2 = c2 * md / (double)nt;
  double J = 0.0, K = 0.0;
  if (st == PSFWI_OK && (!(mu > 0.0) || !(md > 0.0))) {
    /* an all-zero trace (dead, muted or padding) has no phase: n = 0 there,
     * and J, scale-invariant, has no derivative at u = 0: 0 is taken */
    for (size_t t = 0; t < nt; t++) { /* |n|^2 of the trace that is not zero */
      const double a2 =
          mu > 0.0 ? (double)u[t] * u[t] + hu[t] * hu[t] : (double)d[t] * d[t] + hd[t] * hd[t];
      J += a2 > 0.0 ? 0.5 * a2 / (a2 + (mu > 0.0 ? eu2 : ed2)) : 0.0;
    }
    if (g) memset(g, 0, nt * sizeof *g);
    free(w);
    return J;
  }
  for (size_t t = 0; st == PSFWI_OK && t < nt; t++) {
    const double ar = (double)u[t], ai = hu[t], ru = sqrt(ar * ar + ai * ai + eu2);
    const double rd = sqrt((double)d[t] * d[t] + hd[t] * hd[t] + ed2);
    const double rr = ar / ru - (double)d[t] / rd, ri = ai / ru - hd[t] / rd;
    J += 0.5 * (rr * rr + ri * ri);
    const double sv = rr * ar + ri * ai, r3 = ru * ru * ru;
    K += sv / r3;
    qr[t] = rr / ru - ar * sv / r3;
    qi[t] = ri / ru - ai * sv / r3;
  }
  if (g && st == PSFWI_OK) {
    const double k = K * c2 / (double)nt;
    for (size_t t = 0; t < nt; t++) {
      qr[t] -= k * (double)u[t];
      qi[t] -= k * hu[t];
    }
    st = hilbert(mf, qi, hq);
    for (size_t t = 0; st == PSFWI_OK && t < nt; t++) g[t] = (float)(qr[t] - hq[t]);
  }
  free(w);
  if (st != PSFWI_OK) *oom = 1;
  return J;
}

static double trace_misfit(const psfwi_misfit *mf, const float *u, const float *d, float *g,
                           double *r) {
  const size_t nt = mf->nt;
  double J = 0.0;
  switch (mf->kind) {
    case PSFWI_MISFIT_L2:
      for (size_t t = 0; t < nt; t++) {
        const double rt = (double)u[t] - (double)d[t];
        J += 0.5 * rt * rt;
        if (g) g[t] = (float)rt;
      }
      break;
    case PSFWI_MISFIT_SPECTRAL: {
      const double dt = mf->dt;
      for (size_t t = 0; t < nt; t++) r[t] = (double)u[t] - (double)d[t];
      if (g) memset(g, 0, nt * sizeof(float));
      for (size_t k = 0; k < mf->nfreq; k++) {
        const double *c = mf->cs + k * nt, *s = mf->sn + k * nt;
        double re = 0.0, im = 0.0;
        for (size_t t = 0; t < nt; t++) {
          re += r[t] * c[t];
          im -= r[t] * s[t];
        }
        re *= dt;
        im *= dt;
        J += 0.5 * (re * re + im * im);
        /* dJ/du[t] = dt Re(dD exp(+i w t)) = dt (re cos - im sin) */
        if (g)
          for (size_t t = 0; t < nt; t++) g[t] += (float)(dt * (re * c[t] - im * s[t]));
      }
      break;
    }
    case PSFWI_MISFIT_CORRELATION: {
      double uu = 0.0, dd = 0.0, ud = 0.0;
      for (size_t t = 0; t < nt; t++) {
        uu += (double)u[t] * (double)u[t];
        dd += (double)d[t] * (double)d[t];
        ud += (double)u[t] * (double)d[t];
      }
      if (!(uu > 0.0) || !(dd > 0.0)) {
        if (g) memset(g, 0, nt * sizeof(float));
        break;
      }
      const double nu = sqrt(uu), nd = sqrt(dd), c = ud / (nu * nd);
      J = 1.0 - c;
      if (g)
        for (size_t t = 0; t < nt; t++)
          g[t] = (float)(-((double)d[t] / (nu * nd) - c * (double)u[t] / uu));
      break;
    }
    case PSFWI_MISFIT_L1:
      for (size_t t = 0; t < nt; t++) {
        const double rt = (double)u[t] - (double)d[t];
        J += fabs(rt);
        if (g) g[t] = rt > 0.0 ? 1.0f : rt < 0.0 ? -1.0f : 0.0f; /* a subgradient at 0 */
      }
      break;
    case PSFWI_MISFIT_ENVELOPE:
    case PSFWI_MISFIT_PHASE: {
      int oom = 0;
      J = mf->kind == PSFWI_MISFIT_ENVELOPE ? envelope_misfit(mf, u, d, g, &oom)
                                            : phase_misfit(mf, u, d, g, &oom);
      if (oom) J = NAN; /* reported by the caller */
      break;
    }
    case PSFWI_MISFIT_HUBER: {
      const double delta = mf->huber_delta;
      for (size_t t = 0; t < nt; t++) {
        const double rt = (double)u[t] - (double)d[t], a = fabs(rt);
        J += a <= delta ? 0.5 * rt * rt : delta * (a - 0.5 * delta);
        if (g) g[t] = (float)fmin(fmax(rt, -delta), delta);
      }
      break;
    }
  }
  return J;
}

int psfwi_misfit_eval(const psfwi_misfit *mf, size_t ntrace, const float *syn, const float *obs,
                      double *J, float *adj, psfwi_error *err) {
  return psfwi_misfit_eval_w(mf, ntrace, syn, obs, NULL, J, adj, err);
}

int psfwi_misfit_eval_w(const psfwi_misfit *mf, size_t ntrace, const float *syn, const float *obs,
                        const float *weight, double *J, float *adj, psfwi_error *err) {
  if (mf == NULL || J == NULL || ((syn == NULL || obs == NULL) && ntrace > 0))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "psfwi_misfit_eval: misfit, modelled and observed traces and J are "
                      "required");
  const size_t nt = mf->nt;
  int st = check_finite(syn, ntrace, nt, "modelled", err);
  if (st == PSFWI_OK) st = check_finite(obs, ntrace, nt, "observed", err);
  if (st != PSFWI_OK) return st;
  /* scratch: filtered u and d (floats), and nt doubles */
  float *fu = NULL;
  double *work = malloc(nt * sizeof(double));
  if (mf->filter || weight) fu = malloc(2 * nt * sizeof(float));
  if (work == NULL || ((mf->filter || weight) && fu == NULL)) {
    free(work);
    free(fu);
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate misfit scratch for %zu samples", nt);
  }
  double sum = 0.0;
  for (size_t i = 0; i < ntrace; i++) {
    const float *u = syn + i * nt, *d = obs + i * nt;
    float *g = adj ? adj + i * nt : NULL;
    if (mf->filter) {
      memcpy(fu, u, nt * sizeof(float));
      memcpy(fu + nt, d, nt * sizeof(float));
      psfwi_filter_run_(mf->filter, nt, fu, work);
      psfwi_filter_run_(mf->filter, nt, fu + nt, work);
      u = fu;
      d = fu + nt;
    }
    if (weight) { /* W F u and W F d: the same weights on both */
      const float *wt = weight + i * nt;
      if (!mf->filter) {
        memcpy(fu, u, nt * sizeof(float));
        memcpy(fu + nt, d, nt * sizeof(float));
      }
      for (size_t k = 0; k < nt; k++) {
        fu[k] *= wt[k];
        fu[nt + k] *= wt[k];
      }
      u = fu;
      d = fu + nt;
    }
    const double Jt = trace_misfit(mf, u, d, g, work);
    if (isnan(Jt) && (mf->kind == PSFWI_MISFIT_ENVELOPE || mf->kind == PSFWI_MISFIT_PHASE)) {
      free(work);
      free(fu);
      return psfwi_fail(err, PSFWI_ENOMEM, "%s misfit: out of memory for %zu samples",
                        mf->kind == PSFWI_MISFIT_PHASE ? "phase" : "envelope", nt);
    }
    sum += Jt;
    if (g && weight)
      for (size_t k = 0; k < nt; k++) g[k] *= weight[i * nt + k];    /* W^T = W */
    if (g && mf->filter) psfwi_filter_run_(mf->filter, nt, g, work); /* F^T = F */
  }
  free(work);
  free(fu);
  *J = sum;
  return PSFWI_OK;
}
