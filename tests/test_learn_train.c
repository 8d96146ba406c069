/* learn/: network descriptions (INI round trip, errors), the trainer (it
 * learns a layered-earth mapping to a stated error; resuming a saved state
 * continues bit for bit; a seed reproduces a run), the network file round
 * trip, and the normalisation helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi.h"
#include "testutil.h"

/* A call that must succeed; on failure the message says why. */
#define assert_ok(call)                                                      \
  do {                                                                       \
    const int st_ = (call);                                                  \
    if (st_ != PSFWI_OK) fail_msg("%s: status %d: %s", #call, st_, err.msg); \
  } while (0)

/* ---- Architectures ---------------------------------------------------------------- */

static void test_hourglass_text_round_trip(void **state) {
  (void)state;
  psfwi_error err = {0};
  psfwi_hourglass_opts o;
  psfwi_hourglass_defaults(&o);
  o.base = 8;
  o.dropout = 0.25;
  o.act = PSFWI_NN_ELU;
  psfwi_arch a, b;
  assert_ok(psfwi_arch_hourglass(&o, 12, 16, &a, &err));
  assert_int_equal(a.width_multiple, 4);
  char *text = psfwi_arch_text(&a);
  assert_non_null(text);
  assert_ok(psfwi_arch_parse(text, "round trip", &b, &err));
  assert_int_equal(b.in_c, 12);
  assert_int_equal(b.width_multiple, 4);
  assert_int_equal(b.nlayer, a.nlayer);
  for (size_t i = 0; i < a.nlayer; i++) {
    const psfwi_nn_layer *x = &a.layers[i], *y = &b.layers[i];
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->act, y->act);
    assert_int_equal(x->out, y->out);
    assert_int_equal(x->k, y->k);
    assert_int_equal(x->stride, y->stride);
    assert_int_equal(x->pad, y->pad);
    assert_int_equal(x->from, y->from);
    assert_int_equal(x->bias, y->bias);
    assert_int_equal(x->init, y->init);
    assert_memory_equal(&x->rate, &y->rate, sizeof x->rate); /* NaN = unset, bit for bit */
    assert_memory_equal(&x->alpha, &y->alpha, sizeof x->alpha);
    assert_memory_equal(&x->eps, &y->eps, sizeof x->eps);
  }
  /* the hourglass keeps the width and ends with nz channels */
  psfwi_nn *nn = psfwi_arch_build(&b, 10, 3, &err);
  assert_non_null(nn);
  size_t c, h, w;
  psfwi_nn_shape(nn, -1, &c, &h, &w);
  assert_int_equal(w, 12); /* 10 padded to a multiple of 4 */
  psfwi_nn_shape(nn, (int)psfwi_nn_nlayer(nn) - 1, &c, &h, &w);
  assert_int_equal(c, 16);
  assert_int_equal(w, 12);
  psfwi_nn_destroy(nn);
  free(text);
  psfwi_arch_free(&a);
  psfwi_arch_free(&b);
}

static void expect_parse_error(const char *text, const char *needle) {
  psfwi_error err = {0};
  psfwi_arch a;
  if (psfwi_arch_parse(text, "net.ini", &a, &err) == PSFWI_OK) fail_msg("accepted: %s", text);
  if (strstr(err.msg, needle) == NULL) fail_msg("message '%s' lacks '%s'", err.msg, needle);
  assert_null(a.layers);
}

static void test_arch_parse_errors(void **state) {
  (void)state;
  expect_parse_error("[input]\nchannels = 3\n[layer]\nkind = conv3d\n", "conv3d");
  expect_parse_error("[input]\nchannels = 3\n[layer]\nkind = dense\nwidth = 4\n",
                     "net.ini:5: unknown key 'width'");
  expect_parse_error("[input]\nchannels = 3\n[layer]\nout = 4\n", "before kind");
  expect_parse_error("[layer]\nkind = dense\nout = 2\n", "channels is missing");
  expect_parse_error("[input]\nchannels = 3\n", "no [layer]");
  expect_parse_error("[input]\nchannels = 3\n[layer]\nkind = dense\n[layer]\n", "has no kind");
  expect_parse_error("[input]\nchannels = 3\n[layer]\nkind = dense\nout = -2\n", "out = -2");
  expect_parse_error("[input]\nchannels = 3\n[layers]\nkind = dense\n", "unknown section");
  expect_parse_error("[input]\nchannels = 3\n[layer]\nkind = dense\nact = swish\n", "swish");
}

