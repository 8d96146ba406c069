/* psfwi fwi -c CONFIG.ini [--set section.key=value ...] [--resume]: classical
 * full-waveform inversion (library: psfwi_fwi_run in src/invert/fwi.c). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi fwi -c CONFIG.ini [--set section.key=value ...] [--resume]\n"
    "                 [--stop-after N]\n"
    "Classical FWI: exact adjoint gradients, bounded L-BFGS (or CG, steepest descent),\n"
    "multiscale bands, illumination preconditioning, frozen water layer, Tikhonov / TV /\n"
    "prior regularization. Observed data from [data] observed, or synthesised from\n"
    "[model] true. Writes [output] model (the final model), [output] history\n"
    "(vp(iteration, z, x) and per-iteration objective, misfit, errors), rewritten after\n"
    "every iteration, and a resumable state ([output] state, default <model>.state.nc).\n"
    "  --resume        continue a killed run from its state file: the result is the\n"
    "                  one the uninterrupted run gives\n"
    "  --stop-after N  stop after N iterations as if killed (exit status 3; for tests)\n"
    "With MPI: mpirun -np K psfwi fwi -c CONFIG spreads the shots over K ranks.\n";

static const psfwi_config_key keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
    {"inversion", "wavelet_estimate", PSFWI_CFG_CHOICE, "none", 0, 0, "none|band|shot",
     "band: re-estimate the source wavelet at each band's start (least-squares filter from "
     "the modelled to the observed data within the band; docs/data.md), kept in the history; "
     "shot: one wavelet per shot, each from its own traces (the history keeps their mean; "
     "one MPI rank)"},
    {"inversion", "wavelet_eps", PSFWI_CFG_DOUBLE, "1e-3", 0, 1e6, NULL,
     "water level of the wavelet estimate, a fraction of the modelled data's peak power"},
    {"output", "qc", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
     "quality control: for the [output] qc_shots, writes PREFIX_band<k>_observed.nc and "
     "the gathers modelled at each band's start and end, PREFIX_band<k>_start.nc and "
     "_end.nc, filtered by the band and weighted as the misfit sees them "
     "(scripts/plot_gather.py OBSERVED --compare MODELLED draws them)"},
    {"output", "qc_shots", PSFWI_CFG_STRING, NULL, 0, 0, NULL,
     "shots of the quality-control gathers, comma-separated indices from 0 (default: the "
     "first, middle and last)"},
    {"output", "wavelet", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
     "the wavelet in use at the end (estimated with wavelet_estimate = band) as text, one "
     "sample per line: a next run's [wavelet] file"},
};

/* ---- Quality-control gathers ([output] qc) ---------------------------------------- */
typedef struct qc_ctx {
  const cli_problem *P;
  const char *prefix;
  int order;               /* the band filters' Butterworth order */
  psfwi_gather *obs, *syn; /* the chosen shots: observed and modelled */
  const float *w;          /* their data weights, or NULL */
  float *wbuf;
  psfwi_meta meta;
} qc_ctx;

static void qc_free(qc_ctx *q) {
  psfwi_gather_destroy(q->obs);
  psfwi_gather_destroy(q->syn);
  free(q->wbuf);
}

