/* psfwi learn: the data-driven DNN inversion (issue 12). It sits above nn/
 * (the engine), optim/ (the steps), wave/ (the modelling of training data)
 * and eval/ (metrics); below cli/. io/ writes its files.
 *
 * 1. Pseudo-spectral features (features.c). A survey's traces become
 *    Fourier coefficients at selected frequencies (FFTW r2c of each whole
 *    trace, length nt; the coefficient of the nearest bin, so the frequency
 *    used is round(f nt dt) / (nt dt)), normalised per shot by the RMS of
 *    that shot's coefficients (all receivers and frequencies), as real and
 *    imaginary parts or as log-amplitude and phase. They are laid out as a
 *    1-D image (channels, positions) for a Conv1D network that runs along x:
 *      - whole-model mode: position = receiver, channel =
 *        (shot * nfreq + f) * 2 + part (part 0 re / log-amplitude, 1 im /
 *        phase); the network predicts vp(z, x) of a model with one column
 *        per receiver (OpenFWI-like small grids);
 *      - profile mode (the thesis): position = midpoint bin j at
 *        x = x0 + j dx of the model grid (a trace with source sx and
 *        receiver rx goes to bin round(((sx + rx) / 2 - x0) / dx)), channel =
 *        (offset_bin * nfreq + f) * 2 + part, offset bin round((rx - sx -
 *        offset_min) / offset_step); several traces in one cell are
 *        averaged, an empty cell is zero. The network predicts the profile
 *        v(z) under each position; being convolutional along x, a network
 *        trained on narrow synthetic models runs on a model of any width
 *        (Marmousi included) with the same acquisition.
 *    Precisely (features.c): C = sum_n d[n] exp(-2 pi i k n / nt), FFTW's
 *    forward sign, k = round(f nt dt) (0 < k <= nt / 2 and f <= 1 / (2 dt),
 *    else PSFWI_ERANGE; two frequencies in one bin are PSFWI_EINVAL);
 *    per shot, rms = sqrt(sum |C|^2 / (nrec nfreq)) over its receivers and
 *    frequencies and C <- C / rms (an all-zero shot stays 0). Parts: reim
 *    gives (Re C, Im C); ampphase gives (log(PSFWI_LEARN_AMP_EPS + |C|),
 *    atan2(Im C, Re C)), the natural log of the normalised amplitude and
 *    the phase in (-pi, pi] (a zero coefficient reads (log eps, 0)).
 *    Profile mode averages the normalised complex coefficients of a cell
 *    before taking parts; a cell with no trace is 0 in every part; traces
 *    whose midpoint or offset bin falls outside the positions or the
 *    noffset bins are not used. Here round(x) is floor(x + 0.5) (halves
 *    go up, also for negative x).
 *    The target of a sample is vp(z, x) scaled to [-1, 1] by the data set's
 *    velocity range: t = 2 (v - vmin) / (vmax - vmin) - 1 (OpenFWI's
 *    normalisation), laid out t[iz * nx + ix] = a (nz, 1, nx) tensor.
 *
 * 2. The acquisition a network was trained for (psfwi_learn_acq): checked
 *    field by field against the data given to predict.
 *
 * Status codes: those of core. Errors name the field or key. */
#ifndef PSFWI_LEARN_H
#define PSFWI_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "psfwi_core.h"
#include "psfwi_model.h"
#include "psfwi_nn.h"
#include "psfwi_optim.h"
#include "psfwi_wave.h"

#define PSFWI_LEARN_MAX_FREQ 64
/* eps of the log-amplitude log(eps + |C|) of normalised coefficients
 * (|C| ~ 1 on average): amplitudes 1e-4 below a shot's RMS and smaller
 * all read about log(1e-4) = -9.2. */
#define PSFWI_LEARN_AMP_EPS  1e-4

enum psfwi_learn_mode { PSFWI_LEARN_WHOLE = 0, PSFWI_LEARN_PROFILE = 1 };
enum psfwi_learn_part { PSFWI_LEARN_REIM = 0, PSFWI_LEARN_AMPPHASE = 1 };
const char *psfwi_learn_mode_name(int mode);   /* "whole" | "profile" ("unknown" otherwise) */
const char *psfwi_learn_parts_name(int parts); /* "reim" | "ampphase" ("unknown" otherwise) */
/* Name -> value; PSFWI_EINVAL naming the text and the choices. */
int psfwi_learn_mode_parse(const char *name, int *mode, psfwi_error *err);
int psfwi_learn_parts_parse(const char *name, int *parts, psfwi_error *err);

