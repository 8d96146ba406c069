/* What `psfwi gradient` and `psfwi fwi` share: their configuration keys, and
 * turning a configuration into an inversion problem (models, observed data,
 * survey, wavelet, propagator, this MPI rank's shots, mask, options). */
#ifndef PSFWI_CLI_RUN_INVERT_H
#define PSFWI_CLI_RUN_INVERT_H

#include "psfwi_comm.h"
#include "run_config.h"

/* [data] conditioning keys (psfwi fwi, rnn, gradient; psfwi data condition). */
/* clang-format off */
#define CLI_KEYS_DATA \
  {"data", "resample", PSFWI_CFG_DOUBLE, "0", 0, 10, NULL, \
      "resample the observed data to this sample interval (s; 0: keep the file's): an " \
      "anti-alias low-pass at 0.8 of the new Nyquist frequency, then a Kaiser-windowed sinc"}, \
  {"data", "convert_3d", PSFWI_CFG_CHOICE, "none", 0, 0, "none|amplitude|full", \
      "point-source (3-D) field data to the line-source (2-D) data psfwi models: amplitude " \
      "(x sqrt(2 pi) c sqrt(t - t0)) or full (and the (i omega)^(-1/2) filter); docs/data.md"}, \
  {"data", "convert_velocity", PSFWI_CFG_DOUBLE, NULL, 1, 1e6, NULL, \
      "convert_3d: the velocity c of r = c (t - t0) (m/s; e.g. the near-surface or RMS velocity)"}, \
  {"data", "convert_t0", PSFWI_CFG_DOUBLE, "0", 0, 1e3, NULL, \
      "convert_3d: the time of the source wavelet's peak (s)"}, \
  {"data", "mute_velocity", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "top mute: data before mute_time + |offset| / mute_velocity weigh 0, modelled and " \
      "observed alike (m/s; 0: none)"}, \
  {"data", "pick_window", PSFWI_CFG_DOUBLE, "0", 0, 1e3, NULL, \
      "top mute along first breaks picked on the observed data by energy ratios over windows " \
      "of this length (s; 0: off; not with mute_velocity)"}, \
  {"data", "pick_margin", PSFWI_CFG_DOUBLE, "0.05", 0, 1e3, NULL, \
      "the picked mute starts this long before each pick (s)"}, \
  {"data", "mute_time", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "the mute line's time at zero offset (s)"}, \
  {"data", "taper", PSFWI_CFG_DOUBLE, "0.05", 0, 1e6, NULL, \
      "length of the raised-cosine ramps of the mute and the time window (s)"}, \
  {"data", "offset_min", PSFWI_CFG_DOUBLE, "0", 0, 1e9, NULL, \
      "traces with |receiver x - source x| below this weigh 0 (m)"}, \
  {"data", "offset_max", PSFWI_CFG_DOUBLE, "0", 0, 1e9, NULL, \
      "traces with |receiver x - source x| above this weigh 0 (m; 0: no limit)"}, \
  {"data", "time_min", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "samples before this time weigh 0 (s)"}, \
  {"data", "time_max", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "samples after this time weigh 0 (s; 0: no limit)"}, \
  {"data", "dead_traces", PSFWI_CFG_CHOICE, "keep", 0, 0, "keep|drop", \
      "drop: all-zero observed traces weigh 0 (instead of being fitted as zeros)"}, \
  {"data", "reject_rms", PSFWI_CFG_DOUBLE, "0", 0, 1e9, NULL, \
      "traces whose RMS exceeds this multiple (> 1) of the median of their 5 neighbours on " \
      "each side weigh 0 (noise bursts; 0: off)"}
/* clang-format on */

/* [model] true, [data], [inversion], [regularization] keys (extend
 * CLI_KEYS_MODEL_SURVEY with these). */