/* ---- A layered-earth mapping ---------------------------------------------------------
 * One interface at depth d between velocities v1 above and v2 below. Its
 * reflection response at frequency f is r exp(-2 pi i f tau), r = (v2 -
 * v1) / (v2 + v1), tau = 2 d / v1 (two-way time), plus the direct
 * arrival's exp(-2 pi i f x / v1) at offsets x: the pseudo-spectral data of
 * a 1-D earth. Features: real and imaginary parts at NF frequencies (and
 * 2 offsets), the same at every position; the target: v(z) on NZ samples
 * scaled to [-1, 1] over [1500, 4500] m/s. */
enum { NF = 6, NCH = 4 * NF, W = 4, NZ = 16, NS = 320 };
static const double dz = 25.0;
static const double TWO_PI = 6.283185307179586;

static void layered_sample(unsigned long long *rs, float *x, float *t) {
  const double v1 = 1500 + 1500 * tu_uniform(rs);
  const double v2 = v1 + 300 + 1200 * tu_uniform(rs);
  const double d = dz * (2 + 11 * tu_uniform(rs));
  const double r = (v2 - v1) / (v2 + v1), tau = 2 * d / v1;
  for (int f = 0; f < NF; f++) {
    const double fr = 2.0 + 2.0 * f;
    for (int j = 0; j < W; j++) {
      x[(4 * f + 0) * W + j] = (float)(r * cos(TWO_PI * fr * tau) + cos(TWO_PI * fr * 200 / v1));
      x[(4 * f + 1) * W + j] = (float)(-r * sin(TWO_PI * fr * tau) - sin(TWO_PI * fr * 200 / v1));
      x[(4 * f + 2) * W + j] = (float)(r * cos(TWO_PI * fr * tau) + cos(TWO_PI * fr * 400 / v1));
      x[(4 * f + 3) * W + j] = (float)(-r * sin(TWO_PI * fr * tau) - sin(TWO_PI * fr * 400 / v1));
    }
  }
  for (int z = 0; z < NZ; z++)
    for (int j = 0; j < W; j++) t[z * W + j] = (float)(z * dz < d ? v1 : v2);
}

typedef struct problem {
  float *x, *t;
  psfwi_arch arch;
  psfwi_train_opts o;
  psfwi_train_data d;
  float mean[NCH], sd[NCH];
} problem;

static void problem_make(problem *p, size_t epochs, double dropout) {
  psfwi_error err = {0};
  p->x = malloc(NS * NCH * W * sizeof *p->x);
  p->t = malloc(NS * NZ * W * sizeof *p->t);
  assert_non_null(p->x);
  assert_non_null(p->t);
  unsigned long long rs = 12345;
  for (int s = 0; s < NS; s++) layered_sample(&rs, p->x + s * NCH * W, p->t + s * NZ * W);
  psfwi_learn_scale_velocity(p->t, NS * NZ * W, 1500, 4500);
  psfwi_learn_channel_stats(p->x, NS, NCH, W, p->mean, p->sd);
  psfwi_learn_standardise(p->x, NS, NCH, W, p->mean, p->sd);
  psfwi_hourglass_opts ho;
  psfwi_hourglass_defaults(&ho);
  ho.base = 16;
  ho.levels = 1;
  ho.k = 3;
  ho.dropout = dropout;
  assert_ok(psfwi_arch_hourglass(&ho, NCH, NZ, &p->arch, &err));
  psfwi_train_defaults(&p->o);
  p->o.batch = 16;
  p->o.epochs = epochs;
  p->o.loss = PSFWI_NN_L1;
  p->o.sgd.lr = 3e-3;
  p->o.val_fraction = 0.2;
  p->o.seed = 7;
  p->d = (psfwi_train_data){NS, NCH, W, NZ, p->x, p->t};
}