/* What the features are and the acquisition they come from. Everything a
 * network file stores to refuse data it was not trained for. */
typedef struct psfwi_learn_acq {
  int mode;                          /* enum psfwi_learn_mode */
  int parts;                         /* enum psfwi_learn_part */
  size_t nfreq;                      /* 1..PSFWI_LEARN_MAX_FREQ */
  double freq[PSFWI_LEARN_MAX_FREQ]; /* Hz, as asked (the bin used is the nearest) */
  size_t nt;                         /* samples per trace */
  double dt;                         /* s */
  double f_peak;                     /* Hz, Ricker peak frequency (0: wavelet from a file) */
  size_t nshot, nrec;                /* whole mode: exact; profile: informative only */
  double dx, dz;                     /* m, model grid spacing of the targets */
  size_t nz;                         /* depth samples of the targets */
  double z0;                         /* m, depth of the first target row */
  double source_z, receiver_z;       /* m (first shot; informative in profile mode) */
  double offset_min, offset_step;    /* m, profile mode */
  size_t noffset;                    /* profile mode */
  /* whole mode: FNV-1a of every (sx, sz, rx, rz) relative to the model
   * origin, each rounded to whole micrometres (int64, trace order); 0 in
   * profile mode */
  uint64_t geometry_hash;
} psfwi_learn_acq;

/* Channels per position: nshot (whole) or noffset (profile) x nfreq x 2. */
size_t psfwi_learn_channels(const psfwi_learn_acq *a);
/* PSFWI_EINVAL naming the first field where `data` differs from `net`
 * (relative tolerance 1e-6 on reals), with both values:
 * "the data's sample interval dt = 0.002 s differs from the network's
 * 0.001 s (it was trained for another acquisition)". `what` names the data. */
int psfwi_learn_acq_compare(const psfwi_learn_acq *net, const psfwi_learn_acq *data,
                            const char *what, psfwi_error *err);
/* The same field-by-field check between any two acquisitions, worded with
 * their names: "<name_b> has sample interval dt = 0.002 s where <name_a>
 * has 0.001 s" (data sets that must not mix). PSFWI_OK when equal.
 * Fields that are informative in profile mode (nshot, nrec, source_z,
 * receiver_z) and the hash are compared in whole mode only, the offsets
 * in profile mode only. */
int psfwi_learn_acq_diff(const psfwi_learn_acq *a, const psfwi_learn_acq *b, const char *name_a,
                         const char *name_b, psfwi_error *err);

/* The acquisition as INI-like text "key = value" lines (malloc'ed; what
 * network and data-set files store in their psfwi_acquisition attribute)
 * and its parse (PSFWI_EFORMAT naming `origin` and the key for a missing
 * or malformed line; unknown keys are errors too). */
char *psfwi_learn_acq_text(const psfwi_learn_acq *a);
int psfwi_learn_acq_parse(const char *text, const char *origin, psfwi_learn_acq *a,
                          psfwi_error *err);

/* ---- Features --------------------------------------------------------------- */
typedef struct psfwi_features psfwi_features;

/* Plan the features of survey s (its geometry, nt samples at dt) on grid g
 * (profile mode: the positions are g's columns; whole mode: nrec must equal
 * g->nx). a->mode, parts, nfreq, freq, offsets are read; the other fields of
 * a are filled from s, g, nt, dt (f_peak is left as given; in whole mode
 * the offsets are set to 0). Frequencies above the Nyquist frequency, or
 * whose bin is 0, are PSFWI_ERANGE; profile mode needs offset_step > 0 and
 * noffset >= 1 (PSFWI_ERANGE). Plans one FFTW r2c of nrec traces
 * (FFTW_ESTIMATE). FFTW's planner is not thread-safe by itself: this calls
 * fftwf_make_planner_thread_safe() first (as wave/ does), so features may
 * be created in several threads. */
