/* psfwi rnn -c CONFIG.ini [--set section.key=value ...] [--resume]: the
 * theory-guided RNN inversion (library: psfwi_rnn_run in src/invert/rnn.c).
 * Everything but the training loop is psfwi fwi's: the same keys for model,
 * data, survey, wavelet, time, propagator, bands, bounds, water and
 * regularization, the same set-up, files and resume. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi rnn -c CONFIG.ini [--set section.key=value ...] [--resume]\n"
    "                 [--stop-after N]\n"
    "Theory-guided RNN inversion: the pseudo-spectral time step as a recurrent cell whose\n"
    "weights are the velocity model (and optionally the source wavelet), trained by\n"
    "backpropagation through time with Adam, AdamW, SGD (momentum, Nesterov), RMSprop or\n"
    "Adadelta over shuffled mini-batches of shots, band after band. The [model], [data],\n"
    "[survey], [wavelet], [time], [propagator], [inversion] (bands, bounds, misfit, water,\n"
    "memory) and [regularization] keys are psfwi fwi's; [inversion] method, memory, step,\n"
    "illumination, smooth, gtol and ftol are the line-search optimiser's and not used here.\n"
    "Writes [output] model, [output] history (vp(iteration, z, x) per epoch with loss,\n"
    "learning rate, errors; the wavelet per epoch when trained) and a resumable state\n"
    "after every epoch ([output] state, default <model>.state.nc).\n"
    "  --resume        continue a killed run from its state file (byte-identical result)\n"
    "  --stop-after N  stop after N epochs as if killed (exit status 3; for tests)\n"
    "With MPI: mpirun -np K psfwi rnn -c CONFIG splits each batch's shots over K ranks\n"
    "with the same result as one rank.\n";

static const psfwi_config_key keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
    CLI_KEYS_TRAINING,
};

static void on_progress(void *ctx, const psfwi_rnn_progress *p) {
  (void)ctx;
  if (p->note) {
    fprintf(stderr, "rnn: note: %s\n", p->note);
    return;
  }
  char band[64], el[32], eta[32];
  if (p->b->f_high > 0)
    snprintf(band, sizeof band, "%zu/%zu (<= %g Hz)", p->band + 1, p->nband, p->b->f_high);
  else
    snprintf(band, sizeof band, "%zu/%zu (full)", p->band + 1, p->nband);
  cli_fmt_time(p->elapsed, el, sizeof el);
  cli_fmt_time(p->eta, eta, sizeof eta);
  fprintf(stderr,
          "rnn: epoch %3zu/%zu  band %s ep %2zu/%zu  loss %.5e  misfit %.4e  lr %.3g  |g| %.3e",
          p->row, p->rows_planned - 1, band, p->epoch, p->epochs, p->loss, p->misfit, p->lr,
          p->gradient_norm);
  if (p->time_window > 0) fprintf(stderr, "  window %.3g s", p->time_window);
  if (p->have_truth)
    fprintf(stderr, "  rmse %.1f m/s  rel %.2f %%  ssim %.4f", p->metrics.rmse, p->metrics.rel_l2,
            p->metrics.ssim);
  fprintf(stderr, "  props %zu  %s  ETA %s\n", p->propagations, el, eta);
  if (p->clamped > 0)
    fprintf(stderr,
            "rnn: note: %zu cells were projected onto the velocity bounds in this epoch "
            "(a smaller learning_rate or clip keeps them inside)\n",
            p->clamped);
}

/* [training] and the shared keys into the RNN's options. */
static int rnn_options(cli_run *R, psfwi_rnn_opts *o, psfwi_error *err) {
  const psfwi_config *cfg = R->cfg;
  const psfwi_fwi_opts *f = &R->P.fwi;
  psfwi_rnn_opts_defaults(o);
  int st = cli_sgd_options(cfg, psfwi_config_double(cfg, "training", "learning_rate"), &o->sgd,
                           &o->schedule, &o->clip, err);
  if (st != PSFWI_OK) return st;
  o->wavelet_lr = psfwi_config_double(cfg, "training", "wavelet_learning_rate");
  o->wavelet_per_shot = psfwi_config_bool(cfg, "training", "wavelet_per_shot");
  if (o->wavelet_per_shot && !(o->wavelet_lr > 0.0))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[training] wavelet_per_shot = true needs wavelet_learning_rate > 0");
  const char *par = psfwi_config_string(cfg, "training", "parameterization");
  o->param = strcmp(par, "slowness") == 0  ? PSFWI_RNN_SLOWNESS
             : strcmp(par, "sigmoid") == 0 ? PSFWI_RNN_SIGMOID
                                           : PSFWI_RNN_VELOCITY;
  o->batch_shots = psfwi_config_is_set(cfg, "training", "batch_shots")
                       ? (size_t)psfwi_config_int(cfg, "training", "batch_shots")
                       : 0;
  if (o->batch_shots > R->P.obs->survey->nshot)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "[training] batch_shots = %zu, but the survey has %zu shots", o->batch_shots,
                      R->P.obs->survey->nshot);
  o->seed = (unsigned long long)psfwi_config_int(cfg, "training", "seed");
  o->misfit = f->misfit;
  const char *loss = psfwi_config_string(cfg, "training", "loss");
  if (loss != NULL) {
    o->misfit = strcmp(loss, "l2") == 0         ? PSFWI_MISFIT_L2
                : strcmp(loss, "l1") == 0       ? PSFWI_MISFIT_L1
                : strcmp(loss, "huber") == 0    ? PSFWI_MISFIT_HUBER
                : strcmp(loss, "spectral") == 0 ? PSFWI_MISFIT_SPECTRAL
                                                : PSFWI_MISFIT_CORRELATION;
    if (o->misfit == PSFWI_MISFIT_SPECTRAL && f->nfreq == 0)
      return psfwi_fail(err, PSFWI_EKEY,
                        "[training] loss = spectral needs [inversion] frequencies");
  }
  if (o->misfit == PSFWI_MISFIT_HUBER) {
    if (!psfwi_config_is_set(cfg, "training", "huber_delta"))
      return psfwi_fail(err, PSFWI_EKEY, "[training] loss = huber needs [training] huber_delta");
    o->huber_delta = psfwi_config_double(cfg, "training", "huber_delta");
  }
  o->freqs = f->freqs;
  o->nfreq = f->nfreq;
  o->bands = f->bands;
  o->nband = f->nband;
  o->filter_order = f->filter_order;
  o->vmin = f->vmin;
  o->vmax = f->vmax;
  o->mask = f->mask;
  o->reg = f->reg;
  o->proximal = f->proximal;
  o->prox = f->prox;
  o->auto_scale = f->auto_scale;
  o->grad = f->grad;
  o->grad.data_weights = R->P.weights; /* every shot: the RNN reads obs->data whole */
  o->time_window = psfwi_config_double(cfg, "training", "time_window");
  o->time_window_growth = psfwi_config_double(cfg, "training", "time_window_growth");
  o->rank = R->P.comm.rank;
  o->nrank = R->P.comm.size;
  o->truth = R->P.truth;
  o->history_path = R->history;
  o->state_path = R->state_path;
  o->meta = &R->meta;
  o->write_files = R->P.comm.rank == 0;
  o->resume = R->resume;
  o->stop_after = R->stop_after;
  if (R->P.comm.rank == 0) o->progress = on_progress;
  return PSFWI_OK;
}

