/* The objective over shots and its exact discrete-adjoint gradient, the one
 * engine of the classical FWI gradient and of the theory-guided RNN's
 * backpropagation through time: a workspace set up once per problem
 * (per-thread tapes and snapshots, source and receiver points of every shot,
 * the checkpoint plan and its revolve schedule, partial sums), evaluated per
 * model and per batch of shots: forward modelling with taped segments and
 * revolve checkpoints, misfit and adjoint source, the backward of every step
 * (psfwi_wave_step_backward), partial sums per slot reduced in a fixed
 * order, one reduction hook. */
#define _DEFAULT_SOURCE /* madvise, posix_memalign */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <omp.h>

#include "invert_internal.h"

void psfwi_gradient_opts_defaults(psfwi_gradient_opts *o) {
  memset(o, 0, sizeof *o);
  o->mem_budget_mb = 0.0;
  o->seg_len = 0;
  o->tape_stride = 1;
  o->max_recompute = 20.0;
  o->nthreads = 0;
  o->nslot = 8;
  o->reduce = NULL;
  o->reduce_ctx = NULL;
  o->data_weights = NULL;
}

/* Read-only context of one evaluation (what the threads share). */
typedef struct grad_ctx {
  const psfwi_wave *w;
  const psfwi_wave_info *in;
  size_t nrec;
  const float *d_obs;
  const float *weights; /* data weights (d_obs's layout) or NULL */
  const psfwi_misfit *mf;
  const float *vel;            /* padded vel_term */
  const float *src_fine;       /* nt * nsub */
  const float *src_fine_shots; /* per-shot wavelets: nshot * nt * nsub (NULL: src_fine) */
  double *gw_shots;            /* per-shot wavelet gradients at the internal rate, nshot * nfine */
  psfwi_wave_points *const *src, *const *rec; /* per shot of the survey */
  size_t nt, nstep, np, nxz, nfine, npack;
  size_t nt_window; /* samples entering the misfit (nt: all) */
  int want_grad, want_illum, want_wav, fwd_only;
  psfwi_checkpoint_plan plan;
  const rev_schedule *sched;
  int ftz;
} grad_ctx;

/* Storage for the tapes and snapshots: large, written once per step and
 * read once, so on Linux it asks for transparent huge pages (fewer page
 * faults when the buffer is first touched, fewer TLB misses). At least
 * 64-byte aligned: the forward writes its bracket straight into the tape
 * (psfwi_wave_step_into), and FFTW writes there without a copy when the
 * slot has the alignment of its planning arrays. */
static float *big_alloc(size_t nfloat) {
  const size_t bytes = (nfloat > 0 ? nfloat : 1) * sizeof(float);
  void *p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= ((size_t)4 << 20)) {
    if (posix_memalign(&p, (size_t)2 << 20, bytes) != 0) return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: ignore failure */
    return p;
  }
#endif
  if (posix_memalign(&p, 64, bytes) != 0) return NULL;
  return p;
}

/* Boundary memory of one state (NULL when the absorber has none). */
static float *mem_alloc(const psfwi_wave *w) {
  const size_t n = psfwi_wave_mem_floats(w);
  if (n == 0) return NULL;
  float *m = malloc(n * sizeof(float));
  if (m != NULL) memset(m, 0, n * sizeof(float));
  return m;
}

/* Per-thread buffers. */
typedef struct grad_thread {
  psfwi_wave_work *ws;
  psfwi_wave_bwork *bw;
  psfwi_wave_state st, adj; /* fields and boundary memory */
  float *g_vel;             /* padded dJ/dvel_term of the current shot */
  float *tape;              /* seg_len padded fields: lap of each taped step */
  float *snap;              /* nsnap packed states (psfwi_wave_state_save) */
  size_t *snap_pos;
  float *syn, *adjsrc; /* nrec * nt */
  float *obsw;         /* nrec * nt: observed traces cut to the time window */
  float *rbuf;         /* nrec */
  float *abar;         /* nt * nsub, dJ/d(source samples at the internal rate) */
  size_t fwd, bwd;     /* step counters */
} grad_thread;

static void thread_free(grad_thread *t) {
  psfwi_wave_work_destroy(t->ws);
  psfwi_wave_bwork_destroy(t->bw);
  psfwi_wave_field_free(t->st.prev);
  psfwi_wave_field_free(t->st.cur);
  psfwi_wave_field_free(t->adj.prev);
  psfwi_wave_field_free(t->adj.cur);
  free(t->st.mem);
  free(t->adj.mem);
  psfwi_wave_field_free(t->g_vel);
  free(t->tape);
  free(t->snap);
  free(t->snap_pos);
  free(t->syn);
  free(t->adjsrc);
  free(t->obsw);
  free(t->rbuf);
  free(t->abar);
  memset(t, 0, sizeof *t);
}

static size_t thread_bytes(const grad_ctx *c) {
  const size_t fb = c->np * sizeof(float), nrec = c->nrec;
  size_t b = psfwi_wave_bytes_per_thread(c->w); /* work (spec + lap) and the state */
  if (!c->fwd_only) {
    /* bwork, adjoint state, g_vel */
    b += psfwi_wave_bwork_bytes(c->w) + psfwi_wave_state_floats(c->w) * sizeof(float) + fb;
    b += c->plan.fields * fb;
    if (c->want_wav) b += c->nfine * sizeof(float);
  }
  b += (3 * nrec * c->nt + nrec) * sizeof(float);
  return b;
}

