/* psfwi dnn train | predict | info: the data-driven DNN inversion (learn/).
 * The command reads and writes the files; the library trains and predicts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "psfwi_learn.h"
#include "run_config.h"
#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi dnn train -c CONFIG.ini [--set section.key=value ...] [--resume]\n"
    "                       [--stop-after EPOCHS]\n"
    "       psfwi dnn predict --net NET.nc[,NET2.nc,...] --data SHOTS.nc --like GRID.nc\n"
    "                         -o MODEL.nc\n"
    "       psfwi dnn test --net NET.nc[,NET2.nc,...] --data PREFIX [--range VMIN:VMAX]\n"
    "                      [--noise SNR_DB [--seed N]] [--format table|csv]\n"
    "       psfwi dnn info NET.nc\n"
    "Train a network that maps pseudo-spectral data (Fourier coefficients of the\n"
    "traces, see 'psfwi dataset') to velocity, on the shards of 'psfwi dataset\n"
    "generate'; predict a model from shot gathers with one or several networks\n"
    "(several: the mean, and the per-cell standard deviation as vp_std); score a\n"
    "network on a test data set (OpenFWI's metrics: MAE and RMSE of velocities\n"
    "scaled to [-1, 1] by --range, default the network's; SSIM of the maps scaled\n"
    "to [0, 1]; and MAE in m/s); describe a network file. docs/learn.md has the\n"
    "details.\n";

static const char train_usage[] =
    "usage: psfwi dnn train -c CONFIG.ini [--set section.key=value ...] [--resume]\n"
    "                       [--stop-after EPOCHS]\n"
    "Train a network on the data set's shards ([data] train = PREFIX: files\n"
    "PREFIX_00000.nc, ...). A state file is written after every epoch; --resume\n"
    "continues a killed training to the same weights. The network file holds the\n"
    "best weights (lowest validation loss), the normalisation, the acquisition and\n"
    "the training history.\n";

/* clang-format off */
static const psfwi_config_key train_keys[] = {
  {"data", "train", PSFWI_CFG_PATHS, NULL, 0, 0, NULL,
   "shard prefixes of 'psfwi dataset generate' (PREFIX_00000.nc, ...), a comma list; one "
   "acquisition"},
  {"data", "max_samples", PSFWI_CFG_INT, "0", 0, 1e12, NULL,
   "use at most this many samples (0: all)"},
  {"data", "vmin", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL,
   "velocity mapped to -1 (m/s); default: the smallest in the training set"},
  {"data", "vmax", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL,
   "velocity mapped to +1 (m/s); default: the largest in the training set"},
  {"network", "architecture", PSFWI_CFG_CHOICE, "hourglass", 0, 0, "hourglass|file",
   "the five-module Conv1D hourglass, or layers described in [network] file"},
  {"network", "file", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
   "network description, INI with [input] and [layer] sections (docs/learn.md)"},
  {"network", "base", PSFWI_CFG_INT, "64", 1, 4096, NULL, "hourglass: channels of the first block"},
  {"network", "levels", PSFWI_CFG_INT, "2", 1, 6, NULL,
   "hourglass: down/up levels (2: five modules)"},
  {"network", "kernel", PSFWI_CFG_INT, "3", 1, 31, NULL, "hourglass: odd kernel size"},
  {"network", "norm", PSFWI_CFG_CHOICE, "batch", 0, 0, "batch|layer|none",
   "hourglass: normalisation after each convolution"},
  {"network", "activation", PSFWI_CFG_CHOICE, "relu", 0, 0, "relu|leaky_relu|elu|tanh|sigmoid",
   "hourglass: activation"},
  {"network", "dropout", PSFWI_CFG_DOUBLE, "0", 0, 0.99, NULL,
   "hourglass: dropout rate after the bottleneck"},
  CLI_KEYS_SGD,
  {"training", "learning_rate", PSFWI_CFG_DOUBLE, "1e-3", 1e-12, 1e3, NULL,
   "learning rate (Adadelta: 1 is the usual)"},
  {"training", "epochs", PSFWI_CFG_INT, "50", 1, 1000000, NULL, "epochs"},
  {"training", "batch", PSFWI_CFG_INT, "32", 1, 1000000, NULL, "samples per mini-batch"},
  {"training", "loss", PSFWI_CFG_CHOICE, "l1", 0, 0, "l1|mse|huber",
   "loss on velocities scaled to [-1, 1]"},
  {"training", "huber_delta", PSFWI_CFG_DOUBLE, "0.1", 1e-12, 1e6, NULL,
   "huber: threshold (scaled units)"},
  {"training", "validation", PSFWI_CFG_DOUBLE, "0.1", 0, 0.9, NULL,
   "fraction of the samples held out for validation"},
  {"training", "patience", PSFWI_CFG_INT, "0", 0, 1000000, NULL,
   "early stopping after this many epochs without a better validation loss (0: off)"},
  {"training", "threads", PSFWI_CFG_INT, "0", 0, 1024, NULL,
   "threads of the matrix products (OpenBLAS; 0: OPENBLAS_NUM_THREADS or all cores); on a "
   "busy machine 1 is faster"},
  {"regularization", "l1", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of sum |p| over the network's parameters"},
  {"regularization", "l2", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of (1/2) sum p^2 over the parameters (in the loss; [training] weight_decay is the "
   "optimiser's)"},
  {"regularization", "spectral", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of sum over layers of the largest singular value of the weights, squared"},
  {"regularization", "spectral_iter", PSFWI_CFG_INT, "30", 1, 100000, NULL,
   "power iterations per batch for the spectral norms"},
  {"regularization", "jacobian", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of the mean squared Frobenius norm of the input-output Jacobian (geometric "
   "complexity; finite-difference estimate)"},
  {"regularization", "jacobian_kind", PSFWI_CFG_CHOICE, "frobenius", 0, 0, "frobenius|operator",
   "frobenius: |J|_F^2 (random directions); operator: the largest singular value squared "
   "(power iteration; Roth et al.'s data-dependent operator norm)"},
  {"regularization", "jacobian_power_iter", PSFWI_CFG_INT, "3", 1, 1000, NULL,
   "operator: power iterations per batch"},
  {"regularization", "jacobian_step", PSFWI_CFG_DOUBLE, "0.01", 1e-9, 1e3, NULL,
   "the estimate's input perturbation (standardised feature units)"},
  {"regularization", "jacobian_draws", PSFWI_CFG_INT, "1", 1, 1000, NULL,
   "random directions per batch for the Jacobian estimate"},
  {"regularization", "jacobian_samples", PSFWI_CFG_INT, "0", 0, 1000000, NULL,
   "the Jacobian terms (exact, operator, nuclear) on the first N samples of each shuffled batch "
   "only: N / batch of their cost, an unbiased but noisier estimate (0: the whole batch)"},
  {"regularization", "jacobian_nuclear", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of the Jacobian nuclear norm by the encoder-decoder split (Scarvelis & Solomon: "
   "half the mean squared Frobenius norms of the encoder's and decoder's Jacobians)"},
  {"regularization", "jacobian_nuclear_split", PSFWI_CFG_INT, "-1", -1, 100000, NULL,
   "the encoder's last layer (its index in `psfwi dnn info`); -1: the bottleneck, the first "
   "layer with the fewest outputs"},
  {"regularization", "jacobian_nuclear_step", PSFWI_CFG_DOUBLE, "0", 0, 1e3, NULL,
   "the estimate's perturbation of the latent (0: jacobian_step)"},
  {"regularization", "adversarial", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
   "weight of the loss at adversarial inputs (signed-gradient steps; 0: off)"},
  {"regularization", "adversarial_eps", PSFWI_CFG_DOUBLE, "0.01", 0, 1e3, NULL,
   "radius of the adversarial inputs' l_inf ball (standardised feature units)"},
  {"regularization", "adversarial_steps", PSFWI_CFG_INT, "1", 1, 1000, NULL,
   "signed-gradient steps (1: FGSM; more: PGD)"},
  {"output", "network", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "the trained network (NetCDF)"},
  {"output", "state", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
   "resumable state; default <network without .nc>.state.nc"},
};
/* clang-format on */

/* ---- Training ------------------------------------------------------------------- */

/* The training set in memory, from every shard of a prefix. */
typedef struct dataset {
  psfwi_learn_acq acq;
  char *acq_text;
  size_t n, nchan, width, nz;
  psfwi_grid grid;
  float *x, *t; /* n * nchan * width, n * nz * width (velocity, then scaled) */
} dataset;

static void dataset_free(dataset *d) {
  free(d->acq_text);
  free(d->x);
  free(d->t);
}

/* The shards of every prefix of a comma list, in order. */
static int list_prefixes(const char *prefixes, char ***paths, size_t *npath, psfwi_error *err) {
  *paths = NULL;
  *npath = 0;
  char *copy = strdup(prefixes), *save = NULL;
  if (copy == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  int st = PSFWI_OK;
  for (char *p = strtok_r(copy, ",", &save); p && st == PSFWI_OK; p = strtok_r(NULL, ",", &save)) {
    while (*p == ' ') p++;
    char **more = NULL;
    size_t nmore = 0;
    if ((st = psfwi_shard_list(p, &more, &nmore, err)) != PSFWI_OK) break;
    char **all = realloc(*paths, (*npath + nmore) * sizeof *all);
    if (all == NULL) {
      for (size_t i = 0; i < nmore; i++) free(more[i]);
      free(more);
      st = psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
      break;
    }
    memcpy(all + *npath, more, nmore * sizeof *more);
    *paths = all;
    *npath += nmore;
    free(more);
  }
  free(copy);
  return st;
}

static int dataset_load(const char *prefix, size_t max_samples, dataset *d, psfwi_error *err) {
  memset(d, 0, sizeof *d);
  char **paths = NULL;
  size_t npath = 0;
  int st = list_prefixes(prefix, &paths, &npath, err);
  if (st != PSFWI_OK) {
    for (size_t i = 0; i < npath; i++) free(paths[i]);
    free(paths);
    return st;
  }
  size_t cap = 0;
  for (size_t i = 0; i < npath && st == PSFWI_OK; i++) {
    char *text = NULL;
    psfwi_shard *sh = psfwi_nc_read_shard(paths[i], &text, err);
    if (sh == NULL) {
      st = err->status;
      break;
    }
    if (d->acq_text == NULL) {
      d->acq_text = text;
      text = NULL;
      st = psfwi_learn_acq_parse(d->acq_text, paths[i], &d->acq, err);
      d->nchan = sh->nchan;
      d->width = sh->width;
      d->grid = sh->grid;
      d->nz = sh->grid.nz;
      if (st == PSFWI_OK && sh->width != sh->grid.nx)
        st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': %zu feature positions for %zu model columns",
                        paths[i], sh->width, sh->grid.nx);
    } else if (strcmp(text, d->acq_text) != 0 || sh->nchan != d->nchan || sh->width != d->width ||
               sh->grid.nz != d->nz) {
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' holds another acquisition or shape than '%s': shards of one data set "
                      "only",
                      paths[i], paths[0]);
    }
    free(text);
    size_t take = sh->nsample;
    if (max_samples && d->n + take > max_samples) take = max_samples - d->n;
    if (st == PSFWI_OK && take > 0) {
      const size_t fx = d->nchan * d->width, ft = d->nz * d->width;
      if (d->n + take > cap) {
        cap = 2 * (d->n + take);
        if (psfwi_mem_check((double)cap * (double)(fx + ft) * sizeof(float), "the training set",
                            NULL, err) != PSFWI_OK) {
          st = err->status;
        } else {
          float *x = realloc(d->x, cap * fx * sizeof *x);
          if (x) d->x = x;
          float *t = realloc(d->t, cap * ft * sizeof *t);
          if (t) d->t = t;
          if (!x || !t) st = psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the training set");
        }
      }
      if (st == PSFWI_OK) {
        memcpy(d->x + d->n * fx, sh->features, take * fx * sizeof(float));
        memcpy(d->t + d->n * ft, sh->vp, take * ft * sizeof(float));
        d->n += take;
      }
    }
    psfwi_shard_destroy(sh);
    if (max_samples && d->n >= max_samples) break;
  }
  for (size_t i = 0; i < npath; i++) free(paths[i]);
  free(paths);
  if (st == PSFWI_OK && d->n < 2)
    st = psfwi_fail(err, PSFWI_EINVAL, "%s: %zu samples; training needs at least 2", prefix, d->n);
  if (st != PSFWI_OK) dataset_free(d);
  return st;
}

#define NCOL 9
static const char *const col_names[NCOL] = {"train_loss",
                                            "val_loss",
                                            "penalty",
                                            "lr",
                                            "grad_norm",
                                            "seconds",
                                            "best_so_far",
                                            "geometric_complexity",
                                            "geometric_complexity_stderr"};
static const char *const col_units[NCOL] = {"1", "1", "1", "1", "1", "s", "1", "1", "1"};

/* Save the training state: trainer blob, history, config. */
static int save_state(const char *path, const psfwi_trainer *tr, const double *hist, size_t nep,
                      const char *cfg_text, const psfwi_meta *meta, psfwi_error *err) {
  const size_t n = psfwi_trainer_state_size(tr);
  unsigned char *blob = malloc(n);
  if (blob == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the state");
  int st = psfwi_trainer_state_save(tr, blob, n, err);
  if (st == PSFWI_OK) {
    const psfwi_state_item items[] = {
        {"trainer", PSFWI_STATE_U8, n, blob},
        {"history", PSFWI_STATE_F64, nep * NCOL, (void *)hist},
        {"config", PSFWI_STATE_U8, strlen(cfg_text), (void *)cfg_text},
    };
    st = psfwi_state_write(path, "dnn", items, 3, meta, err);
  }
  free(blob);
  return st;
}

static int load_state(const char *path, psfwi_trainer *tr, double *hist, size_t max_ep, size_t *nep,
                      const char *cfg_text, psfwi_error *err) {
  psfwi_state_item *items = NULL;
  size_t n = 0;
  int st = psfwi_state_read(path, "dnn", &items, &n, err);
  if (st != PSFWI_OK) return st;
  if (psfwi_state_config_differs(items, n, cfg_text)) {
    st = psfwi_fail(err, PSFWI_EINVAL,
                    "'%s' was written by a training with another configuration; remove it or "
                    "train without --resume",
                    path);
  } else {
    const psfwi_state_item *tb =
        psfwi_state_find(items, n, "trainer", PSFWI_STATE_U8, (size_t)-1, path, err);
    const psfwi_state_item *hb =
        tb ? psfwi_state_find(items, n, "history", PSFWI_STATE_F64, (size_t)-1, path, err) : NULL;
    if (tb == NULL || hb == NULL) {
      st = err->status;
    } else if (hb->n % NCOL != 0 || hb->n / NCOL > max_ep) {
      st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': history of %zu values", path, hb->n);
    } else if ((st = psfwi_trainer_state_restore(tr, tb->data, tb->n, err)) == PSFWI_OK) {
      *nep = hb->n / NCOL;
      memcpy(hist, hb->data, hb->n * sizeof(double));
      if (*nep != psfwi_trainer_epochs_done(tr))
        st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': %zu history rows for %zu epochs", path, *nep,
                        psfwi_trainer_epochs_done(tr));
    }
    if (st != PSFWI_OK) psfwi_error_prefix(err, "resuming: ");
  }
  psfwi_state_free(items, n);
  return st;
}

static int arch_from_config(const psfwi_config *cfg, size_t in_c, size_t nz, psfwi_arch *a,
                            char **file_text, psfwi_error *err) {
  *file_text = NULL;
  if (strcmp(psfwi_config_string(cfg, "network", "architecture"), "file") == 0) {
    const char *path = psfwi_config_require(cfg, "network", "file", err);
    if (path == NULL) return err->status;
    int st = psfwi_text_read_file(path, 1 << 20, file_text, err);
    if (st == PSFWI_OK) st = psfwi_arch_parse(*file_text, path, a, err);
    if (st == PSFWI_OK && a->in_c != in_c)
      st = psfwi_fail(err, PSFWI_EINVAL, "'%s': [input] channels = %zu, the features have %zu",
                      path, a->in_c, in_c);
    (void)nz;
    return st;
  }
  psfwi_hourglass_opts o;
  psfwi_hourglass_defaults(&o);
  o.base = (size_t)psfwi_config_int(cfg, "network", "base");
  o.levels = (size_t)psfwi_config_int(cfg, "network", "levels");
  o.k = (size_t)psfwi_config_int(cfg, "network", "kernel");
  if (o.k % 2 == 0)
    return psfwi_fail(err, PSFWI_ERANGE, "[network] kernel = %zu: expected an odd size", o.k);
  const char *norm = psfwi_config_string(cfg, "network", "norm");
  o.norm = strcmp(norm, "batch") == 0 ? 1 : strcmp(norm, "layer") == 0 ? 2 : 0;
  int st = psfwi_nn_act_parse(psfwi_config_string(cfg, "network", "activation"), &o.act, err);
  if (st != PSFWI_OK) return st;
  o.dropout = psfwi_config_double(cfg, "network", "dropout");
  return psfwi_arch_hourglass(&o, in_c, nz, a, err);
}

static int dnn_train(int argc, char **argv) {
  int resume = 0, n = 0;
  size_t stop_after = 0;
  psfwi_error err = {0};
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--resume") == 0) {
      resume = 1;
    } else if (strcmp(argv[i], "--stop-after") == 0) {
      if (i + 1 >= argc) return cli_usage_error("dnn train", "--stop-after needs a number");
      if (cli_size("--stop-after", argv[++i], 1, 1000000000, &stop_after, &err) != PSFWI_OK)
        return cli_error(&err);
    } else {
      argv[n++] = argv[i];
    }
  }
  int code;
  psfwi_config *cfg =
      cli_config_from_args("dnn train", train_usage, train_keys,
                           sizeof train_keys / sizeof train_keys[0], n, argv, &code);
  if (cfg == NULL) return code;
  dataset d = {0};
  psfwi_arch arch = {0};
  psfwi_nn *nn = NULL;
  psfwi_trainer *tr = NULL;
  char *cfg_text = cli_config_text(cfg), *state_path = NULL, *arch_file = NULL;
  double *hist = NULL;
  float *mean = NULL, *sd = NULL;
  psfwi_netfile nf = {0};
  int st = PSFWI_OK;
  const char *prefix = psfwi_config_require(cfg, "data", "train", &err);
  const char *out = prefix ? psfwi_config_require(cfg, "output", "network", &err) : NULL;
  if (out == NULL) st = err.status;
  if (st == PSFWI_OK) {
    const char *sp = psfwi_config_string(cfg, "output", "state");
    state_path = sp ? strdup(sp) : cli_default_state_path(out);
    if (state_path == NULL || cfg_text == NULL)
      st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  }
  if (st == PSFWI_OK) {
    static const char *const inputs[] = {"network.file", NULL};
    static const char *const outputs[] = {"output.network", NULL};
    const psfwi_run_file extra[] = {{"[output] state", state_path, 1}};
    st = cli_check_run_files(cfg, inputs, outputs, extra, 1, &err);
  }
  const long threads = psfwi_config_int(cfg, "training", "threads");
  if (threads > 0) psfwi_nn_set_blas_threads((int)threads);
#ifdef _OPENMP
  if (threads > 0) omp_set_num_threads((int)threads);
#endif
  if (st == PSFWI_OK)
    st = dataset_load(prefix, (size_t)psfwi_config_int(cfg, "data", "max_samples"), &d, &err);
  /* velocity scaling and feature standardisation */
  double vmin = INFINITY, vmax = -INFINITY;
  if (st == PSFWI_OK) {
    const size_t nt = d.n * d.nz * d.width;
    for (size_t i = 0; i < nt; i++) {
      if (d.t[i] < vmin) vmin = d.t[i];
      if (d.t[i] > vmax) vmax = d.t[i];
    }
    if (psfwi_config_is_set(cfg, "data", "vmin")) vmin = psfwi_config_double(cfg, "data", "vmin");
    if (psfwi_config_is_set(cfg, "data", "vmax")) vmax = psfwi_config_double(cfg, "data", "vmax");
    if (!(vmax > vmin))
      st = psfwi_fail(&err, PSFWI_ERANGE, "[data] vmin = %g, vmax = %g m/s: expected vmin < vmax",
                      vmin, vmax);
    mean = malloc(d.nchan * sizeof *mean);
    sd = malloc(d.nchan * sizeof *sd);
    if (st == PSFWI_OK && (!mean || !sd)) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    if (st == PSFWI_OK) {
      psfwi_learn_scale_velocity(d.t, nt, vmin, vmax);
      psfwi_learn_channel_stats(d.x, d.n, d.nchan, d.width, mean, sd);
      psfwi_learn_standardise(d.x, d.n, d.nchan, d.width, mean, sd);
    }
  }
  psfwi_train_opts to;
  psfwi_train_defaults(&to);
  if (st == PSFWI_OK)
    st = cli_sgd_options(cfg, psfwi_config_double(cfg, "training", "learning_rate"), &to.sgd,
                         &to.schedule, &to.clip, &err);
  if (st == PSFWI_OK) {
    to.batch = (size_t)psfwi_config_int(cfg, "training", "batch");
    to.epochs = (size_t)psfwi_config_int(cfg, "training", "epochs");
    const char *loss = psfwi_config_string(cfg, "training", "loss");
    to.loss = strcmp(loss, "mse") == 0     ? PSFWI_NN_MSE
              : strcmp(loss, "huber") == 0 ? PSFWI_NN_HUBER
                                           : PSFWI_NN_L1;
    to.huber_delta = psfwi_config_double(cfg, "training", "huber_delta");
    to.val_fraction = psfwi_config_double(cfg, "training", "validation");
    to.patience = (size_t)psfwi_config_int(cfg, "training", "patience");
    to.seed = (uint64_t)psfwi_config_int(cfg, "training", "seed");
    st = arch_from_config(cfg, d.nchan, d.nz, &arch, &arch_file, &err);
  }
  if (st == PSFWI_OK) {
    const size_t b = to.batch < d.n ? to.batch : d.n;
    nn = psfwi_arch_build(&arch, d.width, b, &err);
    if (nn == NULL) st = err.status;
  }
  psfwi_train_data td = {d.n, d.nchan, d.width, d.nz, d.x, d.t};
  if (st == PSFWI_OK) {
    psfwi_nn_init(nn, to.seed);
    tr = psfwi_trainer_create(nn, &td, &to, &err);
    if (tr == NULL) st = err.status;
  }
  if (st == PSFWI_OK) {
    psfwi_nn_pen_opts po;
    psfwi_nn_pen_defaults(&po);
    po.l1 = psfwi_config_double(cfg, "regularization", "l1");
    po.l2 = psfwi_config_double(cfg, "regularization", "l2");
    po.spectral = psfwi_config_double(cfg, "regularization", "spectral");
    po.spectral_iter = (size_t)psfwi_config_int(cfg, "regularization", "spectral_iter");
    po.jacobian = psfwi_config_double(cfg, "regularization", "jacobian");
    po.jacobian_step = psfwi_config_double(cfg, "regularization", "jacobian_step");
    po.jacobian_draws = (size_t)psfwi_config_int(cfg, "regularization", "jacobian_draws");
    po.jacobian_kind =
        strcmp(psfwi_config_string(cfg, "regularization", "jacobian_kind"), "operator") == 0
            ? PSFWI_NN_JAC_OPERATOR
            : PSFWI_NN_JAC_FROBENIUS;
    po.jacobian_power_iter = (size_t)psfwi_config_int(cfg, "regularization", "jacobian_power_iter");
    po.jacobian_samples = (size_t)psfwi_config_int(cfg, "regularization", "jacobian_samples");
    po.nuclear = psfwi_config_double(cfg, "regularization", "jacobian_nuclear");
    po.nuclear_split = (int)psfwi_config_int(cfg, "regularization", "jacobian_nuclear_split");
    po.nuclear_step = psfwi_config_double(cfg, "regularization", "jacobian_nuclear_step");
    po.seed = to.seed;
    st = psfwi_trainer_set_net_penalty(tr, &po, &err);
    if (st == PSFWI_OK)
      st = psfwi_trainer_set_adversarial(
          tr, psfwi_config_double(cfg, "regularization", "adversarial"),
          psfwi_config_double(cfg, "regularization", "adversarial_eps"),
          (size_t)psfwi_config_int(cfg, "regularization", "adversarial_steps"), &err);
  }
  hist = calloc(to.epochs * NCOL + 1, sizeof *hist);
  if (st == PSFWI_OK && hist == NULL) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  size_t nep = 0;
  psfwi_meta meta = cli_meta("psfwi DNN training state");
  meta.config = cfg_text;
  if (st == PSFWI_OK && resume) {
    st = load_state(state_path, tr, hist, to.epochs, &nep, cfg_text, &err);
    if (st == PSFWI_OK)
      fprintf(stderr, "dnn train: resuming from '%s' after epoch %zu\n", state_path, nep);
  }
  if (st == PSFWI_OK) {
    printf(
        "dnn train: %zu samples (%zu for validation), features %zu x %zu, targets %zu x %zu, "
        "%zu parameters, velocity scaled from [%g, %g] m/s\n",
        d.n, psfwi_trainer_nval(tr), d.nchan, d.width, d.nz, d.width, psfwi_nn_nparam(nn), vmin,
        vmax);
    fflush(stdout);
  }
  const double t0 = psfwi_seconds();
  size_t run_epochs = 0;
  int done = nep >= to.epochs;
  while (st == PSFWI_OK && !done) {
    psfwi_train_epoch info;
    st = psfwi_trainer_epoch(tr, &info, &err);
    if (st != PSFWI_OK) break;
    double *row = hist + nep * NCOL;
    row[0] = info.train_loss;
    row[1] = info.val_loss;
    row[2] = info.penalty;
    row[3] = info.lr;
    row[4] = info.grad_norm;
    row[5] = info.seconds;
    row[6] = info.improved;
    /* geometric complexity of every network, regularized or not: 256
     * held-out samples, one projection each (docs/learn.md) */
    st = psfwi_trainer_geometric_complexity(tr, 256, 1, to.seed + nep, &row[7], &row[8], &err);
    if (st != PSFWI_OK) break;
    nep++;
    run_epochs++;
    char el[32], eta[32];
    const double spent = psfwi_seconds() - t0;
    cli_fmt_time(spent, el, sizeof el);
    cli_fmt_time(spent / (double)run_epochs * (double)(to.epochs - nep), eta, sizeof eta);
    fprintf(stderr,
            "dnn train: epoch %4zu/%zu  loss %.5f  val %.5f%s  lr %.3g  |g| %.3g  gc %.3g  %s  "
            "ETA %s\n",
            nep, to.epochs, info.train_loss, info.val_loss, info.improved ? "*" : " ", info.lr,
            info.grad_norm, row[7], el, info.stop && nep < to.epochs ? "(early stop)" : eta);
    st = save_state(state_path, tr, hist, nep, cfg_text, &meta, &err);
    done = info.stop;
    if (st == PSFWI_OK && stop_after && run_epochs >= stop_after && !done) {
      fprintf(stderr, "dnn train: stopped after %zu epochs as asked; --resume continues\n",
              run_epochs);
      st = PSFWI_EINTERRUPTED;
      psfwi_fail(&err, st, "stopped after %zu epochs (--stop-after)", run_epochs);
    }
  }
  if (st == PSFWI_OK) {
    psfwi_trainer_use_best(tr);
    nf.architecture = psfwi_arch_text(&arch);
    nf.acquisition = d.acq_text;
    nf.nparam = psfwi_nn_nparam(nn);
    nf.params = psfwi_nn_params(nn);
    nf.nbuffer = psfwi_nn_nbuffer(nn);
    nf.buffers = psfwi_nn_buffers(nn);
    nf.nchan = d.nchan;
    nf.feature_mean = mean;
    nf.feature_std = sd;
    nf.vmin = vmin;
    nf.vmax = vmax;
    nf.nepoch = nep;
    nf.ncol = NCOL;
    nf.col_names = (char **)col_names;
    nf.col_units = (char **)col_units;
    nf.history = hist;
    psfwi_meta nm = cli_meta("psfwi DNN (pseudo-spectral data to velocity)");
    nm.config = cfg_text;
    if (nf.architecture == NULL) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    if (st == PSFWI_OK) st = psfwi_nc_write_network(out, &nf, &nm, &err);
    if (st == PSFWI_OK) printf("wrote %s\n", out);
    free(nf.architecture);
  }
  if (st != PSFWI_OK) cli_error(&err);
  free(hist);
  free(mean);
  free(sd);
  free(arch_file);
  free(state_path);
  free(cfg_text);
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  psfwi_arch_free(&arch);
  dataset_free(&d);
  psfwi_config_destroy(cfg);
  return st == PSFWI_OK ? 0 : st == PSFWI_EINTERRUPTED ? 3 : 1;
}

/* ---- Predict --------------------------------------------------------------------- */

/* A network file with its architecture and acquisition parsed. */
typedef struct loaded_net {
  const char *path; /* as given */
  psfwi_netfile *nf;
  psfwi_arch arch;
  psfwi_learn_acq acq;
} loaded_net;

static int net_load(const char *path, loaded_net *ln, psfwi_error *err) {
  memset(ln, 0, sizeof *ln);
  ln->path = path;
  ln->nf = psfwi_nc_read_network(path, err);
  if (ln->nf == NULL) return err->status;
  int st = psfwi_arch_parse(ln->nf->architecture, path, &ln->arch, err);
  if (st == PSFWI_OK) st = psfwi_learn_acq_parse(ln->nf->acquisition, path, &ln->acq, err);
  if (st == PSFWI_OK && ln->arch.in_c != ln->nf->nchan)
    st = psfwi_fail(err, PSFWI_EFORMAT,
                    "'%s': the architecture takes %zu channels, the file "
                    "normalises %zu",
                    path, ln->arch.in_c, ln->nf->nchan);
  return st;
}

static void net_free(loaded_net *ln) {
  psfwi_netfile_destroy(ln->nf);
  psfwi_arch_free(&ln->arch);
}

/* Build the network for width and load its weights. */
static psfwi_nn *net_build(const loaded_net *ln, const char *path, size_t width, psfwi_error *err) {
  psfwi_nn *nn = psfwi_arch_build(&ln->arch, width, 1, err);
  if (nn == NULL) return NULL;
  if (psfwi_nn_nparam(nn) != ln->nf->nparam || psfwi_nn_nbuffer(nn) != ln->nf->nbuffer) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': %zu parameters and %zu buffers stored, the architecture "
               "has %zu and %zu",
               path, ln->nf->nparam, ln->nf->nbuffer, psfwi_nn_nparam(nn), psfwi_nn_nbuffer(nn));
    psfwi_nn_destroy(nn);
    return NULL;
  }
  memcpy(psfwi_nn_params(nn), ln->nf->params, ln->nf->nparam * sizeof(float));
  memcpy(psfwi_nn_buffers(nn), ln->nf->buffers, ln->nf->nbuffer * sizeof(float));
  return nn;
}