static void problem_free(problem *p) {
  free(p->x);
  free(p->t);
  psfwi_arch_free(&p->arch);
}

static void test_trainer_learns_layered_earth(void **state) {
  (void)state;
  psfwi_error err = {0};
  problem p;
  problem_make(&p, 80, 0);
  psfwi_nn *nn = psfwi_arch_build(&p.arch, W, p.o.batch, &err);
  assert_non_null(nn);
  psfwi_nn_init(nn, p.o.seed);
  psfwi_trainer *tr = psfwi_trainer_create(nn, &p.d, &p.o, &err);
  assert_non_null(tr);
  assert_int_equal(psfwi_trainer_nval(tr), 64);
  const double val0 = psfwi_trainer_val_loss(tr, &err);
  /* the best constant prediction's L1 error, for scale */
  psfwi_train_epoch info = {0};
  double first = NAN;
  while (!info.stop) {
    assert_ok(psfwi_trainer_epoch(tr, &info, &err));
    if (info.epoch == 0) first = info.train_loss;
  }
  psfwi_trainer_use_best(tr);
  const double val = psfwi_trainer_val_loss(tr, &err);
  printf(
      "layered earth: validation L1 %.4f at the start, %.4f after %zu epochs (first epoch's "
      "train loss %.4f); scaled units (1 = 1500 m/s)\n",
      val0, val, info.epoch + 1, first);
  /* the mapping is learnt: validation L1 below 0.08 scaled units (120 m/s) */
  assert_true(val < 0.08);
  assert_true(val < 0.25 * val0);
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  problem_free(&p);
}

/* Train `epochs` epochs from seed; return the parameters (malloc'ed). */
static float *train_params(problem *p, size_t epochs, size_t *np) {
  psfwi_error err = {0};
  psfwi_nn *nn = psfwi_arch_build(&p->arch, W, p->o.batch, &err);
  psfwi_nn_init(nn, p->o.seed);
  psfwi_train_opts o = p->o;
  o.epochs = epochs;
  psfwi_trainer *tr = psfwi_trainer_create(nn, &p->d, &o, &err);
  psfwi_train_epoch info = {0};
  for (size_t e = 0; e < epochs; e++) assert_ok(psfwi_trainer_epoch(tr, &info, &err));
  *np = psfwi_nn_nparam(nn) + psfwi_nn_nbuffer(nn);
  float *v = malloc(*np * sizeof *v);
  memcpy(v, psfwi_nn_params(nn), psfwi_nn_nparam(nn) * sizeof *v);
  memcpy(v + psfwi_nn_nparam(nn), psfwi_nn_buffers(nn), psfwi_nn_nbuffer(nn) * sizeof *v);
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  return v;
}