/* clang-format off */
#define CLI_KEYS_INVERT \
  {"model", "true", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "true model (NetCDF): synthesises observed data when [data] observed is not given, " \
      "and gives errors per iteration"}, \
  {"data", "observed", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "observed shot gathers, NetCDF (psfwi forward) or SEG-Y (.segy/.sgy); survey, time " \
      "and wavelet default to the file's, propagator keys to those stored in it"}, \
  CLI_KEYS_DATA, \
  {"inversion", "misfit", PSFWI_CFG_CHOICE, "l2", 0, 0, \
      "l2|spectral|correlation|envelope|phase", \
      "data misfit: trace residuals, Fourier coefficients at [inversion] frequencies, " \
      "trace-normalised correlation, envelope differences (blind to the wavelet's phase) or " \
      "instantaneous-phase differences (blind to amplitudes)"}, \
  {"inversion", "frequencies", PSFWI_CFG_STRING, NULL, 0, 0, NULL, \
      "spectral misfit: frequencies in Hz, comma-separated (e.g. 3,4.5,6,8)"}, \
  {"inversion", "method", PSFWI_CFG_CHOICE, "lbfgs", 0, 0, "lbfgs|cg|steepest", \
      "optimiser (all bounded, strong-Wolfe line search)"}, \
  {"inversion", "memory", PSFWI_CFG_INT, "10", 1, 1000, NULL, "L-BFGS pairs kept"}, \
  {"inversion", "iterations", PSFWI_CFG_INT, "20", 1, 1000000, NULL, \
      "iterations per band (a band given as f:n sets its own)"}, \
  {"inversion", "bands", PSFWI_CFG_STRING, "0", 0, 0, NULL, \
      "multiscale bands: low-pass corners in Hz, low to high, comma-separated, each " \
      "optionally f:iterations (0 = the full band), e.g. 4:15,7:15,0:10"}, \
  {"inversion", "low_cut", PSFWI_CFG_DOUBLE, "0", 0, 1e5, NULL, \
      "high-pass corner (Hz) in every band (0: none)"}, \
  {"inversion", "filter_order", PSFWI_CFG_INT, "4", 1, 10, NULL, \
      "Butterworth order of the band filters (applied forward and backward)"}, \
  {"inversion", "vmin", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL, \
      "lower velocity bound (m/s); default [propagator] vmin or 0.9 x the starting minimum"}, \
  {"inversion", "vmax", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL, \
      "upper velocity bound (m/s); default [propagator] vmax or 1.2 x the starting maximum"}, \
  {"inversion", "step", PSFWI_CFG_DOUBLE, "50", 1e-6, 1e5, NULL, \
      "largest velocity change of the first trial step (m/s)"}, \
  {"inversion", "illumination", PSFWI_CFG_BOOL, "true", 0, 0, NULL, \
      "precondition by the source illumination (pseudo-Hessian diagonal)"}, \
  {"inversion", "illumination_eps", PSFWI_CFG_DOUBLE, "1e-3", 1e-12, 1e3, NULL, \
      "illumination stabilisation, fraction of its maximum"}, \
  {"inversion", "smooth", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "Gaussian smoothing of the model update, standard deviation (m); 0: off"}, \
  {"inversion", "water_velocity", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL, \
      "freeze the water layer: cells from the top within water_tolerance of this (m/s)"}, \
  {"inversion", "water_tolerance", PSFWI_CFG_DOUBLE, "1", 0, 1e5, NULL, \
      "tolerance of water_velocity (m/s)"}, \
  {"inversion", "freeze_depth", PSFWI_CFG_DOUBLE, NULL, 0, 1e7, NULL, \
      "freeze every cell shallower than this depth below the model top (m)"}, \
  {"inversion", "memory_mb", PSFWI_CFG_DOUBLE, "0", 0, 1e9, NULL, \
      "memory for stored forward wavefields (MiB); 0: keep all steps, else optimal " \
      "checkpointing within it"}, \
  {"inversion", "tape_stride", PSFWI_CFG_INT, "1", 1, 1000, NULL, \
      "tape every k-th internal step (k times the memory less, an approximate gradient; " \
      "k dt <= 1 / (2 fmax)); 1: every step, the exact discrete adjoint"}, \
  {"inversion", "gtol", PSFWI_CFG_DOUBLE, "1e-8", 0, 1, NULL, \
      "stop a band when the projected gradient falls below this fraction of its start"}, \
  {"inversion", "ftol", PSFWI_CFG_DOUBLE, "0", 0, 1, NULL, \
      "stop a band when the objective decreases by less than this fraction"}, \
  {"regularization", "tikhonov", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of (1/2) |grad v|^2 dA (normalised misfit = 1 at each band start)"}, \
  {"regularization", "tikhonov_x", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "extra weight of the x derivative"}, \
  {"regularization", "tikhonov_z", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "extra weight of the z derivative"}, \
  {"regularization", "tv", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of the total variation of v"}, \
  {"regularization", "tv_eps", PSFWI_CFG_DOUBLE, "0.01", 1e-12, 1e12, NULL, \
      "TV smoothing (1/s, units of |grad v|)"}, \
  {"regularization", "tv_kind", PSFWI_CFG_CHOICE, "isotropic", 0, 0, "isotropic|anisotropic", \
      "TV: l1,2 norm of the model's Jacobian (isotropic) or its l1 norm (anisotropic)"}, \
  {"regularization", "l2", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of (1/2) |r|^2 dA, r = v - prior (or v with norm_of = model)"}, \
  {"regularization", "l1", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of |r| dA (Lasso-style: sparse changes from the prior)"}, \
  {"regularization", "group", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of the group l1,2 norm of r (groups: group_kind)"}, \
  {"regularization", "group_kind", PSFWI_CFG_CHOICE, "columns", 0, 0, "columns|rows", \
      "groups of the group norm: vertical traces or depth levels"}, \
  {"regularization", "nuclear", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of the nuclear (trace) norm of r as a matrix (low rank)"}, \
  {"regularization", "ksupport", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "weight of (dA / 2) times the squared spectral k-support norm of r"}, \
  {"regularization", "ksupport_k", PSFWI_CFG_INT, "2", 1, 1000000, NULL, \
      "k of the k-support norm (1: squared nuclear norm; min(nx, nz): Frobenius)"}, \
  {"regularization", "norm_eps", PSFWI_CFG_DOUBLE, "10", 0, 1e6, NULL, \
      "smooth solver: l1, group and nuclear are quadratic below this RMS residual (m/s)"}, \
  {"regularization", "prior", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "prior model (NetCDF) of l2, l1, group, nuclear and ksupport; default: the starting model"}, \
  {"regularization", "norm_of", PSFWI_CFG_CHOICE, "difference", 0, 0, "difference|model", \
      "l2, l1, group, nuclear and ksupport of v - prior, or of v itself"}, \
  {"regularization", "solver", PSFWI_CFG_CHOICE, "smooth", 0, 0, "smooth|proximal", \
      "smooth: the optimiser on the smoothed terms; proximal: fwi by FISTA, rnn by a prox after " \
      "each step, of l1, group, nuclear, ksupport and tv (fwi: no illumination preconditioning)"}, \
  {"regularization", "auto_scale", PSFWI_CFG_BOOL, "false", 0, 0, NULL, \
      "scale each weight by the data term's change over the first update (fwi: [inversion] " \
      "step; rnn: the learning rate); a weight of 1 then balances the two at the start"}, \
  {"regularization", "auto_scale_bands", PSFWI_CFG_CHOICE, "first", 0, 0, "first|each", \
      "auto_scale from the first band's data gradient only, or anew at each band's start from " \
      "that band's (a control: on noisy data it weakens the terms in the last band, " \
      "docs/REGULARIZATION.md)"}
