/* Data weights (the survey-data issue): a top mute along a velocity line,
 * offset and time windows with cosine ramps, dead and noisy traces at 0.
 * The misfit applies them to modelled and observed traces alike
 * (psfwi_misfit_eval_w); and the 3-D to 2-D conversion of point-source
 * data. Definitions in psfwi_invert.h, docs/data.md. */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

static const double PI = 3.14159265358979323846;

void psfwi_weight_opts_defaults(psfwi_weight_opts *o) {
  memset(o, 0, sizeof *o);
  o->taper = 0.05;
  o->pick_margin = 0.05;
}

/* 0 before a, a raised-cosine ramp to 1 at a + len, 1 after (len 0: a step). */
static double ramp_up(double t, double a, double len) {
  if (t < a) return 0.0;
  if (len <= 0.0 || t >= a + len) return 1.0;
  return 0.5 - 0.5 * cos(PI * (t - a) / len);
}

/* reject_rms compares a trace with the traces this many slots to each side */
enum { REJECT_HALF = 5 };

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int psfwi_weight_opts_active(const psfwi_weight_opts *o) {
  return o->mute_velocity > 0 || o->pick_window > 0 || o->offset_min > 0 || o->offset_max > 0 ||
         o->time_min > 0 || o->time_max > 0 || o->drop_dead || o->reject_rms > 0 || o->live != NULL;
}

int psfwi_data_weights(const psfwi_survey *s, size_t nt, double dt, const float *d_obs,
                       const psfwi_weight_opts *o, float *w, psfwi_weight_report *rep,
                       psfwi_error *err) {
  static const char who[] = "data weights";
  if (s == NULL || o == NULL || w == NULL || nt < 1 || !(dt > 0))
    return psfwi_fail(err, PSFWI_EINVAL, "%s: survey, options, output and dt > 0 are needed", who);
  const struct {
    const char *name;
    double v;
  } vals[] = {{"mute_velocity", o->mute_velocity},
              {"mute_time", o->mute_time},
              {"taper", o->taper},
              {"offset_min", o->offset_min},
              {"offset_max", o->offset_max},
              {"time_min", o->time_min},
              {"time_max", o->time_max},
              {"reject_rms", o->reject_rms},
              {"pick_window", o->pick_window},
              {"pick_margin", o->pick_margin}};
  for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
    if (!(vals[k].v >= 0) || !isfinite(vals[k].v))
      return psfwi_fail(err, PSFWI_ERANGE, "%s: %s = %g; expected finite and >= 0", who,
                        vals[k].name, vals[k].v);
  if (o->offset_max > 0 && o->offset_max <= o->offset_min)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: offset_max = %g m must exceed offset_min = %g m", who,
                      o->offset_max, o->offset_min);
  if (o->time_max > 0 && o->time_max <= o->time_min + 2 * o->taper)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: time_max = %g s must exceed time_min + 2 taper = %g s", who, o->time_max,
                      o->time_min + 2 * o->taper);
  if (o->reject_rms > 0 && o->reject_rms <= 1)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: reject_rms = %g; expected > 1 (a multiple of the shot's median RMS)",
                      who, o->reject_rms);
  if ((o->drop_dead || o->reject_rms > 0 || o->pick_window > 0) && d_obs == NULL)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%s: dead or noisy traces and picked first breaks need the observed data",
                      who);
  if (o->mute_velocity > 0 && o->pick_window > 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%s: mute_velocity and pick_window both set; expected one mute", who);
  const size_t nrec = s->nrec;
  psfwi_weight_report r = {0};
  double *rms = malloc((nrec + 1) * sizeof *rms), *sorted = malloc((nrec + 1) * sizeof *sorted),
         *pick = malloc((nrec + 1) * sizeof *pick);
  if (rms == NULL || sorted == NULL || pick == NULL) {
    free(rms);
    free(sorted);
    free(pick);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  }
  for (size_t is = 0; is < s->nshot; is++) {
    /* the shot's trace RMS */
    for (size_t ir = 0; ir < nrec; ir++) {
      double e = 0.0;
      if (d_obs != NULL) {
        const float *d = d_obs + (is * nrec + ir) * nt;
        for (size_t it = 0; it < nt; it++) e += (double)d[it] * d[it];
      }
      rms[ir] = sqrt(e / (double)nt);
    }
    if (o->pick_window > 0) {
      const int st =
          psfwi_pick_first_breaks(nrec, nt, dt, d_obs + is * nrec * nt, o->pick_window, pick, err);
      if (st != PSFWI_OK) {
        free(rms);
        free(sorted);
        free(pick);
        return psfwi_error_prefix(err, "%s: shot %zu: ", who, is);
      }
    }
    for (size_t ir = 0; ir < nrec; ir++) {
      /* the median RMS of the live traces among the REJECT_HALF neighbours
       * on each side (amplitudes fall with offset: a shot-wide median would
       * take the strong near-offset traces for noise) */
      double median = 0.0;
      if (o->reject_rms > 0) {
        const size_t lo = ir > REJECT_HALF ? ir - REJECT_HALF : 0,
                     hi = ir + REJECT_HALF < nrec ? ir + REJECT_HALF : nrec - 1;
        size_t m = 0;
        for (size_t j = lo; j <= hi; j++)
          if (rms[j] > 0 && (o->live == NULL || o->live[is * nrec + j])) sorted[m++] = rms[j];
        if (m > 0) {
          qsort(sorted, m, sizeof *sorted, cmp_double);
          median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
        }
      }
      const size_t k = is * nrec + ir;
      float *wt = w + k * nt;
      const double off = fabs(s->rx[k] - s->sx[is]);
      int zero = 0;
      if (o->live != NULL && !o->live[k]) {
        zero = 1;
        r.padding++;
      } else if (d_obs != NULL && o->drop_dead && rms[ir] == 0.0) {
        zero = 1;
        r.dead++;
      } else if (o->reject_rms > 0 && median > 0 && rms[ir] > o->reject_rms * median) {
        zero = 1;
        r.noisy++;
      } else if (off < o->offset_min || (o->offset_max > 0 && off > o->offset_max)) {
        zero = 1;
        r.offset++;
      }
      if (zero) {
        memset(wt, 0, nt * sizeof *wt);
        continue;
      }
      r.live++;
      const int picked = o->pick_window > 0 && pick[ir] >= 0;
      const double tm = o->mute_velocity > 0 ? o->mute_time + off / o->mute_velocity
                        : picked             ? pick[ir] - o->pick_margin
                                             : -INFINITY;
      r.picked += (size_t)picked;
      for (size_t it = 0; it < nt; it++) {
        const double t = (double)it * dt;
        double v = o->mute_velocity > 0 || picked ? ramp_up(t, tm, o->taper) : 1.0;
        if (o->time_min > 0 || o->time_max > 0) {
          v *= o->time_min > 0 ? ramp_up(t, o->time_min, o->taper) : 1.0;
          if (o->time_max > 0) v *= ramp_up(-t, -o->time_max, o->taper);
        }
        wt[it] = (float)v;
      }
    }
  }
  free(rms);
  free(sorted);
  free(pick);
  if (rep) *rep = r;
  return PSFWI_OK;
}