psfwi_features *psfwi_features_create(psfwi_learn_acq *a, const psfwi_survey *s,
                                      const psfwi_grid *g, size_t nt, double dt, psfwi_error *err);
void psfwi_features_destroy(psfwi_features *f);
size_t psfwi_features_channels(const psfwi_features *f);
size_t psfwi_features_width(const psfwi_features *f); /* positions */
/* The features of data[(is * nrec + ir) * nt + it] into
 * out[c * width + j] (channels x width floats). Not thread-safe on one f
 * (it holds the FFT buffers); use one f per thread. PSFWI_ENONFINITE for a
 * NaN in the data. A shot whose coefficients are all zero stays zero. */
int psfwi_features_compute(psfwi_features *f, const float *data, float *out, psfwi_error *err);
/* Noisy inputs for robustness tests (psfwi dnn test --noise): white
 * Gaussian noise added to the n non-zero entries of x[n_all] (a zero entry is
 * a cell without a trace and stays zero), with standard deviation sigma =
 * rms(non-zero entries) 10^(-snr_db / 20), so the expected signal-to-noise
 * ratio of those entries is snr_db. Reproducible from seed (splitmix64,
 * Box-Muller). *sigma (may be NULL) receives sigma; all-zero x is left as
 * it is (sigma 0). */
void psfwi_features_add_noise(float *x, size_t n_all, double snr_db, unsigned long long seed,
                              double *sigma);

/* ---- Training samples (dataset.c) -------------------------------------------
 * Sample i of a data set: a model drawn from the synthetic families
 * (src/model) with seed psfwi_mix64(seed + i), so any sample can be made
 * again alone (resume, checks); its survey modelled with the propagator
 * (shots in parallel); its features and its velocity. */
typedef struct psfwi_sample_opts {
  psfwi_grid grid;                         /* the target models' grid */
  size_t nfamily;                          /* 1..PSFWI_FAMILY_COUNT */
  psfwi_family family[PSFWI_FAMILY_COUNT]; /* drawn uniformly */
  double vmin, vmax;                       /* m/s, the families' velocity range */
  double water_min, water_max;             /* m, water depth drawn uniformly (0, 0: none) */
  /* Each model's own velocity range: a fraction s of [vmin, vmax] drawn
   * uniformly in [span_min, span_max] (0 < span_min <= span_max <= 1),
   * placed uniformly inside [vmin, vmax]; the family then spans that
   * sub-range. 0, 0 (or 1, 1): every model spans [vmin, vmax] (and no draw
   * is made, so such data sets stay as they were). */
  double span_min, span_max;
  uint64_t seed;
  /* Given models instead of drawn ones (a test set such as OpenFWI's):
   * nmodels models on grid, models[(i * nz + iz) * nx + ix] in m/s, each
   * inside [vmin, vmax]; sample i is model i (family -1, model seed i).
   * NULL: draw from the families. The caller keeps the array alive. */
  const float *models;
  size_t nmodels;
} psfwi_sample_opts;

typedef struct psfwi_sampler psfwi_sampler;
/* Plans the propagator once (wave options wo with its vmin/vmax bounds set
 * to the families' range, so every drawn model fits) and the features.
 * wavelet: nt samples at dt (copied). a as for psfwi_features_create.
 * Checks the options (families, 0 < vmin < vmax, 0 <= water_min <=
 * water_max below the model's depth extent: PSFWI_ERANGE / PSFWI_EINVAL
 * naming the field) and the survey against the grid. The family of sample
 * i is drawn uniformly from family[], its water depth uniformly from
 * [water_min, water_max], both from a splitmix64 stream of its model seed
 * (independent of the seed's use inside psfwi_synth_create). */
psfwi_sampler *psfwi_sampler_create(const psfwi_sample_opts *o, psfwi_learn_acq *a,
                                    const psfwi_survey *s, const float *wavelet, size_t nt,
                                    double dt, const psfwi_wave_opts *wo, psfwi_error *err);
void psfwi_sampler_destroy(psfwi_sampler *sm);
size_t psfwi_sampler_feature_size(const psfwi_sampler *sm); /* channels x width */
/* The propagator's discretisation (padded grid, internal step, ...). */
const psfwi_wave_info *psfwi_sampler_wave_info(const psfwi_sampler *sm);
/* Sample i: features (feature_size floats), vp (nz * nx, m/s, vp[iz * nx +
 * ix]), the family drawn and the model's seed. Not thread-safe on one sm. */