static void test_seed_and_resume_reproduce(void **state) {
  (void)state;
  psfwi_error err = {0};
  problem p;
  problem_make(&p, 4, 0.2); /* with dropout: its stream is part of the state */
  p.o.schedule.kind = PSFWI_LR_COSINE;
  p.o.schedule.t_max = 4;
  size_t n1, n2;
  float *a = train_params(&p, 4, &n1);
  float *b = train_params(&p, 4, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(a, b, n1 * sizeof *a); /* same seed: same bits */
  /* 2 epochs, save, a fresh trainer restores and runs 2 more */
  psfwi_nn *nn = psfwi_arch_build(&p.arch, W, p.o.batch, &err);
  psfwi_nn_init(nn, p.o.seed);
  psfwi_trainer *tr = psfwi_trainer_create(nn, &p.d, &p.o, &err);
  psfwi_train_epoch info;
  for (int e = 0; e < 2; e++) assert_ok(psfwi_trainer_epoch(tr, &info, &err));
  const size_t sz = psfwi_trainer_state_size(tr);
  unsigned char *blob = malloc(sz);
  assert_ok(psfwi_trainer_state_save(tr, blob, sz, &err));
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  nn = psfwi_arch_build(&p.arch, W, p.o.batch, &err);
  psfwi_nn_init(nn, 999); /* other weights: the state must overwrite them */
  tr = psfwi_trainer_create(nn, &p.d, &p.o, &err);
  assert_ok(psfwi_trainer_state_restore(tr, blob, sz, &err));
  assert_int_equal(psfwi_trainer_epochs_done(tr), 2);
  for (int e = 0; e < 2; e++) assert_ok(psfwi_trainer_epoch(tr, &info, &err));
  assert_true(info.stop);
  assert_memory_equal(psfwi_nn_params(nn), a, psfwi_nn_nparam(nn) * sizeof *a);
  assert_memory_equal(psfwi_nn_buffers(nn), a + psfwi_nn_nparam(nn),
                      psfwi_nn_nbuffer(nn) * sizeof *a);
  /* a corrupt state is refused and changes nothing */
  blob[sz - 1] ^= 1;
  assert_int_equal(psfwi_trainer_state_restore(tr, blob, sz, &err), PSFWI_EFORMAT);
  assert_non_null(strstr(err.msg, "checksum"));
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  free(blob);
  free(a);
  free(b);
  problem_free(&p);
}

/* Adversarial training: with eps = 0 the adversarial input is the input
 * and the step of weight 1 doubles the data gradient, so plain SGD gives the
 * parameters of a training at twice the learning rate, bit for bit; with
 * eps > 0 the signed-gradient step raises the loss (the penalty, the loss at
 * the adversarial inputs, exceeds the data loss of every epoch: a step of
 * the wrong sign would lower it). */
static void test_adversarial_training(void **state) {
  (void)state;
  psfwi_error err = {0};
  problem p;
  problem_make(&p, 2, 0);
  psfwi_optim_sgd_options_init(&p.o.sgd, PSFWI_SGD_PLAIN);
  p.o.sgd.lr = 1e-3;
  float *par[2];
  size_t np = 0;
  for (int k = 0; k < 2; k++) {
    psfwi_nn *nn = psfwi_arch_build(&p.arch, W, p.o.batch, &err);
    psfwi_nn_init(nn, p.o.seed);
    psfwi_train_opts o = p.o;
    if (k == 1) o.sgd.lr = 2e-3;
    psfwi_trainer *tr = psfwi_trainer_create(nn, &p.d, &o, &err);
    if (k == 0) assert_ok(psfwi_trainer_set_adversarial(tr, 1.0, 0.0, 1, &err));
    psfwi_train_epoch info;
    for (int e = 0; e < 2; e++) assert_ok(psfwi_trainer_epoch(tr, &info, &err));
    np = psfwi_nn_nparam(nn);
    par[k] = malloc(np * sizeof(float));
    memcpy(par[k], psfwi_nn_params(nn), np * sizeof(float));
    psfwi_trainer_destroy(tr);
    psfwi_nn_destroy(nn);
  }
  assert_memory_equal(par[0], par[1], np * sizeof(float));
  free(par[0]);
  free(par[1]);
  for (size_t steps = 1; steps <= 3; steps += 2) {
    psfwi_nn *nn = psfwi_arch_build(&p.arch, W, p.o.batch, &err);
    psfwi_nn_init(nn, p.o.seed);
    psfwi_trainer *tr = psfwi_trainer_create(nn, &p.d, &p.o, &err);
    assert_int_equal(psfwi_trainer_set_adversarial(tr, 1.0, -0.05, steps, &err), PSFWI_ERANGE);
    assert_ok(psfwi_trainer_set_adversarial(tr, 1.0, 0.05, steps, &err));
    psfwi_train_epoch info;
    for (int e = 0; e < 2; e++) {
      assert_ok(psfwi_trainer_epoch(tr, &info, &err));
      printf(
          "adversarial (eps 0.05, %zu step%s): epoch %d data loss %.5f, loss at the "
          "adversarial inputs %.5f\n",
          steps, steps > 1 ? "s" : "", e + 1, info.train_loss, info.penalty);
      assert_true(info.penalty > info.train_loss);
    }
    psfwi_trainer_destroy(tr);
    psfwi_nn_destroy(nn);
  }
  problem_free(&p);
}

static void test_network_file_round_trip(void **state) {
  (void)state;
  psfwi_error err = {0};
  problem p;
  problem_make(&p, 2, 0);
  size_t n;
  float *v = train_params(&p, 2, &n);
  psfwi_nn *nn = psfwi_arch_build(&p.arch, W, 4, &err);
  const size_t np = psfwi_nn_nparam(nn);
  memcpy(psfwi_nn_params(nn), v, np * sizeof *v);
  memcpy(psfwi_nn_buffers(nn), v + np, psfwi_nn_nbuffer(nn) * sizeof *v);
  static const char *const names[2] = {"train_loss", "val_loss"};
  static const char *const units[2] = {"1", "1"};
  double hist[4] = {0.5, 0.6, 0.25, 0.3};
  char *arch_text = psfwi_arch_text(&p.arch);
  psfwi_netfile nf = {.architecture = arch_text,
                      .acquisition = "mode = whole\n",
                      .nparam = np,
                      .nbuffer = psfwi_nn_nbuffer(nn),
                      .nchan = NCH,
                      .params = psfwi_nn_params(nn),
                      .buffers = psfwi_nn_buffers(nn),
                      .feature_mean = p.mean,
                      .feature_std = p.sd,
                      .vmin = 1500,
                      .vmax = 4500,
                      .nepoch = 2,
                      .ncol = 2,
                      .col_names = (char **)names,
                      .col_units = (char **)units,
                      .history = hist};
  const char *path = tu_path("net.nc");
  assert_ok(psfwi_nc_write_network(path, &nf, NULL, &err));
  psfwi_netfile *rd = psfwi_nc_read_network(path, &err);
  assert_non_null(rd);
  assert_string_equal(rd->architecture, arch_text);
  assert_string_equal(rd->acquisition, "mode = whole\n");
  assert_int_equal(rd->nparam, np);
  assert_memory_equal(rd->params, psfwi_nn_params(nn), np * sizeof(float));
  assert_memory_equal(rd->feature_std, p.sd, NCH * sizeof(float));
  assert_int_equal(rd->nepoch, 2);
  assert_int_equal(rd->ncol, 2);
  assert_true(rd->history[2] == 0.25 && rd->history[3] == 0.3);
  /* identical predictions from the loaded weights */
  psfwi_arch a2;
  assert_ok(psfwi_arch_parse(rd->architecture, path, &a2, &err));
  psfwi_nn *nn2 = psfwi_arch_build(&a2, W, 1, &err);
  memcpy(psfwi_nn_params(nn2), rd->params, np * sizeof(float));
  memcpy(psfwi_nn_buffers(nn2), rd->buffers, rd->nbuffer * sizeof(float));
  float t1[NZ * W], t2[NZ * W];
  assert_ok(psfwi_learn_predict(nn, &p.arch, p.x, NCH, W, NZ, t1, &err));
  assert_ok(psfwi_learn_predict(nn2, &a2, p.x, NCH, W, NZ, t2, &err));
  assert_memory_equal(t1, t2, sizeof t1);
  /* a file that is not a network */
  tu_write_file(tu_path("junk.nc"), "CDF\001junk", 8);
  assert_null(psfwi_nc_read_network(tu_path("junk.nc"), &err));
  assert_non_null(strstr(err.msg, "junk.nc"));
  psfwi_netfile_destroy(rd);
  psfwi_nn_destroy(nn);
  psfwi_nn_destroy(nn2);
  psfwi_arch_free(&a2);
  free(arch_text);
  free(v);
  problem_free(&p);
}

/* Geometric complexity: the Hutchinson estimate against the exact mean
 * squared Frobenius norm of the Jacobian of a small dense network, built
 * row by row (one backward pass per output unit), within 4 standard errors;
 * and the standard error is small enough for the check to mean something. */
static void test_geometric_complexity_estimator(void **state) {
  (void)state;
  psfwi_error err = {0};
  psfwi_arch a;
  assert_ok(
      psfwi_arch_parse("[input]\nchannels = 4\n[layer]\nkind = dense\nout = 6\nact = tanh\n"
                       "[layer]\nkind = dense\nout = 3\n",
                       "dense.ini", &a, &err));
  enum { N = 10, IN = 4, OUT = 3 };
  float x[N * IN], t[N * OUT];
  unsigned long long rs = 99;
  for (int i = 0; i < N * IN; i++) x[i] = (float)(2 * tu_urand(&rs));
  for (int i = 0; i < N * OUT; i++) t[i] = (float)tu_urand(&rs);
  psfwi_nn *nn = psfwi_arch_build(&a, 1, N, &err);
  assert_non_null(nn);
  psfwi_nn_init(nn, 3);
  psfwi_train_opts o;
  psfwi_train_defaults(&o);
  o.batch = 4;
  o.val_fraction = 0; /* the pool is then every sample */
  const psfwi_train_data d = {N, IN, 1, OUT, x, t};
  psfwi_trainer *tr = psfwi_trainer_create(nn, &d, &o, &err);
  assert_non_null(tr);
  double exact = 0;
  for (int s = 0; s < N; s++) {
    assert_non_null(psfwi_nn_forward(nn, x + s * IN, 1, 0, &err));
    for (int k = 0; k < OUT; k++) {
      psfwi_nn_real dy[OUT] = {0}, dx[IN];
      dy[k] = 1;
      assert_ok(psfwi_nn_backward(nn, dy, dx, &err));
      for (int i = 0; i < IN; i++) exact += (double)dx[i] * dx[i] / N;
    }
  }
  double gc, se;
  assert_ok(psfwi_trainer_geometric_complexity(tr, N, 2000, 7, &gc, &se, &err));
  printf("geometric complexity: exact %.6f, estimate %.6f +- %.6f (20000 projections)\n", exact, gc,
         se);
  assert_true(se < 0.03 * exact);
  assert_true(fabs(gc - exact) < 4 * se);
  /* the same seed: the same estimate; the gradient is left zeroed */
  double gc2, se2;
  assert_ok(psfwi_trainer_geometric_complexity(tr, N, 2000, 7, &gc2, &se2, &err));
  assert_true(gc2 == gc && se2 == se);
  for (size_t i = 0; i < psfwi_nn_nparam(nn); i++) assert_true(psfwi_nn_grads(nn)[i] == 0);
  psfwi_trainer_destroy(tr);
  psfwi_nn_destroy(nn);
  psfwi_arch_free(&a);
}

static void test_normalisation_helpers(void **state) {
  (void)state;
  float v[4] = {1500, 3000, 4500, 2250};
  psfwi_learn_scale_velocity(v, 4, 1500, 4500);
  assert_true(v[0] == -1.0f && v[1] == 0.0f && v[2] == 1.0f && v[3] == -0.5f);
  psfwi_learn_unscale_velocity(v, 4, 1500, 4500);
  assert_true(v[0] == 1500.0f && v[1] == 3000.0f && v[2] == 4500.0f && v[3] == 2250.0f);
  /* two samples, two channels, width 2; channel 1 is constant (dead) */
  float x[8] = {1, 3, 7, 7, 5, 7, 7, 7};
  float mean[2], sd[2];
  psfwi_learn_channel_stats(x, 2, 2, 2, mean, sd);
  assert_float_equal(mean[0], 4.0, 1e-6);
  assert_float_equal(sd[0], sqrt(5.0), 1e-6);
  assert_float_equal(mean[1], 7.0, 1e-6);
  assert_true(sd[1] > 0);
  psfwi_learn_standardise(x, 2, 2, 2, mean, sd);
  assert_float_equal(x[2], 0.0, 1e-6); /* a dead channel maps to 0 */
  assert_true(fabs(x[0] + 3.0 / sqrt(5.0)) < 1e-6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hourglass_text_round_trip),
      cmocka_unit_test(test_arch_parse_errors),
      cmocka_unit_test(test_normalisation_helpers),
      cmocka_unit_test(test_geometric_complexity_estimator),
      cmocka_unit_test(test_seed_and_resume_reproduce),
      cmocka_unit_test(test_adversarial_training),
      cmocka_unit_test(test_network_file_round_trip),
      cmocka_unit_test(test_trainer_learns_layered_earth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