/* ---- 3-D point-source data to 2-D line-source data ------------------------- */
/* sqrt(t - t0), 0 before t0 */
static double root_after(double t, double t0) { return t > t0 ? sqrt(t - t0) : 0.0; }

int psfwi_convert_3d_to_2d(size_t ntrace, size_t nt, double dt, double velocity, double t0,
                           int mode, float *traces, psfwi_error *err) {
  static const char who[] = "3-D to 2-D conversion";
  if (mode == PSFWI_3D2D_NONE) return PSFWI_OK;
  if (mode != PSFWI_3D2D_AMPLITUDE && mode != PSFWI_3D2D_FULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: mode %d (none 0, amplitude 1, full 2)", who, mode);
  if (!(dt > 0) || !(velocity > 0) || !isfinite(velocity) || !(t0 >= 0) || !isfinite(t0) ||
      nt < 2 || traces == NULL)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: velocity = %g m/s, dt = %g s (expected > 0), t0 = %g s (>= 0)", who,
                      velocity, dt, t0);
  /* sqrt(2 pi) c sqrt(t - t0): the far-field ratio sqrt(2 pi r c) of the
   * line- to the point-source Green's function at r = c (t - t0) (the
   * direct wave; t0 the time of the source wavelet's peak) */
  const double amp = sqrt(2.0 * PI) * velocity;
  if (mode == PSFWI_3D2D_AMPLITUDE) {
    for (size_t k = 0; k < ntrace; k++)
      for (size_t i = 0; i < nt; i++)
        traces[k * nt + i] = (float)(amp * root_after((double)i * dt, t0) * traces[k * nt + i]);
    return PSFWI_OK;
  }
  /* FULL: then (i omega)^(-1/2), the half-integral (the line source's
   * 1/sqrt(t) tail and its -45 degree phase); 4 nt points keep its long
   * tail from wrapping around; DC set to 0 */
  const size_t n = psfwi_fft_size(4 * nt), nf = n / 2 + 1;
  float *buf = fftwf_alloc_real(n);
  fftwf_complex *X = fftwf_alloc_complex(nf);
  fftwf_plan fw = NULL, bw = NULL;
  int st = PSFWI_OK;
  if (buf == NULL || X == NULL) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
    goto done;
  }
  fftwf_make_planner_thread_safe();
  fw = fftwf_plan_dft_r2c_1d((int)n, buf, X, FFTW_ESTIMATE);
  bw = fftwf_plan_dft_c2r_1d((int)n, X, buf, FFTW_ESTIMATE);
  if (fw == NULL || bw == NULL) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "%s: FFTW could not plan %zu points", who, n);
    goto done;
  }
  for (size_t k = 0; k < ntrace; k++) {
    float *u = traces + k * nt;
    memset(buf, 0, n * sizeof *buf);
    for (size_t i = 0; i < nt; i++) buf[i] = (float)(amp * root_after((double)i * dt, t0) * u[i]);
    fftwf_execute(fw);
    X[0] = 0.0f;
    for (size_t f = 1; f < nf; f++) {
      const double w = 2.0 * PI * (double)f / ((double)n * dt);
      /* (i w)^(-1/2) = w^(-1/2) e^(-i pi / 4) */
      const double c = cos(-PI / 4.0) / sqrt(w) / (double)n,
                   s = sin(-PI / 4.0) / sqrt(w) / (double)n;
      const double re = crealf(X[f]), im = cimagf(X[f]);
      X[f] = (float)(re * c - im * s) + I * (float)(re * s + im * c);
    }
    fftwf_execute(bw);
    memcpy(u, buf, nt * sizeof *u);
  }