static int thread_alloc(const grad_ctx *c, grad_thread *t, psfwi_error *err) {
  memset(t, 0, sizeof *t);
  const psfwi_wave *w = c->w;
  const size_t nrec = c->nrec;
  t->ws = psfwi_wave_work_create(w, err);
  if (t->ws == NULL) return err ? err->status : PSFWI_ENOMEM;
  t->st.prev = psfwi_wave_field_alloc(w);
  t->st.cur = psfwi_wave_field_alloc(w);
  t->st.mem = mem_alloc(w);
  t->syn = malloc(nrec * c->nt * sizeof(float));
  t->adjsrc = malloc(nrec * c->nt * sizeof(float));
  t->obsw = malloc(nrec * c->nt * sizeof(float));
  t->rbuf = malloc(nrec * sizeof(float));
  const int need_mem = psfwi_wave_mem_floats(w) > 0;
  int ok = t->st.prev && t->st.cur && (!need_mem || t->st.mem) && t->syn && t->adjsrc && t->obsw &&
           t->rbuf;
  if (ok && !c->fwd_only) {
    t->bw = psfwi_wave_bwork_create(w, err);
    if (t->bw == NULL) {
      thread_free(t);
      return err ? err->status : PSFWI_ENOMEM;
    }
    t->adj.prev = psfwi_wave_field_alloc(w);
    t->adj.cur = psfwi_wave_field_alloc(w);
    t->adj.mem = mem_alloc(w);
    t->g_vel = psfwi_wave_field_alloc(w);
    const size_t S = c->plan.nsnap;
    const size_t KT = c->plan.fields - c->plan.snap_fields * S; /* one segment's tape */
    t->tape = big_alloc((KT > 0 ? KT : 1) * c->np);
    t->snap = S > 0 ? big_alloc(S * psfwi_wave_state_floats(w)) : NULL;
    t->snap_pos = malloc((S > 0 ? S : 1) * sizeof(size_t));
    t->abar = c->want_wav ? malloc(c->nfine * sizeof(float)) : NULL;
    ok = t->adj.prev && t->adj.cur && (!need_mem || t->adj.mem) && t->g_vel && t->tape &&
         (S == 0 || t->snap) && t->snap_pos && (!c->want_wav || t->abar);
  }
  if (!ok) {
    thread_free(t);
    return psfwi_fail(err, PSFWI_ENOMEM,
                      "cannot allocate the gradient buffers of one shot (%.1f MiB: %zu stored "
                      "wavefields of %zu x %zu)",
                      (double)thread_bytes(c) / 1048576.0, c->plan.fields, c->in->npx, c->in->npz);
  }
  return PSFWI_OK;
}

/* One shot's stepping machinery. */
typedef struct shot_run {
  const grad_ctx *c;
  grad_thread *t;
  const psfwi_wave_points *src, *rec;
  int first_sweep;
  double *part;
  const float *obs;
  const float *wts;  /* the shot's data weights or NULL */
  const float *fine; /* the shot's source samples at the internal rate */
  double J;
} shot_run;

static void record(shot_run *r, size_t it, const float *field) {
  const size_t nrec = r->c->nrec, nt = r->c->nt;
  psfwi_wave_points_record(r->rec, field, r->t->rbuf);
  for (size_t ir = 0; ir < nrec; ir++) r->t->syn[ir * nt + it] = r->t->rbuf[ir];
}

/* The adjoint of recording sample it: adj->cur += R^T adjsrc[:, it]. */
static void inject_adjoint(shot_run *r, size_t it) {
  const size_t nrec = r->c->nrec, nt = r->c->nt;
  for (size_t ir = 0; ir < nrec; ir++) r->t->rbuf[ir] = r->t->adjsrc[ir * nt + it];
  psfwi_wave_points_inject(r->rec, r->t->rbuf, 1.0f, r->t->adj.cur);
}

/* illum += u^2 dt over the model cells. */
static void illuminate(shot_run *r, const float *u) {
  const grad_ctx *c = r->c;
  const psfwi_wave_info *in = c->in;
  double *il = r->part + 1 + c->nxz;
  const double dt = in->dt;
  for (size_t iz = 0; iz < in->nz; iz++) {
    const float *row = u + (iz + in->oz) * in->npx + in->ox;
    double *o = il + iz * in->nx;
    for (size_t ix = 0; ix < in->nx; ix++) o[ix] += (double)row[ix] * (double)row[ix] * dt;
  }
}

/* Step n of the forward, its bracket taped into lap (NULL: not taped). The
 * first sweep (every step once, in order, before any backward) records the
 * traces and sums the illumination from u[n]. */
static void forward_step(shot_run *r, size_t n, float *lap) {
  const grad_ctx *c = r->c;
  if (r->first_sweep && c->want_illum) illuminate(r, r->t->st.cur);
  psfwi_wave_step_into(c->w, c->vel, &r->t->st, r->src, r->fine + n, r->t->ws, lap);
  r->t->fwd++;
  const size_t nsub = c->in->nsub;
  if (r->first_sweep && (n + 1) % nsub == 0) record(r, (n + 1) / nsub, r->t->st.cur);
}