static int dnn_predict(int argc, char **argv) {
  const char *nets = NULL, *data = NULL, *like = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (i + 1 >= argc) return cli_usage_error("dnn predict", "'%s' needs a value", a);
    if (strcmp(a, "--net") == 0)
      nets = argv[++i];
    else if (strcmp(a, "--data") == 0)
      data = argv[++i];
    else if (strcmp(a, "--like") == 0)
      like = argv[++i];
    else if (strcmp(a, "-o") == 0)
      out = argv[++i];
    else
      return cli_usage_error("dnn predict", "unknown option '%s'", a);
  }
  if (!nets || !data || !like || !out)
    return cli_usage_error("dnn predict", "--net, --data, --like and -o are all required");
  psfwi_error err = {0};
  char *list = strdup(nets);
  psfwi_gather *g = NULL;
  psfwi_model *m = NULL;
  psfwi_features *feat = NULL;
  float *x = NULL, *t = NULL, *xraw = NULL; /* xraw: the last features, unstandardised */
  psfwi_learn_acq raw_net, raw_data;        /* ... for this network's acquisition, and the
                                                data's as the features saw it */
  int have_raw = 0;
  size_t raw_n = 0;
  double *sum = NULL, *sum2 = NULL;
  float *sd = NULL;
  size_t nnet = 0;
  int st = list ? PSFWI_OK : psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  /* outputs must not overwrite inputs */
  if (st == PSFWI_OK) {
    psfwi_run_file files[34];
    size_t nf = 0;
    files[nf++] = (psfwi_run_file){"--data", data, 0};
    files[nf++] = (psfwi_run_file){"--like", like, 0};
    files[nf++] = (psfwi_run_file){"-o", out, 1};
    char *copy = strdup(nets), *save = NULL;
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p && nf < 34;
         p = strtok_r(NULL, ",", &save))
      files[nf++] = (psfwi_run_file){"--net", p, 0};
    st = psfwi_check_run_files(files, nf, &err);
    free(copy);
  }
  if (st == PSFWI_OK && (g = psfwi_nc_read_gather(data, &err)) == NULL) st = err.status;
  if (st == PSFWI_OK && (m = psfwi_nc_read_model(like, NULL, &err)) == NULL) st = err.status;
  const size_t ncell = m ? psfwi_grid_size(&m->grid) : 0;
  if (st == PSFWI_OK) {
    sum = calloc(ncell, sizeof *sum);
    sum2 = calloc(ncell, sizeof *sum2);
    sd = calloc(ncell, sizeof *sd);
    if (!sum || !sum2 || !sd) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  }
  char *save = NULL;
  for (char *path = st == PSFWI_OK ? strtok_r(list, ",", &save) : NULL; path && st == PSFWI_OK;
       path = strtok_r(NULL, ",", &save)) {
    loaded_net ln;
    psfwi_nn *nn = NULL;
    st = net_load(path, &ln, &err);
    psfwi_learn_acq da;
    /* networks of one ensemble usually share their features: computed once */
    psfwi_error same_err;
    const int reuse = st == PSFWI_OK && have_raw &&
                      psfwi_learn_acq_compare(&raw_net, &ln.acq, "", &same_err) == PSFWI_OK &&
                      psfwi_learn_acq_compare(&ln.acq, &raw_net, "", &same_err) == PSFWI_OK;
    if (st == PSFWI_OK && reuse) {
      da = raw_data; /* still compared with this network's below */
    } else if (st == PSFWI_OK) {
      da = ln.acq; /* the features the network wants, on this survey and grid */
      feat = psfwi_features_create(&da, g->survey, &m->grid, g->nt, g->dt, &err);
      if (feat == NULL) st = err.status;
    }
    if (st == PSFWI_OK) {
      /* a gather does not record its wavelet's peak frequency: the user
       * answers for the wavelet (docs/learn.md) */
      da.f_peak = ln.acq.f_peak;
      char what[4200];
      snprintf(what, sizeof what, "'%s' (with the grid of '%s')", data, like);
      st = psfwi_learn_acq_compare(&ln.acq, &da, what, &err);
      if (st != PSFWI_OK) psfwi_error_prefix(&err, "network '%s': ", path);
    }
    const size_t nchan = reuse  ? psfwi_learn_channels(&raw_net)
                         : feat ? psfwi_features_channels(feat)
                                : 0;
    const size_t width = reuse ? m->grid.nx : feat ? psfwi_features_width(feat) : 0;
    if (st == PSFWI_OK && width != m->grid.nx)
      st = psfwi_fail(&err, PSFWI_EINVAL, "%zu feature positions for %zu model columns", width,
                      m->grid.nx);
    if (st == PSFWI_OK) {
      free(x);
      free(t);
      x = malloc(nchan * width * sizeof *x);
      t = malloc(ncell * sizeof *t);
      if (!x || !t) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    }
    if (st == PSFWI_OK && !reuse) {
      st = psfwi_features_compute(feat, g->data, x, &err);
      float *keep = st == PSFWI_OK ? realloc(xraw, nchan * width * sizeof *xraw) : NULL;
      if (keep) { /* (without memory for the copy, the next network computes its own) */
        xraw = keep;
        memcpy(xraw, x, nchan * width * sizeof *x);
        raw_net = ln.acq;
        raw_data = da;
        raw_n = nchan * width;
        have_raw = 1;
      }
    } else if (st == PSFWI_OK) {
      memcpy(x, xraw, raw_n * sizeof *x);
    }
    if (st == PSFWI_OK) {
      psfwi_learn_standardise(x, 1, nchan, width, ln.nf->feature_mean, ln.nf->feature_std);
      nn = net_build(&ln, path, width, &err);
      if (nn == NULL) st = err.status;
    }
    if (st == PSFWI_OK)
      st = psfwi_learn_predict(nn, &ln.arch, x, nchan, width, m->grid.nz, t, &err);
    if (st == PSFWI_OK) {
      psfwi_learn_unscale_velocity(t, ncell, ln.nf->vmin, ln.nf->vmax);
      /* the network learnt velocities in [vmin, vmax]: keep its output there */
      const float lo = (float)ln.nf->vmin, hi = (float)ln.nf->vmax;
      size_t nclip = 0;
      for (size_t i = 0; i < ncell; i++) {
        if (t[i] < lo || t[i] > hi) {
          t[i] = t[i] < lo ? lo : hi;
          nclip++;
        }
        sum[i] += t[i];
        sum2[i] += (double)t[i] * t[i];
      }
      if (nclip > 0)
        fprintf(stderr,
                "dnn predict: note: '%s' predicted %zu of %zu cells outside its training range "
                "[%g, %g] m/s; they were clipped to it (many such cells: the data are unlike the "
                "training data)\n",
                path, nclip, ncell, ln.nf->vmin, ln.nf->vmax);
      nnet++;
    }
    psfwi_nn_destroy(nn);
    psfwi_features_destroy(feat);
    feat = NULL;
    net_free(&ln);
  }
  if (st == PSFWI_OK) {
    for (size_t i = 0; i < ncell; i++) {
      const double mu = sum[i] / (double)nnet;
      const double var = nnet > 1 ? (sum2[i] - (double)nnet * mu * mu) / (double)(nnet - 1) : 0;
      m->vp[i] = (float)mu;
      sd[i] = (float)sqrt(var > 0 ? var : 0);
    }
  }
  if (st == PSFWI_OK) {
    psfwi_meta meta =
        cli_meta(nnet > 1 ? "psfwi DNN prediction (mean of an ensemble)" : "psfwi DNN prediction");
    const psfwi_nc_model_field f = {"vp_std", "m/s",
                                    "standard deviation of the ensemble's predictions", sd};
    st = psfwi_nc_write_model_extra(out, m, nnet > 1 ? 1 : 0, &f, &meta, &err);
    if (st == PSFWI_OK)
      printf("wrote %s (%zu network%s%s)\n", out, nnet, nnet > 1 ? "s" : "",
             nnet > 1 ? ", with vp_std" : "");
  }
  if (st != PSFWI_OK) cli_error(&err);
  free(list);
  free(x);
  free(xraw);
  free(t);
  free(sum);
  free(sum2);
  free(sd);
  psfwi_gather_destroy(g);
  psfwi_model_destroy(m);
  return st == PSFWI_OK ? 0 : 1;
}