/* The chosen shots (qc_shots, or the first, middle and last) as gathers. */
static int qc_setup(qc_ctx *q, const cli_problem *P, const psfwi_config *cfg, const char *prefix,
                    const psfwi_meta *meta, psfwi_error *err) {
  memset(q, 0, sizeof *q);
  q->P = P;
  q->prefix = prefix;
  q->order = (int)psfwi_config_int(cfg, "inversion", "filter_order");
  q->meta = *meta;
  const psfwi_survey *all = P->obs->survey;
  size_t idx[64], n = 0;
  const char *list = psfwi_config_string(cfg, "output", "qc_shots");
  if (list == NULL) {
    idx[n++] = 0;
    if (all->nshot > 2) idx[n++] = all->nshot / 2;
    if (all->nshot > 1) idx[n++] = all->nshot - 1;
  } else
    for (const char *c = list; *c;) {
      char *end = NULL;
      const long v = strtol(c, &end, 10);
      if (end == c || v < 0 || (size_t)v >= all->nshot || n == 64 || (*end && *end != ','))
        return psfwi_fail(err, PSFWI_EINVAL,
                          "[output] qc_shots = '%s': expected up to 64 comma-separated shot "
                          "indices from 0 to %zu",
                          list, all->nshot - 1);
      idx[n++] = (size_t)v;
      c = *end ? end + 1 : end;
    }
  const size_t nrec = all->nrec, nt = P->obs->nt;
  psfwi_survey *sub = psfwi_survey_create(n, nrec, err);
  if (sub == NULL) return err->status;
  for (size_t i = 0; i < n; i++) {
    sub->sx[i] = all->sx[idx[i]];
    sub->sz[i] = all->sz[idx[i]];
    memcpy(sub->rx + i * nrec, all->rx + idx[i] * nrec, nrec * sizeof *sub->rx);
    memcpy(sub->rz + i * nrec, all->rz + idx[i] * nrec, nrec * sizeof *sub->rz);
  }
  q->obs = psfwi_gather_create(sub, nt, P->obs->dt, err);
  q->syn = q->obs ? psfwi_gather_create(sub, nt, P->obs->dt, err) : NULL;
  psfwi_survey_destroy(sub);
  if (q->syn == NULL) return err->status;
  if (P->weights && (q->wbuf = malloc(n * nrec * nt * sizeof *q->wbuf)) == NULL)
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the QC gathers");
  for (size_t i = 0; i < n; i++) {
    memcpy(q->obs->data + i * nrec * nt, P->obs->data + idx[i] * nrec * nt,
           nrec * nt * sizeof(float));
    if (q->wbuf)
      memcpy(q->wbuf + i * nrec * nt, P->weights + idx[i] * nrec * nt, nrec * nt * sizeof(float));
  }
  q->w = q->wbuf;
  return PSFWI_OK;
}

/* Band b's filter and the data weights on n traces, in place. */
static int qc_condition(const qc_ctx *q, size_t b, float *d, psfwi_error *err) {
  const psfwi_survey *s = q->obs->survey;
  const size_t ntr = s->nshot * s->nrec, nt = q->obs->nt;
  const psfwi_fwi_band *band = &q->P->bands[b];
  if (band->f_low > 0 || band->f_high > 0) {
    psfwi_filter_opts fo;
    psfwi_filter_opts_defaults(&fo);
    fo.f_lowcut = band->f_low;
    fo.f_highcut = band->f_high;
    fo.order = q->order;
    psfwi_filter *f = psfwi_filter_create(&fo, q->obs->dt, err);
    const int st = f ? psfwi_filter_apply(f, ntr, nt, d, err) : err->status;
    psfwi_filter_destroy(f);
    if (st != PSFWI_OK) return st;
  }
  if (q->w)
    for (size_t i = 0; i < ntr * nt; i++) d[i] *= q->w[i];
  return PSFWI_OK;
}

static int qc_band(void *ctx, size_t b, int at_end, const psfwi_model *model, const float *wavelet,
                   psfwi_error *err) {
  qc_ctx *q = ctx;
  const psfwi_survey *s = q->obs->survey;
  const size_t n = s->nshot * s->nrec * q->obs->nt;
  char path[4200];
  int st = PSFWI_OK;
  if (!at_end) { /* the band's view of the observed data */
    psfwi_gather *o = psfwi_gather_create(s, q->obs->nt, q->obs->dt, err);
    if (o == NULL) return err->status;
    memcpy(o->data, q->obs->data, n * sizeof *o->data);
    memcpy(o->wavelet, wavelet, q->obs->nt * sizeof *o->wavelet);
    snprintf(path, sizeof path, "%s_band%zu_observed.nc", q->prefix, b + 1);
    st = qc_condition(q, b, o->data, err);
    if (st == PSFWI_OK) st = psfwi_nc_write_gather(path, o, &q->meta, err);
    psfwi_gather_destroy(o);
    if (st != PSFWI_OK) return st;
  }
  st = psfwi_wave_model_shots(q->P->w, model, s, wavelet, q->obs->nt, q->syn->data, NULL, err);
  if (st == PSFWI_OK) st = qc_condition(q, b, q->syn->data, err);
  memcpy(q->syn->wavelet, wavelet, q->obs->nt * sizeof *q->syn->wavelet);
  snprintf(path, sizeof path, "%s_band%zu_%s.nc", q->prefix, b + 1, at_end ? "end" : "start");
  if (st == PSFWI_OK) st = psfwi_nc_write_gather(path, q->syn, &q->meta, err);
  if (st == PSFWI_OK) fprintf(stderr, "fwi: quality-control gathers: %s\n", path);
  return st == PSFWI_OK ? st : psfwi_error_prefix(err, "[output] qc: ");
}