/* J and the adjoint source of the shot's traces. With a time window W (the
 * first nt_window samples: truncated backpropagation through time) the
 * objective is J(W u, W d) and the adjoint source W^T dJ/d(W u) (W is a
 * diagonal 0/1 mask, its own transpose). */
static int shot_misfit(shot_run *r, float *adj, psfwi_error *err) {
  const grad_ctx *c = r->c;
  const size_t nrec = c->nrec, nt = c->nt, nw = c->nt_window;
  const float *obs = r->obs;
  if (nw < nt) {
    for (size_t ir = 0; ir < nrec; ir++) {
      float *sy = r->t->syn + ir * nt, *ob = r->t->obsw + ir * nt;
      memcpy(ob, obs + ir * nt, nw * sizeof *ob);
      memset(ob + nw, 0, (nt - nw) * sizeof *ob);
      memset(sy + nw, 0, (nt - nw) * sizeof *sy);
    }
    obs = r->t->obsw;
  }
  int st = psfwi_misfit_eval_w(c->mf, nrec, r->t->syn, obs, r->wts, &r->J, adj, err);
  if (st == PSFWI_OK && adj != NULL && nw < nt)
    for (size_t ir = 0; ir < nrec; ir++) memset(adj + ir * nt + nw, 0, (nt - nw) * sizeof *adj);
  return st;
}

static int misfit_and_seed(shot_run *r, psfwi_error *err) {
  const grad_ctx *c = r->c;
  int st = shot_misfit(r, c->fwd_only ? NULL : r->t->adjsrc, err);
  if (st != PSFWI_OK || c->fwd_only) return st;
  if (c->nt >= 2) inject_adjoint(r, c->nt - 1);
  return PSFWI_OK;
}

/* The tape slot of step n in the segment starting at step n0 (NULL: step n
 * is not taped). Only the steps n % ts == 0 are taped (ts = 1: all), packed
 * from the first such step of the segment. */
static float *tape_slot(const grad_ctx *c, grad_thread *t, size_t n0, size_t n) {
  const size_t ts = c->plan.tape_stride;
  if (n % ts != 0) return NULL;
  return t->tape + (n / ts - (n0 + ts - 1) / ts) * c->np;
}

/* Tape segment j forward, then run its backward. */
static int turn(shot_run *r, size_t j, psfwi_error *err) {
  const grad_ctx *c = r->c;
  grad_thread *t = r->t;
  const size_t K = c->plan.seg_len, n0 = j * K;
  const size_t n1 = n0 + K < c->nstep ? n0 + K : c->nstep, nsub = c->in->nsub;
  for (size_t n = n0; n < n1; n++) forward_step(r, n, tape_slot(c, t, n0, n));
  if (r->first_sweep) {
    r->first_sweep = 0;
    int st = misfit_and_seed(r, err);
    if (st != PSFWI_OK) return st;
  }
  for (size_t n = n1; n-- > n0;) {
    /* an untaped step (tape stride > 1) adds nothing to dJ/dvel_term */
    float *lap = tape_slot(c, t, n0, n);
    psfwi_wave_step_backward(c->w, c->vel, &t->adj, lap, c->want_grad && lap ? t->g_vel : NULL,
                             r->src, c->want_wav ? t->abar + n : NULL, t->bw);
    t->bwd++;
    if (n % nsub == 0 && n > 0) inject_adjoint(r, n / nsub);
  }
  return PSFWI_OK;
}

static int run_schedule(shot_run *r, psfwi_error *err) {
  const grad_ctx *c = r->c;
  grad_thread *t = r->t;
  const size_t K = c->plan.seg_len;
  size_t pos = 0; /* segment index of the current state */
  for (size_t i = 0; i < c->sched->n; i++) {
    const rev_action *A = &c->sched->act[i];
    switch (A->kind) {
      case REV_ADVANCE:
        for (size_t n = pos * K; n < A->arg * K; n++) forward_step(r, n, NULL);
        pos = A->arg;
        break;
      case REV_STORE: {
        psfwi_wave_state_save(c->w, &t->st, t->snap + A->arg * psfwi_wave_state_floats(c->w));
        t->snap_pos[A->arg] = pos;
        break;
      }
      case REV_RESTORE:
        if (A->arg == REV_ZERO) {
          psfwi_wave_state_zero(c->w, &t->st);
          pos = 0;
        } else {
          psfwi_wave_state_load(c->w, &t->st, t->snap + A->arg * psfwi_wave_state_floats(c->w));
          pos = t->snap_pos[A->arg];
        }
        break;
      case REV_TURN: {
        const int st = turn(r, A->arg, err);
        if (st != PSFWI_OK) return st;
        break;
      }
    }
  }
  return PSFWI_OK;
}

/* Model shot is, evaluate its misfit, and (unless forward-only) run the
 * adjoint; add J, dJ/dvel_term on the model grid, illumination and the
 * source-sample gradient into part. */