/* ---- Test ---------------------------------------------------------------------------- */

static int dnn_test(int argc, char **argv) {
  const char *net = NULL, *data = NULL, *range = NULL, *noise = NULL, *seed_s = NULL;
  int csv = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (i + 1 >= argc) return cli_usage_error("dnn test", "'%s' needs a value", a);
    if (strcmp(a, "--net") == 0)
      net = argv[++i];
    else if (strcmp(a, "--data") == 0)
      data = argv[++i];
    else if (strcmp(a, "--range") == 0)
      range = argv[++i];
    else if (strcmp(a, "--noise") == 0)
      noise = argv[++i];
    else if (strcmp(a, "--seed") == 0)
      seed_s = argv[++i];
    else if (strcmp(a, "--format") == 0) {
      const char *f = argv[++i];
      if (strcmp(f, "csv") != 0 && strcmp(f, "table") != 0)
        return cli_usage_error("dnn test", "--format '%s': expected table or csv", f);
      csv = strcmp(f, "csv") == 0;
    } else
      return cli_usage_error("dnn test", "unknown option '%s'", a);
  }
  if (!net || !data) return cli_usage_error("dnn test", "--net and --data are required");
  double snr_db = NAN;
  unsigned long long seed = 1;
  if (noise) {
    char *end;
    snr_db = strtod(noise, &end);
    if (end == noise || *end || !isfinite(snr_db) || snr_db < -60 || snr_db > 200)
      return cli_usage_error("dnn test",
                             "--noise '%s': expected a signal-to-noise ratio in dB "
                             "in [-60, 200]",
                             noise);
  }
  if (seed_s) {
    char *end;
    errno = 0;
    seed = strtoull(seed_s, &end, 10);
    if (end == seed_s || *end || errno || seed_s[0] == '-')
      return cli_usage_error("dnn test", "--seed '%s': expected a non-negative integer", seed_s);
    if (!noise)
      return cli_usage_error("dnn test", "--seed is the seed of --noise, which is not given");
  }
  psfwi_error err = {0};
  enum { MAX_NETS = 32 };
  loaded_net ln[MAX_NETS];
  psfwi_nn *nn[MAX_NETS] = {0};
  size_t nnet = 0;
  dataset d = {0};
  float *t = NULL, *sum = NULL, *xs = NULL, *a01 = NULL, *b01 = NULL;
  int st = PSFWI_OK;
  /* the networks: one, or an ensemble scored by the mean of its predictions */
  char *list = strdup(net), *save = NULL;
  if (list == NULL) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  for (char *p = list ? strtok_r(list, ",", &save) : NULL; p && st == PSFWI_OK;
       p = strtok_r(NULL, ",", &save)) {
    if (nnet == MAX_NETS) {
      st = psfwi_fail(&err, PSFWI_EINVAL, "--net: more than %d networks", MAX_NETS);
      break;
    }
    st = net_load(p, &ln[nnet], &err);
    if (st == PSFWI_OK)
      nnet++;
    else if (ln[nnet].nf)
      net_free(&ln[nnet]);
  }
  if (st == PSFWI_OK && nnet == 0)
    st = psfwi_fail(&err, PSFWI_EINVAL, "--net '%s': no network file named", net);
  double lo = 0, hi = 0;
  if (st == PSFWI_OK) {
    lo = ln[0].nf->vmin;
    hi = ln[0].nf->vmax;
    if (range) {
      char *colon = strchr(range, ':');
      if (colon == NULL || sscanf(range, "%lf", &lo) != 1 || sscanf(colon + 1, "%lf", &hi) != 1 ||
          !(lo > 0 && hi > lo && isfinite(hi)))
        st = psfwi_fail(&err, PSFWI_EINVAL,
                        "--range '%s': expected VMIN:VMAX in m/s, 0 < VMIN < "
                        "VMAX",
                        range);
    }
  }
  if (st == PSFWI_OK) st = dataset_load(data, 0, &d, &err);
  for (size_t k = 0; k < nnet && st == PSFWI_OK; k++) {
    st = psfwi_learn_acq_compare(&ln[k].acq, &d.acq, data, &err);
    if (st != PSFWI_OK) psfwi_error_prefix(&err, "network '%s': ", ln[k].path);
    if (st == PSFWI_OK && (nn[k] = net_build(&ln[k], ln[k].path, d.width, &err)) == NULL)
      st = err.status;
  }
  const size_t ncell = d.nz * d.width, nx = d.nchan * d.width;
  if (st == PSFWI_OK) {
    t = malloc(ncell * sizeof *t);
    sum = malloc(ncell * sizeof *sum);
    xs = malloc(nx * sizeof *xs);
    a01 = malloc(ncell * sizeof *a01);
    b01 = malloc(ncell * sizeof *b01);
    if (!t || !sum || !xs || !a01 || !b01) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    /* noise on the features as the networks receive them from the data,
       before the standardisation each learnt; one draw sequence per sample */
    for (size_t s = 0; noise && s < d.n; s++)
      psfwi_features_add_noise(d.x + s * nx, nx, snr_db, psfwi_mix64(seed + s), NULL);
  }
  double mae = 0, mse = 0, ssim = 0, mae_ms = 0, rel = 0;
  for (size_t s = 0; s < d.n && st == PSFWI_OK; s++) {
    for (size_t i = 0; i < ncell; i++) sum[i] = 0.0f;
    for (size_t k = 0; k < nnet && st == PSFWI_OK; k++) {
      memcpy(xs, d.x + s * nx, nx * sizeof *xs);
      psfwi_learn_standardise(xs, 1, d.nchan, d.width, ln[k].nf->feature_mean,
                              ln[k].nf->feature_std);
      st = psfwi_learn_predict(nn[k], &ln[k].arch, xs, d.nchan, d.width, d.nz, t, &err);
      if (st != PSFWI_OK) break;
      psfwi_learn_unscale_velocity(t, ncell, ln[k].nf->vmin, ln[k].nf->vmax);
      for (size_t i = 0; i < ncell; i++) sum[i] += t[i];
    }
    if (st != PSFWI_OK) break;
    const float *v = d.t + s * ncell;
    double e1 = 0, e2 = 0, n2 = 0;
    for (size_t i = 0; i < ncell; i++) {
      const float mean = sum[i] / (float)nnet;
      const double r = (double)mean - v[i];
      e1 += fabs(r);
      e2 += r * r;
      n2 += (double)v[i] * v[i];
      a01[i] = (float)((mean - lo) / (hi - lo));
      b01[i] = (float)((v[i] - lo) / (hi - lo));
    }
    const double sc = 2.0 / (hi - lo); /* m/s -> [-1, 1] units */
    mae += sc * e1 / (double)ncell;
    mse += sc * sc * e2 / (double)ncell;
    mae_ms += e1 / (double)ncell;
    rel += 100.0 * sqrt(e2 / n2);
    double q;
    st = psfwi_ssim(a01, b01, d.width, d.nz, 1.0, &q, &err);
    ssim += q;
  }
  if (st == PSFWI_OK && csv) {
    const double n = (double)d.n;
    printf("network,data,samples,noise_db,mae,rmse,ssim,mae_ms,rel_pct\n");
    /* an ensemble's files are joined by ';' in the CSV */
    printf("%s", ln[0].path);
    for (size_t k = 1; k < nnet; k++) printf(";%s", ln[k].path);
    printf(",%s,%zu,%s,%.6f,%.6f,%.6f,%.3f,%.4f\n", data, d.n, noise ? noise : "", mae / n,
           sqrt(mse / n), ssim / n, mae_ms / n, rel / n);
  } else if (st == PSFWI_OK) {
    const double n = (double)d.n;
    if (nnet > 1)
      printf("dnn test: %zu samples of '%s', the mean of %zu networks '%s', range [%g, %g] m/s\n",
             d.n, data, nnet, net, lo, hi);
    else
      printf("dnn test: %zu samples of '%s', network '%s', range [%g, %g] m/s\n", d.n, data, net,
             lo, hi);
    if (noise)
      printf(
          "  inputs with white Gaussian noise at %g dB SNR on the non-zero features (seed "
          "%llu)\n",
          snr_db, seed);
    printf(
        "  MAE  %.4f   RMSE %.4f   (velocity scaled to [-1, 1]; RMSE: root of the mean "
        "per-model MSE)\n",
        mae / n, sqrt(mse / n));
    printf("  SSIM %.4f   (maps scaled to [0, 1], 11 x 11 Gaussian window)\n", ssim / n);
    printf("  MAE  %.1f m/s   relative error %.2f %%\n", mae_ms / n, rel / n);
  }
  if (st != PSFWI_OK) cli_error(&err);
  free(list);
  free(t);
  free(sum);
  free(xs);
  free(a01);
  free(b01);
  for (size_t k = 0; k < nnet; k++) {
    psfwi_nn_destroy(nn[k]);
    net_free(&ln[k]);
  }
  dataset_free(&d);
  return st == PSFWI_OK ? 0 : 1;
}