int psfwi_sampler_make(psfwi_sampler *sm, uint64_t i, float *features, float *vp, int *family,
                       uint64_t *model_seed, psfwi_error *err);
/* Samples first .. first + count - 1 on nthreads OpenMP threads, one
 * sample per thread at a time (<= 0: omp_get_max_threads()): features
 * (count x feature_size), vp (count x nz * nx), family and model_seed
 * (count each; may be NULL) in index order. The propagator is shared
 * (read-only); each thread has its own features and data buffers, made on
 * the first call with that many threads. Inside a sample the shots run on
 * its thread (OpenMP's nested parallelism off, its default): on small
 * grids with few shots this keeps every core busy where shots alone do
 * not (5 shots on 2 cores). With nthreads = 1 the team is inactive and the
 * propagator's own threads (wo->nthreads_shots) take each sample's shots,
 * the better choice when there are many. The bits depend on neither.
 * progress (may be NULL) is called with the samples done so far, never
 * concurrently. On failure the first error (naming the sample) is
 * returned. Not thread-safe on one sm. */
typedef void (*psfwi_sampler_progress_fn)(void *ctx, size_t done, size_t count);
int psfwi_sampler_make_many(psfwi_sampler *sm, uint64_t first, size_t count, int nthreads,
                            float *features, float *vp, int *family, uint64_t *model_seed,
                            psfwi_sampler_progress_fn progress, void *ctx, psfwi_error *err);

/* ---- Network architectures (arch.c) ---------------------------------------------
 * A network is described as INI text, one section per layer in order:
 *     [input]
 *     channels = 120
 *     width_multiple = 4      ; the input width is padded to a multiple
 *     [layer]
 *     kind = conv1d           ; psfwi_nn_kind_name
 *     out = 64
 *     k = 3
 *     pad = 1
 *     act = relu
 *     [layer]
 *     kind = batchnorm
 * Keys are psfwi_nn_layer's fields (kind, act, alpha, out, k, stride, pad,
 * output_pad, factor, eps, momentum, rate, from, h0, w0, out_h, out_w,
 * out_c, init = he|glorot, bias = 0|1); unset ones keep psfwi_nn_layer_init's
 * defaults. The network runs along x on (channels, 1, width) images: the
 * input width is the feature width padded with zeros to a multiple of
 * width_multiple, and the output must be (nz, 1, padded width); only its
 * first `width` columns are used (and scored). */
typedef struct psfwi_arch {
  size_t in_c;           /* input channels */
  size_t width_multiple; /* >= 1 */
  size_t nlayer;
  psfwi_nn_layer *layers; /* owned */
} psfwi_arch;
void psfwi_arch_free(psfwi_arch *a); /* frees layers; a itself is the caller's */
/* The five-module hourglass (encoder-decoder) of Conv1D blocks: an input
 * block (conv k, norm, act), `levels` down blocks (conv k stride 2, norm,
 * act; channels doubling), the same number of up blocks (transposed conv
 * k + 1 stride 2, norm, act, then a skip connection adding the encoder
 * output of the same size), a 1x1 conv to out_c linear outputs. levels = 2
 * gives the five modules; width_multiple = 2^levels. */
typedef struct psfwi_hourglass_opts {
  size_t base;    /* channels of the input block (default 64) */
  size_t levels;  /* default 2 */
  size_t k;       /* odd kernel of the convolutions (default 3) */
  int norm;       /* 0 none, 1 batch (default), 2 layer */
  int act;        /* enum psfwi_nn_act (default relu) */
  double dropout; /* rate after the bottleneck block (default 0) */
} psfwi_hourglass_opts;
void psfwi_hourglass_defaults(psfwi_hourglass_opts *o);
int psfwi_arch_hourglass(const psfwi_hourglass_opts *o, size_t in_c, size_t out_c, psfwi_arch *a,
                         psfwi_error *err);
/* INI text (malloc'ed) and its parse (errors name origin, the line and the
 * key: unknown keys and kinds are refused). */