/* clang-format on */

/* [output] keys of both commands, so one configuration serves both. */
/* clang-format off */
#define CLI_KEYS_INVERT_OUTPUT \
  {"output", "model", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "psfwi fwi: final model (NetCDF)"}, \
  {"output", "history", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "psfwi fwi: iteration history (NetCDF vp(iteration, z, x) + scalars)"}, \
  {"output", "state", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "psfwi fwi: resumable state; default <model without .nc>.state.nc"}, \
  {"output", "observed", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "psfwi fwi: save the (synthesised) observed data as NetCDF (optional)"}, \
  {"output", "gradient", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "psfwi gradient: objective and gradient (NetCDF)"}
/* clang-format on */

/* clang-format off */
/* The stochastic optimiser keys of [training], shared by psfwi rnn and
 * psfwi dnn train (cli_sgd_options reads them). */
#define CLI_KEYS_SGD \
  {"training", "optimizer", PSFWI_CFG_CHOICE, "adam", 0, 0, "adam|adamw|sgd|rmsprop|adadelta", \
      "optimiser of the weights (rnn: velocity and wavelet; dnn: the network's)"}, \
  {"training", "seed", PSFWI_CFG_INT, "1", 0, 9e15, NULL, \
      "seed of the shuffling into batches (and of a network's initial weights)"}, \
  {"training", "momentum", PSFWI_CFG_DOUBLE, "0", 0, 0.999999, NULL, \
      "sgd: momentum (0: plain SGD)"}, \
  {"training", "nesterov", PSFWI_CFG_BOOL, "false", 0, 0, NULL, "sgd: Nesterov momentum"}, \
  {"training", "beta1", PSFWI_CFG_DOUBLE, "0.9", 0, 0.999999, NULL, "adam/adamw: beta1"}, \
  {"training", "beta2", PSFWI_CFG_DOUBLE, "0.999", 0, 0.999999, NULL, "adam/adamw: beta2"}, \
  {"training", "rho", PSFWI_CFG_DOUBLE, NULL, 0, 0.999999, NULL, \
      "rmsprop / adadelta: smoothing (default 0.99 / 0.9)"}, \
  {"training", "weight_decay", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "weight decay (adamw: decoupled; others: L2 added to the gradient)"}, \
  {"training", "schedule", PSFWI_CFG_CHOICE, "constant", 0, 0, "constant|step|cosine|plateau", \
      "learning-rate schedule over the epochs (of each band)"}, \
  {"training", "step_size", PSFWI_CFG_INT, "10", 1, 1000000, NULL, "step: epochs per decay"}, \
  {"training", "gamma", PSFWI_CFG_DOUBLE, "0.5", 1e-9, 1, NULL, "step: decay factor"}, \
  {"training", "lr_min", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "cosine: final learning rate; plateau: the lowest"}, \
  {"training", "plateau_factor", PSFWI_CFG_DOUBLE, "0.5", 1e-6, 0.999999, NULL, \
      "plateau: factor of each reduction"}, \
  {"training", "plateau_patience", PSFWI_CFG_INT, "3", 0, 1000000, NULL, \
      "plateau: epochs without improvement before a reduction"}, \
  {"training", "plateau_threshold", PSFWI_CFG_DOUBLE, "1e-3", 0, 1, NULL, \
      "plateau: relative improvement of the epoch loss that counts"}, \
  {"training", "plateau_cooldown", PSFWI_CFG_INT, "0", 0, 1000000, NULL, \
      "plateau: epochs after a reduction before counting again"}, \
  {"training", "clip", PSFWI_CFG_DOUBLE, "0", 0, 1e30, NULL, \
      "clip each batch gradient to this L2 norm (0: no clipping)"}