static int run_shot(const grad_ctx *c, grad_thread *t, size_t is, double *part, psfwi_error *err) {
  const size_t nrec = c->nrec;
  shot_run r = {.c = c,
                .t = t,
                .src = c->src[is],
                .rec = c->rec[is],
                .first_sweep = 1,
                .part = part,
                .obs = c->d_obs + is * nrec * c->nt,
                .wts = c->weights ? c->weights + is * nrec * c->nt : NULL,
                .fine = c->src_fine_shots ? c->src_fine_shots + is * c->nfine : c->src_fine,
                .J = 0.0};
  const unsigned saved = psfwi_wave_ftz_enter(c->ftz);
  int st = PSFWI_OK;
  psfwi_wave_state_zero(c->w, &t->st);
  record(&r, 0, t->st.cur);
  if (c->fwd_only || c->nstep == 0) {
    for (size_t n = 0; n < c->nstep; n++) forward_step(&r, n, NULL);
    st = shot_misfit(&r, NULL, err);
  } else {
    psfwi_wave_state_zero(c->w, &t->adj);
    if (c->want_grad) memset(t->g_vel, 0, c->np * sizeof(float));
    if (c->want_wav) memset(t->abar, 0, c->nfine * sizeof(float));
    st = run_schedule(&r, err);
  }
  psfwi_wave_ftz_restore(saved);
  if (st == PSFWI_OK) {
    part[0] += r.J;
    if (c->want_grad && !c->fwd_only && c->nstep > 0) {
      /* a tape stride ts samples the sum over steps every ts-th step: the
       * rectangle rule, ts times each sample */
      const size_t ts = c->plan.tape_stride;
      if (ts > 1)
        for (size_t i = 0; i < c->np; i++) t->g_vel[i] *= (float)ts;
      psfwi_wave_pad_adjoint(c->w, t->g_vel, part + 1); /* P^T of the velocity term */
    }
    if (c->want_wav && !c->fwd_only && c->nstep > 0) {
      /* one wavelet: summed over shots; one per shot: kept per shot */
      double *fw = c->gw_shots ? c->gw_shots + is * c->nfine : part + 1 + 2 * c->nxz;
      for (size_t n = 0; n < c->nfine; n++) fw[n] += (double)t->abar[n];
    }
  }
  return st;
}

/* ---- The workspace ------------------------------------------------------------- */

struct psfwi_gradient_ws {
  const psfwi_wave *w;
  psfwi_gradient_opts o;
  unsigned want; /* what it was made for (PSFWI_GRADIENT_WANT_*) */
  size_t nshot, nrec, nt;
  grad_ctx c; /* the shared fields; per-evaluation ones set by eval */
  psfwi_wave_points **src, **rec;
  int nthr;
  grad_thread *threads; /* nthr */
  float *vel, *src_fine;
  float *src_fine_shots; /* PER_SHOT: nshot * nfine */
  double *gw_shots;      /* PER_SHOT: nshot * nfine */
  double *gw_pack;       /* PER_SHOT: a batch's gradients packed for the reduce hook */
  double *parts;         /* nslot_max * npack */
  size_t *counts;        /* 2 * nslot_max */
  size_t nslot_max;
  size_t *all; /* 0 .. nshot - 1 */
  rev_schedule sched;
};

/* Threads working on a batch of n shots: at most one per slot. */
static int threads_for(const psfwi_gradient_ws *ws, size_t n) {
  const size_t nslot = ws->o.nslot < n ? ws->o.nslot : n;
  int nthr = ws->nthr;
  if ((size_t)nthr > nslot) nthr = (int)nslot;
  return nthr < 1 ? 1 : nthr;
}

void psfwi_gradient_ws_destroy(psfwi_gradient_ws *ws) {
  if (ws == NULL) return;
  for (int k = 0; ws->threads && k < ws->nthr; k++) thread_free(&ws->threads[k]);
  free(ws->threads);
  for (size_t is = 0; is < ws->nshot; is++) {
    if (ws->src) psfwi_wave_points_destroy(ws->src[is]);
    if (ws->rec) psfwi_wave_points_destroy(ws->rec[is]);
  }
  free(ws->src);
  free(ws->rec);
  psfwi_revolve_free_(&ws->sched);
  psfwi_wave_field_free(ws->vel);
  free(ws->src_fine);
  free(ws->src_fine_shots);
  free(ws->gw_shots);
  free(ws->gw_pack);
  free(ws->parts);
  free(ws->counts);
  free(ws->all);
  free(ws);
}

static int check_opts(const psfwi_gradient_opts *o, psfwi_error *err) {
  if (o->nslot < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "gradient nslot = 0; expected >= 1 partial sums");
  if (!(o->max_recompute > 0.0) || isnan(o->max_recompute))
    return psfwi_fail(err, PSFWI_ERANGE, "gradient max_recompute = %g; expected > 0",
                      o->max_recompute);
  if (!isfinite(o->mem_budget_mb))
    return psfwi_fail(err, PSFWI_ERANGE, "gradient mem_budget_mb = %g; expected finite",
                      o->mem_budget_mb);
  return PSFWI_OK;
}