char *psfwi_arch_text(const psfwi_arch *a);
int psfwi_arch_parse(const char *text, const char *origin, psfwi_arch *a, psfwi_error *err);
/* The padded width for a feature width. */
size_t psfwi_arch_padded_width(const psfwi_arch *a, size_t width);
/* A network of this architecture for features `width` wide (padded), with
 * its arena for max_batch samples. */
psfwi_nn *psfwi_arch_build(const psfwi_arch *a, size_t width, size_t max_batch, psfwi_error *err);

/* ---- Training (train.c) ------------------------------------------------------------
 * Samples are (channels x width) feature images with (nz x width) targets
 * scaled to [-1, 1]; both padded to the network's width with zeros, the
 * padding left out of the loss. A fixed seeded permutation holds out
 * val_fraction of the samples for validation; each epoch visits the others
 * in an order that depends only on (seed, epoch), in mini-batches (the
 * last one may be smaller). The loss is the mean over valid target values
 * plus the penalty hook's term; an epoch's train loss is the mean of its
 * batches' data losses weighted by their sizes. Early stopping: after
 * `patience` epochs without a validation improvement (relative 1e-4) the
 * trainer reports stop; the best parameters are kept. */
typedef struct psfwi_train_opts {
  size_t batch;                       /* >= 1 (default 32) */
  size_t epochs;                      /* >= 1 (default 100) */
  int loss;                           /* enum psfwi_nn_loss (default L1, as InversionNet) */
  double huber_delta;                 /* default 0.1 */
  psfwi_optim_sgd_options sgd;        /* default Adam, lr 1e-3 */
  psfwi_lr_schedule_options schedule; /* default constant */
  double clip;                        /* max gradient norm; 0 = none */
  double val_fraction;                /* in [0, 0.9] (default 0.1) */
  size_t patience;                    /* 0 = no early stopping (default 0) */
  uint64_t seed;                      /* init, split and shuffles (default 1) */
} psfwi_train_opts;
void psfwi_train_defaults(psfwi_train_opts *o);

/* The penalty hook: called after the data loss's backward of every training
 * batch (x: the batch's network input, batch samples); it returns its
 * value in *value and ADDS its gradient to psfwi_nn_grads(nn). It may run
 * extra forward/backward passes on nn (the regularization issue's Jacobian
 * penalties do). */
typedef int (*psfwi_train_penalty_fn)(void *ctx, psfwi_nn *nn, const psfwi_nn_real *x, size_t batch,
                                      double *value, psfwi_error *err);

typedef struct psfwi_train_data {
  size_t n;            /* samples */
  size_t nchan, width; /* features per sample: nchan x width (unpadded) */
  size_t nz;           /* target rows per sample: nz x width */
  const float *x;      /* n * nchan * width */
  const float *t;      /* n * nz * width, scaled to [-1, 1] */
} psfwi_train_data;

typedef struct psfwi_train_epoch {
  size_t epoch;      /* counted from 0 */
  double train_loss; /* data loss, mean over the epoch */
  double penalty;    /* mean penalty value (0 without a hook) */
  double val_loss;   /* data loss on the validation samples (NaN if none) */
  double lr;         /* learning rate used in this epoch */
  double grad_norm;  /* mean gradient norm before clipping */
  double seconds;
  int improved; /* 1: best validation loss so far (or no validation) */
  int stop;     /* 1: early stopping or the last epoch */
} psfwi_train_epoch;

typedef struct psfwi_trainer psfwi_trainer;
/* The trainer trains nn in place (its parameters must be initialised);
 * d's arrays must outlive it. */
psfwi_trainer *psfwi_trainer_create(psfwi_nn *nn, const psfwi_train_data *d,
                                    const psfwi_train_opts *o, psfwi_error *err);
void psfwi_trainer_destroy(psfwi_trainer *tr);
void psfwi_trainer_set_penalty(psfwi_trainer *tr, psfwi_train_penalty_fn fn, void *ctx);
/* The network penalties of psfwi_nn_pen (L1, L2, spectral, Jacobian) on
 * every training batch, with the padding beyond the data's width left out;
 * their value is the epoch's `penalty`. NULL or all weights 0: none. The
 * Jacobian term's draws depend on the batch's bytes: a resumed training
 * repeats them. */
