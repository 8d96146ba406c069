/* The shot loop: one shot (time stepping with source injection and receiver
 * recording) and all shots of a survey in parallel (OpenMP). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "wave_internal.h"

int psfwi_wave_shot(const psfwi_wave *w, const float *vel_term, const float *src_fine, size_t nt,
                    double sx, double sz, size_t nrec, const double *rx, const double *rz,
                    float *traces, psfwi_wave_work *ws, psfwi_wave_state *st,
                    psfwi_wave_sample_fn on_sample, void *ctx, psfwi_error *err) {
  if (nt < 1 || nrec < 1)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "shot with %zu samples and %zu receivers; expected "
                      ">= 1 of each",
                      nt, nrec);
  const size_t nsub = w->info.nsub, nstep = psfwi_wave_nstep(w, nt);
  psfwi_wave_points *src = psfwi_wave_points_create(w, 1, &sx, &sz, "source", err);
  if (src == NULL) return err ? err->status : PSFWI_ERANGE;
  psfwi_wave_points *rec = psfwi_wave_points_create(w, nrec, rx, rz, "receiver", err);
  float *buf = malloc(nrec * sizeof(float));
  if (rec == NULL || buf == NULL) {
    psfwi_wave_points_destroy(src);
    psfwi_wave_points_destroy(rec);
    free(buf);
    if (rec == NULL) return err ? err->status : PSFWI_ERANGE;
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu receiver samples", nrec);
  }
  const unsigned saved = psfwi_wave_ftz_enter(w->opts.ftz);
  psfwi_wave_state_zero(w, st);
  psfwi_wave_points_record(rec, st->cur, buf);
  for (size_t ir = 0; ir < nrec; ir++) traces[ir * nt] = buf[ir];
  if (on_sample) on_sample(ctx, 0, st->cur);
  for (size_t n = 0; n < nstep; n++) {
    psfwi_wave_step(w, vel_term, st, src, src_fine + n, ws);
    if ((n + 1) % nsub == 0) {
      const size_t it = (n + 1) / nsub;
      psfwi_wave_points_record(rec, st->cur, buf);
      for (size_t ir = 0; ir < nrec; ir++) traces[ir * nt + it] = buf[ir];
      if (on_sample) on_sample(ctx, it, st->cur);
    }
  }
  psfwi_wave_ftz_restore(saved);
  psfwi_wave_points_destroy(src);
  psfwi_wave_points_destroy(rec);
  free(buf);
  return PSFWI_OK;
}

/* Shared bookkeeping of psfwi_wave_model_shots. */
typedef struct shots_ctx {
  const psfwi_wave *w;
  const psfwi_wave_callbacks *cb;
  size_t nshot, nt, steps_total;
  size_t steps_done, shots_done; /* updated under the critical section */
} shots_ctx;

/* Per-shot context of the on_sample hook. */
typedef struct shot_hook {
  shots_ctx *sc;
  size_t is;
  size_t last_it; /* last recorded sample reported to progress */
  float *snap;    /* nx * nz, shot 0 only */
} shot_hook;

static void report(shots_ctx *sc, size_t steps, int shot_done) {
#pragma omp critical(psfwi_wave_callbacks)
  {
    sc->steps_done += steps;
    if (shot_done) sc->shots_done++;
    if (sc->cb && sc->cb->progress)
      sc->cb->progress(sc->cb->progress_ctx, sc->steps_done, sc->steps_total, sc->shots_done,
                       sc->nshot);
  }
}

static void on_sample(void *ctx, size_t it, const float *field) {
  shot_hook *h = ctx;
  shots_ctx *sc = h->sc;
  const psfwi_wave_callbacks *cb = sc->cb;
  if (h->snap && it % cb->snapshot_every == 0) {
    psfwi_wave_field_interior(sc->w, field, h->snap);
#pragma omp critical(psfwi_wave_callbacks)
    cb->snapshot(cb->snapshot_ctx, it, h->snap);
  }
  /* Progress roughly every 2 % of a shot. */
  const size_t every = sc->nt / 50 > 0 ? sc->nt / 50 : 1;
  if (it > 0 && it - h->last_it >= every && it + 1 < sc->nt) {
    report(sc, (it - h->last_it) * sc->w->info.nsub, 0);
    h->last_it = it;
  }
}