psfwi_gradient_ws *psfwi_gradient_ws_create(const psfwi_wave *w, const psfwi_survey *s, size_t nt,
                                            unsigned want, const psfwi_gradient_opts *opts,
                                            psfwi_error *err) {
  if (w == NULL || s == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "gradient workspace: propagator and survey are required");
    return NULL;
  }
  if (nt < 1) {
    psfwi_fail(err, PSFWI_EINVAL, "nt = 0 recorded samples; expected >= 1");
    return NULL;
  }
  if (s->nrec < 1 || s->nshot < 1) {
    psfwi_fail(err, PSFWI_EINVAL, "survey with %zu shots and %zu receivers; expected >= 1 of each",
               s->nshot, s->nrec);
    return NULL;
  }
  psfwi_gradient_opts o;
  if (opts)
    o = *opts;
  else
    psfwi_gradient_opts_defaults(&o);
  if (check_opts(&o, err) != PSFWI_OK) return NULL;
  psfwi_gradient_ws *ws = calloc(1, sizeof *ws);
  if (ws == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "out of memory for a gradient workspace");
    return NULL;
  }
  const psfwi_wave_info *in = psfwi_wave_get_info(w);
  ws->w = w;
  ws->o = o;
  ws->want = want;
  ws->nshot = s->nshot;
  ws->nrec = s->nrec;
  ws->nt = nt;
  grad_ctx *c = &ws->c;
  c->w = w;
  c->in = in;
  c->nrec = s->nrec;
  c->nt = nt;
  c->nstep = psfwi_wave_nstep(w, nt);
  c->np = in->npx * in->npz;
  c->nxz = in->nx * in->nz;
  c->nfine = nt * in->nsub;
  c->npack = 1 + 2 * c->nxz + c->nfine;
  c->want_grad = (want & PSFWI_GRADIENT_WANT_GRAD) != 0;
  c->want_illum = (want & PSFWI_GRADIENT_WANT_ILLUM) != 0;
  c->want_wav = (want & PSFWI_GRADIENT_WANT_WAVELET) != 0;
  c->fwd_only = !c->want_grad && !c->want_illum && !c->want_wav;
  c->ftz = psfwi_wave_get_opts(w)->ftz;
  c->sched = &ws->sched;

  int nthr = o.nthreads > 0 ? o.nthreads : psfwi_wave_get_opts(w)->nthreads_shots;
  if (nthr <= 0) nthr = omp_get_max_threads();
  ws->nslot_max = o.nslot < s->nshot ? o.nslot : s->nshot;
  if ((size_t)nthr > ws->nslot_max) nthr = (int)ws->nslot_max;
  if (nthr < 1) nthr = 1;
  ws->nthr = nthr;

  int st = PSFWI_OK;
  ws->vel = psfwi_wave_field_alloc(w);
  ws->src_fine = malloc(c->nfine * sizeof(float));
  if (want & PSFWI_GRADIENT_PER_SHOT_WAVELETS) {
    ws->src_fine_shots = malloc(s->nshot * c->nfine * sizeof(float));
    ws->gw_shots = calloc(s->nshot * c->nfine, sizeof(double));
    ws->gw_pack = calloc(s->nshot * c->nfine, sizeof(double));
    if (!ws->src_fine_shots || !ws->gw_shots || !ws->gw_pack) {
      psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate the per-shot wavelets of %zu shots", s->nshot);
      goto fail;
    }
  }
  ws->parts = calloc(ws->nslot_max * c->npack, sizeof(double));
  ws->counts = calloc(2 * ws->nslot_max, sizeof(size_t));
  ws->all = malloc(s->nshot * sizeof(size_t));
  ws->src = calloc(s->nshot, sizeof *ws->src);
  ws->rec = calloc(s->nshot, sizeof *ws->rec);
  ws->threads = calloc((size_t)nthr, sizeof *ws->threads);
  if (!ws->vel || !ws->src_fine || !ws->parts || !ws->counts || !ws->all || !ws->src || !ws->rec ||
      !ws->threads) {
    st = psfwi_fail(err, PSFWI_ENOMEM,
                    "cannot allocate the gradient's shared buffers "
                    "(%zu slots of %zu values)",
                    ws->nslot_max, c->npack);
    goto fail;
  }
  for (size_t is = 0; is < s->nshot; is++) {
    ws->all[is] = is;
    ws->src[is] = psfwi_wave_points_create(w, 1, &s->sx[is], &s->sz[is], "source", err);
    ws->rec[is] = ws->src[is] ? psfwi_wave_points_create(w, s->nrec, s->rx + is * s->nrec,
                                                         s->rz + is * s->nrec, "receiver", err)
                              : NULL;
    if (ws->rec[is] == NULL) {
      st = psfwi_error_prefix(err, "shot %zu", is);
      goto fail;
    }
  }

  /* memory plan and schedule, shared by all shots */
  if (!c->fwd_only && o.tape_stride > 1 &&
      (double)o.tape_stride * in->dt > (1.0 + 1e-9) / (2.0 * in->fmax)) {
    const size_t smax = (size_t)floor((1.0 + 1e-9) / (2.0 * in->fmax * in->dt));
    st = psfwi_fail(err, PSFWI_ERANGE,
                    "gradient tape stride %zu ([inversion] tape_stride): the taped interval "
                    "%.4g ms exceeds 1 / (2 fmax) = %.4g ms of the propagator's fmax = %g Hz "
                    "(the correlation of two fields up to fmax aliases); expected at most %zu "
                    "internal steps of %.4g ms",
                    o.tape_stride, (double)o.tape_stride * in->dt * 1e3, 500.0 / in->fmax, in->fmax,
                    smax > 0 ? smax : 1, in->dt * 1e3);
    goto fail;
  }
  if (!c->fwd_only) {
    size_t max_fields = SIZE_MAX;
    if (o.mem_budget_mb > 0.0) {
      const double per_shot = o.mem_budget_mb * 1048576.0 / (double)nthr;
      const double f = floor(per_shot / ((double)c->np * sizeof(float)));
      max_fields = f >= (double)SIZE_MAX / 2 ? SIZE_MAX : (size_t)f;
    }
    const size_t sfl = psfwi_wave_state_floats(w);
    st = psfwi_checkpoint_plan_make(c->nstep, max_fields, o.seg_len, o.tape_stride, o.max_recompute,
                                    (sfl + c->np - 1) / c->np, &c->plan, err);
    if (st != PSFWI_OK) {
      psfwi_error_prefix(err, "gradient memory budget %g MiB over %d thread(s)", o.mem_budget_mb,
                         nthr);
      goto fail;
    }
    st = psfwi_revolve_build_(c->plan.nseg, c->plan.nsnap + 1, &ws->sched, err);
    if (st != PSFWI_OK) goto fail;
  } else {
    c->plan.nstep = c->nstep;
  }
  /* Everything the threads will hold, against the memory limit, before they
   * allocate it. */
  {
    char detail[256];
    snprintf(detail, sizeof detail,
             "%d shot(s) at once, each keeping %zu wavefields of %zu x %zu cells%s", nthr,
             c->plan.fields, in->npx, in->npz,
             c->fwd_only ? ""
             : o.mem_budget_mb > 0.0
                 ? "; lower the memory budget ([inversion] memory_mb) or the threads"
                 : "; set a memory budget ([inversion] memory_mb) to checkpoint instead");
    st = psfwi_mem_check((double)nthr * (double)thread_bytes(c) +
                             (double)psfwi_wave_bytes_shared(w) +
                             (double)(ws->nslot_max * c->npack) * sizeof(double),
                         "the gradient", detail, err);
    if (st != PSFWI_OK) goto fail;
  }
  /* Per-thread buffers, each allocated (first touched) by its own thread. */
  psfwi_first_error first;
  psfwi_first_error_init(&first);