/* ---- Info -------------------------------------------------------------------------- */

static int dnn_info(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (argc != 2) return cli_usage_error("dnn info", "expected one network file");
  psfwi_error err = {0};
  loaded_net ln;
  int st = net_load(argv[1], &ln, &err);
  psfwi_nn *nn = NULL;
  if (st == PSFWI_OK) {
    const size_t width = ln.acq.mode == PSFWI_LEARN_WHOLE ? ln.acq.nrec : 64;
    nn = net_build(&ln, argv[1], width, &err);
    if (nn == NULL) st = err.status;
    if (st == PSFWI_OK) {
      printf("%s: %zu parameters, %zu buffers; velocity scaled from [%g, %g] m/s\n", argv[1],
             psfwi_nn_nparam(nn), psfwi_nn_nbuffer(nn), ln.nf->vmin, ln.nf->vmax);
      printf("layers (shapes for %zu positions, padded to %zu):\n", width,
             psfwi_arch_padded_width(&ln.arch, width));
      size_t c, h, w;
      psfwi_nn_shape(nn, -1, &c, &h, &w);
      printf("  input         (%zu, %zu, %zu)\n", c, h, w);
      for (size_t i = 0; i < psfwi_nn_nlayer(nn); i++) {
        const psfwi_nn_layer *l = &psfwi_nn_layers(nn)[i];
        size_t off, cnt, nw;
        psfwi_nn_param_range(nn, i, &off, &cnt, &nw);
        psfwi_nn_shape(nn, (int)i, &c, &h, &w);
        printf("  %3zu %-10s (%zu, %zu, %zu)  %8zu params%s%s", i, psfwi_nn_kind_name(l->kind), c,
               h, w, cnt, l->act ? "  " : "", l->act ? psfwi_nn_act_name(l->act) : "");
        if (l->kind == PSFWI_NN_ADD) printf("  + layer %d", l->from);
        printf("\n");
      }
      printf("acquisition:\n%s", ln.nf->acquisition);
      const psfwi_netfile *nf = ln.nf;
      if (nf->nepoch > 0) {
        size_t kv = nf->ncol, kt = nf->ncol;
        for (size_t k = 0; k < nf->ncol; k++) {
          if (strcmp(nf->col_names[k], "val_loss") == 0) kv = k;
          if (strcmp(nf->col_names[k], "train_loss") == 0) kt = k;
        }
        double best = INFINITY;
        size_t be = 0;
        for (size_t e = 0; kv < nf->ncol && e < nf->nepoch; e++)
          if (nf->history[e * nf->ncol + kv] < best) best = nf->history[e * nf->ncol + kv], be = e;
        printf("training: %zu epochs", nf->nepoch);
        if (kt < nf->ncol)
          printf(", last train loss %.5g", nf->history[(nf->nepoch - 1) * nf->ncol + kt]);
        if (isfinite(best)) printf(", best validation loss %.5g at epoch %zu", best, be + 1);
        printf("\n");
      }
    }
  }
  psfwi_nn_destroy(nn);
  if (ln.nf) net_free(&ln);
  if (st != PSFWI_OK) return cli_error(&err);
  return 0;
}

int cmd_dnn(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "train") == 0) return dnn_train(argc - 1, argv + 1);
  if (strcmp(argv[1], "predict") == 0) return dnn_predict(argc - 1, argv + 1);
  if (strcmp(argv[1], "info") == 0) return dnn_info(argc - 1, argv + 1);
  if (strcmp(argv[1], "test") == 0) return dnn_test(argc - 1, argv + 1);
  return cli_usage_error("dnn", "unknown subcommand '%s' (expected train, predict, test or info)",
                         argv[1]);
}