int cmd_rnn(int argc, char **argv) {
  cli_run R;
  int code;
  int st = cli_run_start(&R, "rnn", usage_text, keys, sizeof keys / sizeof keys[0], "epochs",
                         "psfwi RNN training history", argc, argv, &code);
  if (code != 0) return code < 0 ? 0 : code;
  psfwi_rnn_opts o;
  if (st == PSFWI_OK) st = rnn_options(&R, &o, &R.err);
  if (st == PSFWI_OK) {
    /* every rank holds the whole survey and data; the batches are split */
    st = psfwi_rnn_run(R.P.w, R.P.model, R.P.obs->survey, R.P.obs->wavelet, R.P.obs->nt,
                       R.P.obs->data, &o, &R.err);
    if (st == PSFWI_ENONFINITE && R.P.comm.rank == 0) {
      /* the last good model is kept: written, and the error still reported */
      psfwi_error e2 = {0};
      psfwi_meta mm = cli_meta("psfwi RNN model before a non-finite loss");
      mm.config = R.P.cfg_text;
      if (psfwi_nc_write_model(R.out, R.P.model, &mm, &e2) == PSFWI_OK)
        fprintf(stderr, "rnn: the last good model is in '%s'\n", R.out);
    }
  }
  return cli_run_finish(&R, st, "psfwi RNN final model");
}