int psfwi_wave_model_shots(const psfwi_wave *w, const psfwi_model *m, const psfwi_survey *s,
                           const float *wavelet, size_t nt, float *data,
                           const psfwi_wave_callbacks *cb, psfwi_error *err) {
  if (w == NULL || m == NULL || s == NULL || wavelet == NULL || data == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "psfwi_wave_model_shots: missing argument");
  if (nt < 1) return psfwi_fail(err, PSFWI_EINVAL, "nt = 0 recorded samples; expected >= 1");
  if (cb && cb->snapshot && cb->snapshot_every < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "snapshot_every = 0; expected >= 1 recorded samples");
  int st = psfwi_survey_check(s, &m->grid, err);
  if (st != PSFWI_OK) return st;
  float *vel = psfwi_wave_field_alloc(w);
  float *src = malloc(nt * w->info.nsub * sizeof(float));
  if (!vel || !src) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate the velocity term and source");
    goto done;
  }
  st = psfwi_wave_vel_term(w, m, vel, err);
  if (st != PSFWI_OK) goto done;
  st = psfwi_wave_resample(w, wavelet, nt, src, err);
  if (st != PSFWI_OK) goto done;

  shots_ctx sc = {.w = w,
                  .cb = cb,
                  .nshot = s->nshot,
                  .nt = nt,
                  .steps_total = psfwi_wave_nstep(w, nt) * s->nshot};
  int nthr = w->opts.nthreads_shots > 0 ? w->opts.nthreads_shots : omp_get_max_threads();
  if ((size_t)nthr > s->nshot) nthr = (int)s->nshot;
  if (nthr < 1) nthr = 1;
  psfwi_first_error first;
  psfwi_first_error_init(&first);
#pragma omp parallel num_threads(nthr)
  {
    psfwi_error e = {PSFWI_OK, ""};
    psfwi_wave_work *ws = psfwi_wave_work_create(w, &e);
    psfwi_wave_state *state = ws ? psfwi_wave_state_create(w, &e) : NULL;
    float *snap = NULL;
    if (state && cb && cb->snapshot) {
      snap = malloc(w->info.nx * w->info.nz * sizeof(float));
      if (snap == NULL) psfwi_fail(&e, PSFWI_ENOMEM, "cannot allocate a snapshot buffer");
    }
    if (e.status != PSFWI_OK) psfwi_first_error_record(&first, &e);
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
    for (size_t is = 0; is < s->nshot; is++) {
      if (psfwi_first_error_failed(&first)) continue;
      shot_hook h = {.sc = &sc, .is = is, .last_it = 0, .snap = is == 0 ? snap : NULL};
      const size_t nrec = s->nrec;
      const int rc =
          psfwi_wave_shot(w, vel, src, nt, s->sx[is], s->sz[is], nrec, s->rx + is * nrec,
                          s->rz + is * nrec, data + is * nrec * nt, ws, state, on_sample, &h, &e);
      if (rc != PSFWI_OK) {
        psfwi_error_prefix(&e, "shot %zu", is);
        psfwi_first_error_record(&first, &e);
      } else {
        report(&sc, (psfwi_wave_nstep(w, nt) - h.last_it * w->info.nsub), 1);
      }
    }
    free(snap);
    psfwi_wave_state_destroy(state);
    psfwi_wave_work_destroy(ws);
  }
  if (first.err.status != PSFWI_OK) {
    st = first.err.status;
    if (err) *err = first.err;
  }
done:
  psfwi_wave_field_free(vel);
  free(src);
  return st;
}