static void on_progress(void *ctx, const psfwi_fwi_progress *p) {
  (void)ctx;
  char band[64], el[32], eta[32];
  if (p->b->f_high > 0)
    snprintf(band, sizeof band, "%zu/%zu (<= %g Hz)", p->band + 1, p->nband, p->b->f_high);
  else
    snprintf(band, sizeof band, "%zu/%zu (full)", p->band + 1, p->nband);
  if (p->note) {
    fprintf(stderr, "fwi: note: %s\n", p->note);
    return;
  }
  if (p->stop_reason) {
    fprintf(stderr, "fwi: band %s ends after %zu iterations: %s\n", band, p->iter, p->stop_reason);
    return;
  }
  cli_fmt_time(p->elapsed, el, sizeof el);
  cli_fmt_time(p->eta, eta, sizeof eta);
  fprintf(stderr, "fwi: iter %3zu/%zu  band %s it %2zu  obj %.5e  misfit %.4e  reg %.3e",
          p->iter_total, p->iter_planned - 1, band, p->iter, p->objective, p->misfit,
          p->regularization);
  if (p->have_truth)
    fprintf(stderr, "  rmse %.1f m/s  rel %.2f %%  ssim %.4f", p->metrics.rmse, p->metrics.rel_l2,
            p->metrics.ssim);
  fprintf(stderr, "  evals %zu  %s  ETA %s\n", p->nfev, el, eta);
}

int cmd_fwi(int argc, char **argv) {
  cli_run R;
  qc_ctx Q = {0};
  int code;
  int st = cli_run_start(&R, "fwi", usage_text, keys, sizeof keys / sizeof keys[0], NULL,
                         "psfwi FWI iteration history", argc, argv, &code);
  if (code != 0) return code < 0 ? 0 : code;
  if (st == PSFWI_OK) {
    psfwi_fwi_opts *o = &R.P.fwi;
    o->history_path = R.history;
    o->state_path = R.state_path;
    o->meta = &R.meta;
    o->resume = R.resume;
    o->stop_after = R.stop_after;
    const char *we = psfwi_config_string(R.cfg, "inversion", "wavelet_estimate");
    o->estimate_wavelet = strcmp(we, "band") == 0   ? PSFWI_FWI_WAVELET_BAND
                          : strcmp(we, "shot") == 0 ? PSFWI_FWI_WAVELET_SHOT
                                                    : PSFWI_FWI_WAVELET_NONE;
    if (o->estimate_wavelet == PSFWI_FWI_WAVELET_SHOT && R.P.comm.size > 1)
      st = psfwi_fail(&R.err, PSFWI_EUNSUPPORTED,
                      "[inversion] wavelet_estimate = shot runs on one MPI rank (the state keeps "
                      "each shot's wavelet on the rank that owns it); use band, or one rank");
    o->wavelet_eps = psfwi_config_double(R.cfg, "inversion", "wavelet_eps");
    if (R.P.comm.rank == 0) o->progress = on_progress;
    if (R.P.comm.rank == 0 && o->proximal && o->illumination)
      fprintf(stderr,
              "fwi: note: [regularization] solver = proximal works on the velocities "
              "themselves: [inversion] illumination is not used (docs/fwi.md)\n");
    const char *qc = psfwi_config_string(R.cfg, "output", "qc");
    const char *wout = psfwi_config_string(R.cfg, "output", "wavelet");
    float *wav = NULL;
    if (st == PSFWI_OK && qc != NULL && R.P.comm.rank == 0) {
      st = qc_setup(&Q, &R.P, R.cfg, qc, &R.meta, &R.err);
      o->band_hook = qc_band;
      o->band_hook_ctx = &Q;
    }
    if (st == PSFWI_OK && wout != NULL && (wav = calloc(R.P.obs->nt, sizeof *wav)) == NULL)
      st = psfwi_fail(&R.err, PSFWI_ENOMEM, "out of memory");
    o->wavelet_out = wav;
    if (st == PSFWI_OK)
      st = psfwi_fwi_run(R.P.w, R.P.model, R.P.local, R.P.obs->wavelet, R.P.obs->nt, R.P.d_local, o,
                         &R.err);
    if (st == PSFWI_OK && wav != NULL && R.P.comm.rank == 0) {
      char note[512];
      snprintf(note, sizeof note,
               "psfwi fwi: the source wavelet in use at the end, %zu samples at dt = %.9g s\n"
               "history: %s",
               R.P.obs->nt, R.P.obs->dt, cli_history ? cli_history : "psfwi fwi");
      st = psfwi_text_write_series(wout, wav, R.P.obs->nt, note, &R.err);
    }
    free(wav);
    qc_free(&Q);
  }
  return cli_run_finish(&R, st, "psfwi FWI final model");
}