#pragma omp parallel num_threads(nthr)
  {
    psfwi_error e = {PSFWI_OK, ""};
    const int k = omp_get_thread_num();
    if (k < nthr && thread_alloc(c, &ws->threads[k], &e) != PSFWI_OK)
      psfwi_first_error_record(&first, &e);
  }
  /* a team smaller than asked for (OMP_THREAD_LIMIT, say): the rest here */
  for (int k = 0; k < nthr && first.err.status == PSFWI_OK; k++) {
    psfwi_error e = {PSFWI_OK, ""};
    if (ws->threads[k].ws == NULL && thread_alloc(c, &ws->threads[k], &e) != PSFWI_OK)
      first.err = e;
  }
  if (first.err.status != PSFWI_OK) {
    st = first.err.status;
    if (err) *err = first.err;
    goto fail;
  }
  return ws;
fail:
  (void)st;
  psfwi_gradient_ws_destroy(ws);
  return NULL;
}

size_t psfwi_gradient_ws_nshot(const psfwi_gradient_ws *ws) { return ws->nshot; }

static int check_eval(const psfwi_gradient_ws *ws, const psfwi_model *m, const float *wavelet,
                      const float *d_obs, const psfwi_misfit *mf, const double *J,
                      const psfwi_gradient_batch *b, unsigned asked, psfwi_error *err) {
  if (m == NULL || wavelet == NULL || d_obs == NULL || mf == NULL || J == NULL)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "psfwi_gradient: propagator, model, survey, wavelet, observed data, "
                      "misfit and J are required");
  const psfwi_wave_info *in = psfwi_wave_get_info(ws->w);
  const size_t nt = ws->nt;
  if (psfwi_misfit_nt(mf) != nt || fabs(psfwi_misfit_dt(mf) - in->dt_out) > 1e-9 * in->dt_out)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "misfit made for %zu samples at %g s, but the data have %zu samples at "
                      "dt_out = %g s",
                      psfwi_misfit_nt(mf), psfwi_misfit_dt(mf), nt, in->dt_out);
  if ((asked & ~ws->want) != 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "gradient workspace made for outputs %u, asked for %u (make it with "
                      "every output it will give)",
                      ws->want, asked);
  if (b != NULL) {
    if (b->nt_window > nt)
      return psfwi_fail(err, PSFWI_ERANGE, "time window of %zu samples; the data have %zu",
                        b->nt_window, nt);
    for (size_t k = 0; b->shots && k < b->nshots; k++)
      if (b->shots[k] >= ws->nshot)
        return psfwi_fail(err, PSFWI_ERANGE, "batch shot %zu of a survey of %zu shots", b->shots[k],
                          ws->nshot);
    if (b->shots != NULL && b->nshots == 0)
      return psfwi_fail(err, PSFWI_EINVAL, "an empty batch of shots");
    if (b->nrank > 1 && (b->rank < 0 || b->rank >= b->nrank))
      return psfwi_fail(err, PSFWI_EINVAL, "rank %d of %d", b->rank, b->nrank);
  }
  return PSFWI_OK;
}

