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
  uint64_t seed;
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

#endif