done:
  if (fw) fftwf_destroy_plan(fw);
  if (bw) fftwf_destroy_plan(bw);
  fftwf_free(buf);
  fftwf_free(X);
  return st;
}

/* ---- First-break picking (modified energy ratio) ----------------------------- */
int psfwi_pick_first_breaks(size_t ntrace, size_t nt, double dt, const float *traces, double window,
                            double *picks, psfwi_error *err) {
  static const char who[] = "first-break picker";
  if (!(dt > 0) || !(window > 0) || !isfinite(window) || traces == NULL || picks == NULL)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: window = %g s, dt = %g s; expected > 0", who, window,
                      dt);
  const size_t L = (size_t)llround(window / dt);
  if (L < 2 || 2 * L >= nt)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: window = %g s is %zu samples of %zu; expected 2 .. nt / 2", who, window,
                      L, nt);
  double *c = malloc((nt + 1) * sizeof *c), *er = malloc((nt + 1) * sizeof *er);
  if (c == NULL || er == NULL) {
    free(c);
    free(er);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  }
  for (size_t k = 0; k < ntrace; k++) {
    const float *u = traces + k * nt;
    c[0] = 0.0; /* cumulative energy */
    double peak = 0.0;
    for (size_t i = 0; i < nt; i++) {
      c[i + 1] = c[i] + (double)u[i] * u[i];
      peak = fmax(peak, fabs((double)u[i]));
    }
    picks[k] = -1.0;
    if (!(peak > 0)) continue; /* a dead trace: no pick */
    /* ER(i) = E[i, i + L) / E[i - L, i) (mean energies per sample; the
     * window before is shorter near t = 0, at least L / 2), stabilised by a small fraction
     * of the trace's mean energy. The first break: the first sample whose
     * ER reaches a tenth of the trace's largest (a later, stronger event
     * has a larger ER, but a ratio, not by its amplitude), then the largest
     * modified energy ratio MER = (ER |u| / peak)^3 (Wong et al. 2009) in
     * the window after it (the onset itself). */
    const double stab = 1e-6 * c[nt] / (double)nt + 1e-300;
    const size_t last = nt - L;
    double ermax = 0.0;
    const size_t first = L / 2; /* at least half a window before: a noisy ratio else */
    for (size_t i = first; i <= last; i++) {
      const size_t nb = i < L ? i : L;
      const double before = (c[i] - c[i - nb]) / (double)nb, after = (c[i + L] - c[i]) / (double)L;
      er[i] = (after + stab) / (before + stab);
      ermax = fmax(ermax, er[i]);
    }
    size_t i0 = first;
    while (i0 < last && er[i0] < 0.1 * ermax) i0++;
    double best = -1.0;
    for (size_t i = i0; i <= last && i < i0 + L; i++) {
      const double mer = pow(er[i] * fabs((double)u[i]) / peak, 3.0);
      if (mer > best) {
        best = mer;
        picks[k] = (double)i * dt;
      }
    }
  }
  free(er);
  free(c);
  return PSFWI_OK;
}