/* [training] keys of psfwi rnn (docs/rnn.md). */
#define CLI_KEYS_TRAINING \
  CLI_KEYS_SGD, \
  {"training", "learning_rate", PSFWI_CFG_DOUBLE, "10", 0, 1e6, NULL, \
      "learning rate: m/s per step for the velocity (converted for slowness or sigmoid); " \
      "0 keeps the velocity fixed"}, \
  {"training", "wavelet_learning_rate", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, \
      "learning rate of the source wavelet samples (0: the wavelet is fixed)"}, \
  {"training", "wavelet_per_shot", PSFWI_CFG_BOOL, "false", 0, 0, NULL, \
      "train one wavelet per shot (all start as [wavelet]'s; in the history as 'wavelets')"}, \
  {"training", "epochs", PSFWI_CFG_INT, "20", 1, 1000000, NULL, \
      "epochs per band (a band given as f:n in [inversion] bands sets its own)"}, \
  {"training", "batch_shots", PSFWI_CFG_INT, NULL, 1, 1000000, NULL, \
      "shots per mini-batch; default: all shots (one batch per epoch)"}, \
  {"training", "loss", PSFWI_CFG_CHOICE, NULL, 0, 0, "l2|l1|huber|spectral|correlation", \
      "data loss; default [inversion] misfit (spectral: at [inversion] frequencies)"}, \
  {"training", "huber_delta", PSFWI_CFG_DOUBLE, NULL, 1e-30, 1e30, NULL, \
      "huber: threshold between the quadratic and linear parts (units of the traces)"}, \
  {"training", "time_window", PSFWI_CFG_DOUBLE, "0", 0, 1e5, NULL, \
      "truncated BPTT: only the record's first seconds enter the loss (0: all)"}, \
  {"training", "time_window_growth", PSFWI_CFG_DOUBLE, "0", 0, 1e5, NULL, \
      "seconds added to the time window per epoch of a band (shallow first)"}, \
  {"training", "parameterization", PSFWI_CFG_CHOICE, "velocity", 0, 0, \
      "velocity|slowness|sigmoid", \
      "the weights: v, 1/v, or x with v = vmin + (vmax - vmin) sigmoid(x)"}