int psfwi_trainer_set_net_penalty(psfwi_trainer *tr, const psfwi_nn_pen_opts *o, psfwi_error *err);
/* Adversarial training (Goodfellow et al. 2015; Madry et al. 2018): each
 * batch's input is moved by `steps` signed-gradient steps of the data loss
 * within the l_inf ball of radius eps (standardised feature units; padding
 * left alone; one step: FGSM, more: PGD with steps of 2.5 eps / steps),
 * and weight times the loss there is added (its value in the epoch's
 * `penalty`). To first order it penalises eps |grad_x L|_1, the dual norm
 * of the input gradient: Roth et al. (2020) show it to be the data-
 * dependent operator-norm regularizer. Cost: one forward and backward per
 * step more. weight 0: off. */
int psfwi_trainer_set_adversarial(psfwi_trainer *tr, double weight, double eps, size_t steps,
                                  psfwi_error *err);
size_t psfwi_trainer_nval(const psfwi_trainer *tr);
size_t psfwi_trainer_epochs_done(const psfwi_trainer *tr);
/* One epoch (then a validation pass). PSFWI_ENONFINITE names the epoch and
 * batch when the loss or the gradient is not finite. */
int psfwi_trainer_epoch(psfwi_trainer *tr, psfwi_train_epoch *info, psfwi_error *err);
/* Mean data loss of samples [first, first + count) of the validation set
 * (all: 0, psfwi_trainer_nval) with the current parameters, inference mode. */
double psfwi_trainer_val_loss(psfwi_trainer *tr, psfwi_error *err);
/* Geometric complexity (Dherin et al. 2022): the mean over samples of the
 * squared Frobenius norm of the network's input-output Jacobian
 * ||d y / d x||_F^2 (inference mode; standardised features in, scaled
 * velocities out, padding left out on both sides), estimated with Hutchinson
 * projections: ||J||_F^2 = E ||J^T v||^2 for v with independent standard
 * normal entries, each a backward pass. nproj projections per sample on the
 * first nsample validation samples (the training samples when there is no
 * validation set); the normal draws depend only on seed. *gc is the
 * estimate, *se its standard error (NaN for fewer than 2 draws). Leaves the
 * parameter gradient zeroed. */
int psfwi_trainer_geometric_complexity(psfwi_trainer *tr, size_t nsample, size_t nproj,
                                       uint64_t seed, double *gc, double *se, psfwi_error *err);
/* Copy the best parameters and buffers so far into the network. */
void psfwi_trainer_use_best(psfwi_trainer *tr);
/* The whole state (epoch, parameters, buffers, best ones, optimiser,
 * schedule, early-stopping counters) as a flat byte buffer; restoring it
 * into a trainer created alike continues bit for bit. */
size_t psfwi_trainer_state_size(const psfwi_trainer *tr);
int psfwi_trainer_state_save(const psfwi_trainer *tr, void *buf, size_t size, psfwi_error *err);
int psfwi_trainer_state_restore(psfwi_trainer *tr, const void *buf, size_t size, psfwi_error *err);

/* Per-channel mean and standard deviation of features (n samples of nchan
 * x width), written to mean[nchan], std[nchan] (std floored at 1e-12 of
 * the largest one, so a dead channel maps to 0), and their application in
 * place: x = (x - mean) / std. */
void psfwi_learn_channel_stats(const float *x, size_t n, size_t nchan, size_t width, float *mean,
                               float *std);
void psfwi_learn_standardise(float *x, size_t n, size_t nchan, size_t width, const float *mean,
                             const float *std);
/* Velocity <-> target scaling of the header's first section. */
void psfwi_learn_scale_velocity(float *v, size_t n, double vmin, double vmax);
void psfwi_learn_unscale_velocity(float *t, size_t n, double vmin, double vmax);

/* Predict: targets (nz x width, scaled) of one standardised feature image
 * with network nn built by psfwi_arch_build for this width (inference). */
int psfwi_learn_predict(psfwi_nn *nn, const psfwi_arch *a, const float *x, size_t nchan,
                        size_t width, size_t nz, float *t, psfwi_error *err);

#endif