int psfwi_gradient_ws_eval(psfwi_gradient_ws *ws, const psfwi_model *m, const float *wavelet,
                           const float *d_obs, const psfwi_misfit *mf,
                           const psfwi_gradient_batch *batch, double *J, double *grad,
                           double *illum, double *grad_wavelet, psfwi_gradient_stats *stats,
                           psfwi_error *err) {
  const double t0 = psfwi_seconds();
  const int per_shot = batch != NULL && batch->wavelets != NULL;
  double *grad_wavelets = per_shot ? batch->grad_wavelets : NULL;
  const unsigned asked = (grad ? PSFWI_GRADIENT_WANT_GRAD : 0u) |
                         (illum ? PSFWI_GRADIENT_WANT_ILLUM : 0u) |
                         (grad_wavelet || grad_wavelets ? PSFWI_GRADIENT_WANT_WAVELET : 0u) |
                         (per_shot ? PSFWI_GRADIENT_PER_SHOT_WAVELETS : 0u);
  if (per_shot && grad_wavelet != NULL)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "gradient: per-shot wavelets give per-shot gradients (batch "
                      "grad_wavelets), not one grad_wavelet");
  int st = check_eval(ws, m, wavelet, d_obs, mf, J, batch, asked, err);
  if (st != PSFWI_OK) return st;
  const size_t nt = ws->nt, nrec = ws->nrec;
  const size_t *shots = batch && batch->shots ? batch->shots : ws->all;
  const size_t nshots = batch && batch->shots ? batch->nshots : ws->nshot;
  for (size_t k = 0; k < nshots; k++) {
    const float *d = d_obs + shots[k] * nrec * nt;
    for (size_t i = 0; i < nrec * nt; i++)
      if (!isfinite(d[i]))
        return psfwi_fail(err, PSFWI_ENONFINITE,
                          "observed data: shot %zu receiver %zu sample %zu is not finite (%g)",
                          shots[k], i / nt, i % nt, (double)d[i]);
  }
  const psfwi_wave *w = ws->w;
  grad_ctx c = ws->c;
  c.d_obs = d_obs;
  c.weights = ws->o.data_weights;
  c.mf = mf;
  c.vel = ws->vel;
  c.src_fine = ws->src_fine;
  c.src_fine_shots = per_shot ? ws->src_fine_shots : NULL;
  c.gw_shots = grad_wavelets ? ws->gw_shots : NULL;
  c.src = ws->src;
  c.rec = ws->rec;
  c.nt_window = batch && batch->nt_window > 0 ? batch->nt_window : nt;
  c.want_grad = grad != NULL;
  c.want_illum = illum != NULL;
  c.want_wav = grad_wavelet != NULL || grad_wavelets != NULL;
  c.fwd_only = !c.want_grad && !c.want_illum && !c.want_wav;
  const int nthr = threads_for(ws, nshots);
  const size_t nslot = ws->o.nslot < nshots ? ws->o.nslot : nshots;
  const int nrank = batch && batch->nrank > 1 ? batch->nrank : 1;
  const int rank = nrank > 1 ? batch->rank : 0;
  memset(ws->parts, 0, nslot * c.npack * sizeof(double));
  memset(ws->counts, 0, 2 * nslot * sizeof(size_t));
  double *parts = ws->parts;
  size_t *counts = ws->counts;

  st = psfwi_wave_vel_term(w, m, ws->vel, err);
  if (st != PSFWI_OK) return st;
  st = psfwi_wave_resample(w, wavelet, nt, ws->src_fine, err);
  if (st != PSFWI_OK) return st;
  for (size_t k = 0; per_shot && k < nshots; k++) {
    const size_t is = shots[k];
    st = psfwi_wave_resample(w, batch->wavelets + is * nt, nt, ws->src_fine_shots + is * c.nfine,
                             err);
    if (st != PSFWI_OK) return psfwi_error_prefix(err, "wavelet of shot %zu", is);
    if (grad_wavelets) memset(ws->gw_shots + is * c.nfine, 0, c.nfine * sizeof(double));
  }

  psfwi_first_error first;
  psfwi_first_error_init(&first);