/* clang-format on */

/* [training] optimizer ... clip into sgd and schedule options with
 * learning rate lr (the caller's key); PSFWI_EINVAL for nesterov without
 * sgd and momentum. *clip receives [training] clip. */
int cli_sgd_options(const psfwi_config *cfg, double lr, psfwi_optim_sgd_options *sgd,
                    psfwi_lr_schedule_options *schedule, double *clip, psfwi_error *err);

/* "<path without .nc>.state.nc" (malloc'ed; NULL when out of memory): the
 * default state file of a run writing path. */
char *cli_default_state_path(const char *path);

/* The files an inversion config reads ("section.key", NULL-terminated). */
extern const char *const cli_invert_inputs[];

typedef struct cli_problem {
  psfwi_comm comm;
  const char *band_count_key; /* NULL: bands default to [inversion] iterations; else the
                                 [training] key (rnn: "epochs"); set before setup */
  char *cfg_text;             /* the configuration as run (after defaults from the data) */
  psfwi_model *model;         /* starting model / evaluation point */
  psfwi_model *truth;         /* may be NULL */
  psfwi_model *prior;         /* may be NULL */
  psfwi_gather *obs;          /* all shots */
  psfwi_survey *local;        /* this rank's shots */
  const float *d_local;       /* their data (inside obs->data) */
  size_t first_shot;
  psfwi_wave *w;
  unsigned char *mask; /* may be NULL */
  size_t nfrozen;
  double vmin, vmax;
  psfwi_fwi_band *bands;
  size_t nband;
  double *freqs;
  size_t nfreq;
  float *weights;     /* data weights of this rank's shots ([data] mute & co) or NULL */
  psfwi_fwi_opts fwi; /* filled except history/state/progress */
} cli_problem;

/* What psfwi fwi and psfwi rnn share around their loops. */
typedef struct cli_run {
  const char *cmd; /* "fwi", "rnn" */
  cli_problem P;
  psfwi_config *cfg;
  const char *out;     /* [output] model */
  const char *history; /* [output] history (may be NULL) */
  char *state_path;    /* [output] state, default <model>.state.nc */
  int resume;
  size_t stop_after;
  psfwi_meta meta; /* of the history and state */
  psfwi_error err;
} cli_run;
/* Parse argv (--resume, --stop-after N, -c, --set), start MPI, refuse
 * outputs that name inputs, set up the problem (band_count_key as in
 * cli_problem) and write [output] observed. Returns PSFWI_OK, or a status
 * after which cli_run_finish reports and cleans up; *exit_code != 0 (or -h)
 * means stop at once and return it. */
int cli_run_start(cli_run *r, const char *cmd, const char *usage, const psfwi_config_key *keys,
                  size_t nkeys, const char *band_count_key, const char *history_title, int argc,
                  char **argv, int *exit_code);
/* Write the final model (rank 0) when st is PSFWI_OK, report an error, free
 * everything, finalise MPI; returns the exit status (0, 1, or 3 when
 * stopped by --stop-after). */
int cli_run_finish(cli_run *r, int st, const char *model_title);
/* "42 s", "3m05s", "1h02m" */
void cli_fmt_time(double s, char *buf, size_t n);

/* Load and check everything; with MPI, every rank reads the inputs and
 * keeps its block of shots; data synthesised from [model] true are modelled
 * by every rank for its own shots only and exchanged (so rank 0 can save
 * them). Messages go to stderr on rank 0 only. */
int cli_problem_setup(cli_problem *p, psfwi_config *cfg, psfwi_error *err);
/* The [data] keys (CLI_KEYS_DATA) as the data weights' options (live: NULL). */
void cli_weight_opts_from_config(const psfwi_config *cfg, psfwi_weight_opts *wo);
/* [data] resample and [data] convert_3d on a gather in place (the data and
 * the stored wavelet; nothing when the keys are off); verbose: say so. */
int cli_resample_gather(psfwi_gather *g, const psfwi_config *cfg, int verbose, psfwi_error *err);
int cli_convert_3d(psfwi_gather *g, const psfwi_config *cfg, int verbose, psfwi_error *err);
void cli_problem_free(cli_problem *p);

#endif