/* ---- Time resampling ------------------------------------------------------------ */
size_t psfwi_resample_count(size_t nt, double dt, double dt_new) {
  if (nt < 1 || !(dt > 0) || !(dt_new > 0)) return 0;
  return (size_t)floor((double)(nt - 1) * dt / dt_new + 1e-9) + 1;
}

/* The modified Bessel function I0 by its power series (x <= 20 here). */
static double bessel_i0(double x) {
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 60 && term > 1e-17 * sum; k++) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
  }
  return sum;
}

/* The interpolation kernel: sinc(x) times a Kaiser window of half-width
 * KERNEL_A samples and shape KAISER_BETA, 0 for |x| >= KERNEL_A; i0beta =
 * bessel_i0(KAISER_BETA). (A 10 Hz Ricker at 4 ms taken to 1 ms: 2.4e-6
 * relative L2; a Lanczos window of the same width gives 1.2e-4.) */
enum { KERNEL_A = 16 };
static const double KAISER_BETA = 10.0;
static double kernel(double x, double i0beta) {
  if (fabs(x) >= KERNEL_A) return 0.0;
  const double u = x / KERNEL_A, w = bessel_i0(KAISER_BETA * sqrt(1.0 - u * u));
  return (x == 0.0 ? 1.0 : sin(PI * x) / (PI * x)) * w / i0beta;
}

int psfwi_resample(size_t ntrace, size_t nt, double dt, const float *in, double dt_new, float *out,
                   psfwi_error *err) {
  static const char who[] = "resampling";
  if (!(dt > 0) || !isfinite(dt) || !(dt_new > 0) || !isfinite(dt_new))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: dt = %g s to %g s; expected both > 0 and finite", who,
                      dt, dt_new);
  if (in == NULL || out == NULL || nt < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: no traces", who);
  const size_t nn = psfwi_resample_count(nt, dt, dt_new);
  const float *src = in;
  float *copy = NULL;
  if (dt_new > dt * (1 + 1e-9)) {
    /* anti-alias: 0.8 of the new Nyquist frequency */
    if ((copy = malloc(ntrace * nt * sizeof *copy)) == NULL)
      return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
    memcpy(copy, in, ntrace * nt * sizeof *copy);
    psfwi_filter_opts fo;
    psfwi_filter_opts_defaults(&fo);
    fo.f_highcut = 0.8 * 0.5 / dt_new;
    psfwi_filter *f = psfwi_filter_create(&fo, dt, err);
    int st = f ? psfwi_filter_apply(f, ntrace, nt, copy, err) : err->status;
    psfwi_filter_destroy(f);
    if (st != PSFWI_OK) {
      free(copy);
      return psfwi_error_prefix(err, "%s: ", who);
    }
    src = copy;
  }
  const double i0beta = bessel_i0(KAISER_BETA);
  double wk[2 * KERNEL_A]; /* the output sample's weights, the same for every trace */
  for (size_t j = 0; j < nn; j++) {
    const double x = (double)j * dt_new / dt; /* position in input samples */
    const double r = nearbyint(x);
    const int exact = fabs(x - r) <= 1e-9 * fmax(1.0, x);
    const long lo = exact ? (long)r : (long)floor(x) - KERNEL_A + 1;
    const long hi = exact ? (long)r : (long)floor(x) + KERNEL_A;
    for (long i = lo; i <= hi; i++) wk[i - lo] = exact ? 1.0 : kernel(x - (double)i, i0beta);
    for (size_t k = 0; k < ntrace; k++) {
      const float *t = src + k * nt;
      double v = 0.0;
      for (long i = lo; i <= hi; i++)
        if (i >= 0 && (size_t)i < nt) v += (double)t[i] * wk[i - lo];
      out[k * nn + j] = (float)v;
    }
  }
  free(copy);
  return PSFWI_OK;
}
