/* Data weights (the survey-data issue): a top mute along a velocity line,
 * offset and time windows with cosine ramps, dead and noisy traces at 0.
 * The misfit applies them to modelled and observed traces alike
 * (psfwi_misfit_eval_w); definitions in psfwi_invert.h, docs/data.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

static const double PI = 3.14159265358979323846;

void psfwi_weight_opts_defaults(psfwi_weight_opts *o) {
  memset(o, 0, sizeof *o);
  o->taper = 0.05;
}

/* 0 before a, a raised-cosine ramp to 1 at a + len, 1 after (len 0: a step). */
static double ramp_up(double t, double a, double len) {
  if (t < a) return 0.0;
  if (len <= 0.0 || t >= a + len) return 1.0;
  return 0.5 - 0.5 * cos(PI * (t - a) / len);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int psfwi_weight_opts_active(const psfwi_weight_opts *o) {
  return o->mute_velocity > 0 || o->offset_min > 0 || o->offset_max > 0 || o->time_min > 0 ||
         o->time_max > 0 || o->drop_dead || o->reject_rms > 0;
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
  } vals[] = {
      {"mute_velocity", o->mute_velocity}, {"mute_time", o->mute_time},   {"taper", o->taper},
      {"offset_min", o->offset_min},       {"offset_max", o->offset_max}, {"time_min", o->time_min},
      {"time_max", o->time_max},           {"reject_rms", o->reject_rms}};
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
  if ((o->drop_dead || o->reject_rms > 0) && d_obs == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: dead or noisy traces need the observed data", who);
  const size_t nrec = s->nrec;
  psfwi_weight_report r = {0};
  double *rms = malloc((nrec + 1) * sizeof *rms), *sorted = malloc((nrec + 1) * sizeof *sorted);
  if (rms == NULL || sorted == NULL) {
    free(rms);
    free(sorted);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  }
  for (size_t is = 0; is < s->nshot; is++) {
    /* the shot's trace RMS and the median over its live traces */
    size_t nlive = 0;
    for (size_t ir = 0; ir < nrec; ir++) {
      double e = 0.0;
      if (d_obs != NULL) {
        const float *d = d_obs + (is * nrec + ir) * nt;
        for (size_t it = 0; it < nt; it++) e += (double)d[it] * d[it];
      }
      rms[ir] = sqrt(e / (double)nt);
      if (rms[ir] > 0) sorted[nlive++] = rms[ir];
    }
    double median = 0.0;
    if (nlive > 0) {
      qsort(sorted, nlive, sizeof *sorted, cmp_double);
      median = nlive % 2 ? sorted[nlive / 2] : 0.5 * (sorted[nlive / 2 - 1] + sorted[nlive / 2]);
    }
    for (size_t ir = 0; ir < nrec; ir++) {
      const size_t k = is * nrec + ir;
      float *wt = w + k * nt;
      const double off = fabs(s->rx[k] - s->sx[is]);
      int zero = 0;
      if (d_obs != NULL && o->drop_dead && rms[ir] == 0.0) {
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
      const double tm = o->mute_velocity > 0 ? o->mute_time + off / o->mute_velocity : -INFINITY;
      for (size_t it = 0; it < nt; it++) {
        const double t = (double)it * dt;
        double v = o->mute_velocity > 0 ? ramp_up(t, tm, o->taper) : 1.0;
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
  if (rep) *rep = r;
  return PSFWI_OK;
}