#pragma omp parallel num_threads(nthr)
  {
    psfwi_error e = {PSFWI_OK, ""};
    grad_thread *t = &ws->threads[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
    for (size_t k = 0; k < nslot; k++) {
      if (psfwi_first_error_failed(&first)) continue;
      if (nrank > 1 && k % (size_t)nrank != (size_t)rank) continue; /* another rank's slot */
      t->fwd = t->bwd = 0;
      for (size_t j = k; j < nshots; j += nslot) {
        const size_t is = shots[j];
        const int r = run_shot(&c, t, is, parts + k * c.npack, &e);
        if (r != PSFWI_OK) {
          psfwi_error_prefix(&e, "shot %zu", is);
          psfwi_first_error_record(&first, &e);
          break;
        }
      }
      counts[2 * k] = t->fwd;
      counts[2 * k + 1] = t->bwd;
    }
  }
  if (first.err.status != PSFWI_OK) {
    if (err) *err = first.err;
    return first.err.status;
  }
  /* the fixed-order reduction of the slots, and the external one: after it
   * (each process summed its shots), or, with slots owned by ranks, before
   * it over every slot (each slot comes from one rank, so the sum is exact
   * and the slots then add up as in one process, bit for bit) */
  if (ws->o.reduce && nrank > 1) {
    st = ws->o.reduce(ws->o.reduce_ctx, parts, nslot * c.npack, err);
    if (st != PSFWI_OK) return st;
  }
  for (size_t k = 1; k < nslot; k++) {
    const double *p = parts + k * c.npack;
    for (size_t i = 0; i < c.npack; i++) parts[i] += p[i];
  }
  if (ws->o.reduce && nrank <= 1) {
    st = ws->o.reduce(ws->o.reduce_ctx, parts, c.npack, err);
    if (st != PSFWI_OK) return st;
  }
  *J = parts[0];
  if (grad) psfwi_wave_vel_term_chain(w, m, parts + 1, grad);
  if (illum) memcpy(illum, parts + 1 + c.nxz, c.nxz * sizeof(double));
  if (grad_wavelets) {
    /* each shot's gradient comes from one process: pack, sum over the
     * processes (exact), then the resampling's transpose per shot */
    double *pack = ws->gw_pack;
    for (size_t k = 0; k < nshots; k++)
      memcpy(pack + k * c.nfine, ws->gw_shots + shots[k] * c.nfine, c.nfine * sizeof(double));
    if (ws->o.reduce) {
      st = ws->o.reduce(ws->o.reduce_ctx, pack, nshots * c.nfine, err);
      if (st != PSFWI_OK) return st;
    }
    float *fine = ws->src_fine, *wv = ws->threads[0].obsw;
    for (size_t k = 0; k < nshots && st == PSFWI_OK; k++) {
      for (size_t n = 0; n < c.nfine; n++) fine[n] = (float)pack[k * c.nfine + n];
      st = psfwi_wave_resample_adjoint(w, fine, nt, wv, err);
      for (size_t i = 0; i < nt && st == PSFWI_OK; i++)
        grad_wavelets[shots[k] * nt + i] = (double)wv[i];
    }
    if (st != PSFWI_OK) return st;
  }
  if (grad_wavelet) {
    /* scratch that is free now: src_fine (nfine floats, remade by every
     * evaluation) and the first thread's windowed-data buffer (>= nt floats) */
    float *fine = ws->src_fine, *wv = ws->threads[0].obsw;
    for (size_t n = 0; n < c.nfine; n++) fine[n] = (float)parts[1 + 2 * c.nxz + n];
    st = psfwi_wave_resample_adjoint(w, fine, nt, wv, err);
    for (size_t i = 0; i < nt && st == PSFWI_OK; i++) grad_wavelet[i] = (double)wv[i];
    if (st != PSFWI_OK) return st;
  }
  if (stats) {
    memset(stats, 0, sizeof *stats);
    stats->plan = c.plan;
    stats->nthreads = (size_t)nthr;
    for (size_t k = 0; k < nslot; k++) {
      stats->fwd_steps += counts[2 * k];
      stats->bwd_steps += counts[2 * k + 1];
    }
    const double ref = (double)nshots * (double)c.nstep;
    stats->recompute_ratio = ref > 0.0 ? (double)stats->fwd_steps / ref : 0.0;
    stats->bytes_storage = c.fwd_only ? 0 : c.plan.fields * c.np * sizeof(float);
    stats->bytes_per_thread = thread_bytes(&c);
    stats->bytes_total = stats->bytes_per_thread * (size_t)ws->nthr + psfwi_wave_bytes_shared(w) +
                         (c.np + c.nfine) * sizeof(float) +
                         ws->nslot_max * c.npack * sizeof(double) +
                         ws->sched.cap * sizeof(rev_action);
    stats->seconds = psfwi_seconds() - t0;
  }
  return PSFWI_OK;
}

int psfwi_gradient(const psfwi_wave *w, const psfwi_model *m, const psfwi_survey *s,
                   const float *wavelet, size_t nt, const float *d_obs, const psfwi_misfit *mf,
                   const psfwi_gradient_opts *opts, double *J, double *grad, double *illum,
                   double *grad_wavelet, psfwi_gradient_stats *stats, psfwi_error *err) {
  const double t0 = psfwi_seconds();
  if (w == NULL || m == NULL || s == NULL || wavelet == NULL || d_obs == NULL || mf == NULL ||
      J == NULL)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "psfwi_gradient: propagator, model, survey, wavelet, observed data, "
                      "misfit and J are required");
  int st = psfwi_survey_check(s, &m->grid, err);
  if (st != PSFWI_OK) return st;
  const unsigned want = (grad ? PSFWI_GRADIENT_WANT_GRAD : 0u) |
                        (illum ? PSFWI_GRADIENT_WANT_ILLUM : 0u) |
                        (grad_wavelet ? PSFWI_GRADIENT_WANT_WAVELET : 0u);
  psfwi_gradient_ws *ws = psfwi_gradient_ws_create(w, s, nt, want, opts, err);
  if (ws == NULL) return err ? err->status : PSFWI_ENOMEM;
  st = psfwi_gradient_ws_eval(ws, m, wavelet, d_obs, mf, NULL, J, grad, illum, grad_wavelet, stats,
                              err);
  psfwi_gradient_ws_destroy(ws);
  if (st == PSFWI_OK && stats) stats->seconds = psfwi_seconds() - t0;
  return st;
}
