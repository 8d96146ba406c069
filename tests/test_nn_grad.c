/* nn, double build (psfwi_nn64, PSFWI_NN_DOUBLE): every layer kind and
 * every activation on tiny shapes (1-D and 2-D, stride, pad, output_pad,
 * ragged pooling tails, batch 3): the backward pass against central
 * differences of a random linear functional f = sum r y of the output,
 * w.r.t. every parameter and every input value. Batch norm in training
 * mode (batch statistics) and in evaluation mode, dropout with its stream
 * reset before each evaluation (fixed mask). Tolerance: max |fd - bw| /
 * max |bw| <= 1e-6 over each vector. Also the losses' gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_nn.h"
#include "testutil.h"

#define TOL   1e-6
#define STEP  1e-6
#define BATCH 3

typedef struct net_case {
  const char *name;
  size_t c, h, w;
  psfwi_nn_layer l[8];
  size_t n;
  int train;
} net_case;

static psfwi_nn_layer lay(int kind) {
  psfwi_nn_layer l;
  psfwi_nn_layer_init(&l, kind);
  return l;
}

static psfwi_nn_layer conv(int kind, size_t out, size_t k, size_t stride, size_t pad, int act) {
  psfwi_nn_layer l = lay(kind);
  l.out = out, l.k = k, l.stride = stride, l.pad = pad, l.act = act;
  return l;
}

static psfwi_nn_layer convt(int kind, size_t out, size_t k, size_t stride, size_t pad, size_t op,
                            int act) {
  psfwi_nn_layer l = conv(kind, out, k, stride, pad, act);
  l.output_pad = op;
  return l;
}

static psfwi_nn_layer with_act(int kind, int act) {
  psfwi_nn_layer l = lay(kind);
  l.act = act;
  return l;
}

static psfwi_nn_layer factor(int kind, size_t f) {
  psfwi_nn_layer l = lay(kind);
  l.factor = f;
  return l;
}

static psfwi_nn_layer add_from(int from, int act) {
  psfwi_nn_layer l = lay(PSFWI_NN_ADD);
  l.from = from, l.act = act;
  return l;
}

static psfwi_nn_layer dense(size_t out, int act) {
  psfwi_nn_layer l = lay(PSFWI_NN_DENSE);
  l.out = out, l.act = act;
  return l;
}

/* f = sum r y for the current parameters, dropout stream reset first. */
static double functional(psfwi_nn *nn, const double *x, const double *r, int train, uint64_t drop) {
  psfwi_error err;
  psfwi_nn_set_dropout_state(nn, drop);
  const double *y = psfwi_nn_forward(nn, x, BATCH, train, &err);
  assert_non_null(y);
  double f = 0;
  for (size_t i = 0; i < BATCH * psfwi_nn_out_size(nn); i++) f += r[i] * y[i];
  return f;
}

static double max_abs(const double *v, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
  return m;
}

/* The relative error of the backward pass on one network, or a failure. */
static double check_case(const net_case *tc, unsigned long long seed) {
  psfwi_error err;
  psfwi_nn *nn = psfwi_nn_create(tc->c, tc->h, tc->w, tc->l, tc->n, &err);
  if (nn == NULL) fail_msg("%s: %s", tc->name, err.msg);
  psfwi_nn_init(nn, seed);
  unsigned long long s = seed * 2654435761ULL + 1;
  double *p = psfwi_nn_params(nn);
  const size_t np = psfwi_nn_nparam(nn);
  for (size_t k = 0; k < np; k++) p[k] += 0.3 * tu_urand(&s); /* gamma, beta, bias != trivial */
  double *buf = psfwi_nn_buffers(nn);
  for (size_t k = 0; k < psfwi_nn_nbuffer(nn); k++) buf[k] += 0.2 * tu_uniform(&s);
  assert_int_equal(psfwi_nn_set_batch(nn, BATCH, &err), PSFWI_OK);
  psfwi_nn_set_threads(nn, (int)(seed % 2) + 1); /* either thread count */
  assert_int_equal(psfwi_nn_threads(nn), (int)(seed % 2) + 1);
  const size_t nx = BATCH * psfwi_nn_in_size(nn), ny = BATCH * psfwi_nn_out_size(nn);
  double *x = malloc(nx * sizeof *x), *r = malloc(ny * sizeof *r);
  double *dx = malloc(nx * sizeof *dx), *fdx = malloc(nx * sizeof *fdx);
  double *fdp = malloc((np + 1) * sizeof *fdp), *bwp = malloc((np + 1) * sizeof *bwp);
  assert_true(x && r && dx && fdx && fdp && bwp);
  for (size_t i = 0; i < nx; i++) x[i] = tu_urand(&s);
  for (size_t i = 0; i < ny; i++) r[i] = tu_urand(&s);
  const uint64_t drop = 12345;
  /* backward */
  functional(nn, x, r, tc->train, drop);
  psfwi_nn_zero_grad(nn);
  assert_int_equal(psfwi_nn_backward(nn, r, dx, &err), PSFWI_OK);
  memcpy(bwp, psfwi_nn_grads(nn), np * sizeof *bwp);
  /* central differences */
  for (size_t k = 0; k < np; k++) {
    const double p0 = p[k];
    p[k] = p0 + STEP;
    const double fp = functional(nn, x, r, tc->train, drop);
    p[k] = p0 - STEP;
    const double fm = functional(nn, x, r, tc->train, drop);
    p[k] = p0;
    fdp[k] = (fp - fm) / (2 * STEP);
  }
  for (size_t i = 0; i < nx; i++) {
    const double x0 = x[i];
    x[i] = x0 + STEP;
    const double fp = functional(nn, x, r, tc->train, drop);
    x[i] = x0 - STEP;
    const double fm = functional(nn, x, r, tc->train, drop);
    x[i] = x0;
    fdx[i] = (fp - fm) / (2 * STEP);
  }
  double ep = 0, ex = 0;
  for (size_t k = 0; k < np; k++) ep = fmax(ep, fabs(fdp[k] - bwp[k]));
  for (size_t i = 0; i < nx; i++) ex = fmax(ex, fabs(fdx[i] - dx[i]));
  ep = np ? ep / fmax(max_abs(bwp, np), 1e-12) : 0;
  ex /= fmax(max_abs(dx, nx), 1e-12);
  printf("  %-28s %4zu params %4zu inputs: rel. error params %.2e, inputs %.2e\n", tc->name, np, nx,
         ep, ex);
  if (!(ep <= TOL && ex <= TOL)) {
    for (size_t k = 0; k < np; k++)
      if (fabs(fdp[k] - bwp[k]) > TOL * max_abs(bwp, np))
        printf("    param %zu: fd %.10g backward %.10g\n", k, fdp[k], bwp[k]);
    for (size_t i = 0; i < nx; i++)
      if (fabs(fdx[i] - dx[i]) > TOL * max_abs(dx, nx))
        printf("    input %zu: fd %.10g backward %.10g\n", i, fdx[i], dx[i]);
  }
  /* max |gradient| must be non-trivial, else the check proves nothing */
  assert_true(max_abs(dx, nx) > 1e-6);
  if (np) assert_true(max_abs(bwp, np) > 1e-6);
  free(x), free(r), free(dx), free(fdx), free(fdp), free(bwp);
  psfwi_nn_destroy(nn);
  return fmax(ep, ex);
}

static void run_cases(const net_case *cases, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = check_case(&cases[i], 1000 + i);
    if (!(e <= TOL)) {
      printf("FAIL: %s: relative error %.3e > %.0e\n", cases[i].name, e, TOL);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
}

static const int acts[] = {PSFWI_NN_LINEAR, PSFWI_NN_RELU, PSFWI_NN_LRELU,
                           PSFWI_NN_ELU,    PSFWI_NN_TANH, PSFWI_NN_SIGMOID};
#define NACT (sizeof acts / sizeof acts[0])

static void test_dense_and_activations(void **state) {
  (void)state;
  net_case cases[3 * NACT];
  static char names[3 * NACT][64];
  size_t n = 0;
  for (size_t a = 0; a < NACT; a++) {
    net_case *c = &cases[n++];
    *c = (net_case){.c = 2, .h = 2, .w = 3, .n = 1, .train = 1};
    snprintf(names[n - 1], 64, "dense, %s", psfwi_nn_act_name(acts[a]));
    c->name = names[n - 1];
    c->l[0] = dense(4, acts[a]); /* fused into dense */
    /* the activation layer on its own, after a conv */
    c = &cases[n++];
    snprintf(names[n - 1], 64, "conv1d + activation %s", psfwi_nn_act_name(acts[a]));
    *c = (net_case){.name = names[n - 1], .c = 2, .h = 1, .w = 5, .n = 2, .train = 1};
    c->l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
    c->l[1] = with_act(PSFWI_NN_ACT, acts[a]);
    /* leaky relu with another slope, elu with another alpha */
    c = &cases[n++];
    snprintf(names[n - 1], 64, "dense + %s, alpha 0.37", psfwi_nn_act_name(acts[a]));
    *c = (net_case){.name = names[n - 1], .c = 2, .h = 2, .w = 2, .n = 2, .train = 1};
    c->l[0] = dense(6, PSFWI_NN_LINEAR);
    c->l[1] = with_act(PSFWI_NN_ACT, acts[a]);
    c->l[1].alpha = 0.37;
  }
  run_cases(cases, n);
}

static void test_convolutions(void **state) {
  (void)state;
  net_case cases[] = {
      {.name = "conv1d k3 s2 p1 tanh", .c = 2, .h = 1, .w = 7, .n = 1, .train = 1},
      {.name = "conv1d k3 s1 p0 relu no bias", .c = 2, .h = 1, .w = 6, .n = 1, .train = 1},
      {.name = "conv1d k4 s3 p2 on 2 rows", .c = 2, .h = 2, .w = 8, .n = 1, .train = 1},
      {.name = "conv1d k1 (direct) + conv1d", .c = 3, .h = 1, .w = 5, .n = 2, .train = 1},
      {.name = "conv2d k3 s2 p1 elu", .c = 2, .h = 5, .w = 6, .n = 1, .train = 1},
      {.name = "conv2d k2 s1 p0 sigmoid", .c = 2, .h = 3, .w = 4, .n = 1, .train = 1},
      {.name = "convt1d k4 s2 p1 lrelu", .c = 3, .h = 1, .w = 4, .n = 1, .train = 1},
      {.name = "convt1d k3 s2 p1 op1", .c = 2, .h = 1, .w = 4, .n = 1, .train = 1},
      {.name = "convt1d k3 s1 p0", .c = 2, .h = 1, .w = 3, .n = 1, .train = 1},
      {.name = "convt2d k3 s2 p1 op1 sigmoid", .c = 2, .h = 3, .w = 3, .n = 1, .train = 1},
      {.name = "convt2d k2 s2 p0 (after conv2d)", .c = 2, .h = 3, .w = 4, .n = 2, .train = 1},
      {.name = "dense on (5,1,1) (direct)", .c = 2, .h = 2, .w = 2, .n = 2, .train = 1},
  };
  cases[0].l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 2, 1, PSFWI_NN_TANH);
  cases[1].l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 0, PSFWI_NN_RELU);
  cases[1].l[0].bias = 0;
  cases[2].l[0] = conv(PSFWI_NN_CONV1D, 2, 4, 3, 2, PSFWI_NN_LINEAR);
  cases[3].l[0] = conv(PSFWI_NN_CONV1D, 4, 1, 1, 0, PSFWI_NN_TANH);
  cases[3].l[1] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[4].l[0] = conv(PSFWI_NN_CONV2D, 3, 3, 2, 1, PSFWI_NN_ELU);
  cases[5].l[0] = conv(PSFWI_NN_CONV2D, 2, 2, 1, 0, PSFWI_NN_SIGMOID);
  cases[6].l[0] = convt(PSFWI_NN_CONVT1D, 2, 4, 2, 1, 0, PSFWI_NN_LRELU);
  cases[7].l[0] = convt(PSFWI_NN_CONVT1D, 2, 3, 2, 1, 1, PSFWI_NN_LINEAR);
  cases[8].l[0] = convt(PSFWI_NN_CONVT1D, 3, 3, 1, 0, 0, PSFWI_NN_TANH);
  cases[9].l[0] = convt(PSFWI_NN_CONVT2D, 2, 3, 2, 1, 1, PSFWI_NN_SIGMOID);
  cases[10].l[0] = conv(PSFWI_NN_CONV2D, 3, 3, 1, 1, PSFWI_NN_TANH);
  cases[10].l[1] = convt(PSFWI_NN_CONVT2D, 2, 2, 2, 0, 0, PSFWI_NN_LINEAR);
  cases[11].l[0] = dense(5, PSFWI_NN_TANH);
  cases[11].l[1] = dense(3, PSFWI_NN_LINEAR);
  run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_pool_upsample_crop_reshape(void **state) {
  (void)state;
  net_case cases[] = {
      {.name = "maxpool 1-D ragged", .c = 2, .h = 1, .w = 9, .n = 2, .train = 1},
      {.name = "avgpool 1-D ragged", .c = 2, .h = 1, .w = 9, .n = 2, .train = 1},
      {.name = "maxpool 2-D ragged", .c = 2, .h = 5, .w = 5, .n = 2, .train = 1},
      {.name = "avgpool 2-D f3", .c = 1, .h = 6, .w = 7, .n = 2, .train = 1},
      {.name = "upsample 1-D x3", .c = 2, .h = 1, .w = 4, .n = 2, .train = 1},
      {.name = "upsample 2-D x2", .c = 2, .h = 3, .w = 2, .n = 2, .train = 1},
      {.name = "maxpool first (input grad)", .c = 2, .h = 1, .w = 8, .n = 2, .train = 1},
      {.name = "crop + reshape + dense", .c = 2, .h = 4, .w = 5, .n = 4, .train = 1},
      {.name = "reshape 1-D to 2-D + conv2d", .c = 2, .h = 1, .w = 6, .n = 3, .train = 1},
  };
  cases[0].l[0] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_TANH);
  cases[0].l[1] = factor(PSFWI_NN_MAXPOOL, 2);
  cases[1].l[0] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_TANH);
  cases[1].l[1] = factor(PSFWI_NN_AVGPOOL, 2);
  cases[2].l[0] = conv(PSFWI_NN_CONV2D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[2].l[1] = factor(PSFWI_NN_MAXPOOL, 2);
  cases[3].l[0] = conv(PSFWI_NN_CONV2D, 2, 3, 1, 1, PSFWI_NN_ELU);
  cases[3].l[1] = factor(PSFWI_NN_AVGPOOL, 3);
  cases[4].l[0] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[4].l[1] = factor(PSFWI_NN_UPSAMPLE, 3);
  cases[5].l[0] = conv(PSFWI_NN_CONV2D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[5].l[1] = factor(PSFWI_NN_UPSAMPLE, 2);
  cases[6].l[0] = factor(PSFWI_NN_MAXPOOL, 2);
  cases[6].l[1] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[7].l[0] = conv(PSFWI_NN_CONV2D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[7].l[1] = lay(PSFWI_NN_CROP);
  cases[7].l[1].h0 = 1, cases[7].l[1].w0 = 2, cases[7].l[1].out_h = 2, cases[7].l[1].out_w = 3;
  cases[7].l[2] = lay(PSFWI_NN_RESHAPE);
  cases[7].l[2].out_c = 2, cases[7].l[2].out_h = 1, cases[7].l[2].out_w = 9;
  cases[7].l[3] = dense(2, PSFWI_NN_LINEAR);
  cases[8].l[0] = conv(PSFWI_NN_CONV1D, 4, 3, 1, 1, PSFWI_NN_TANH);
  cases[8].l[1] = lay(PSFWI_NN_RESHAPE);
  cases[8].l[1].out_c = 2, cases[8].l[1].out_h = 3, cases[8].l[1].out_w = 4;
  cases[8].l[2] = conv(PSFWI_NN_CONV2D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_norms_dropout_add(void **state) {
  (void)state;
  net_case cases[] = {
      {.name = "batchnorm 1-D train relu", .c = 2, .h = 1, .w = 4, .n = 3, .train = 1},
      {.name = "batchnorm 2-D train tanh", .c = 2, .h = 3, .w = 3, .n = 2, .train = 1},
      {.name = "batchnorm first, train", .c = 3, .h = 1, .w = 2, .n = 2, .train = 1},
      {.name = "batchnorm eval elu", .c = 2, .h = 1, .w = 4, .n = 2, .train = 0},
      {.name = "layernorm 2-D elu", .c = 2, .h = 2, .w = 3, .n = 2, .train = 1},
      {.name = "layernorm first, sigmoid", .c = 3, .h = 1, .w = 3, .n = 2, .train = 1},
      {.name = "dropout 0.4 train", .c = 2, .h = 1, .w = 5, .n = 3, .train = 1},
      {.name = "dropout eval", .c = 2, .h = 1, .w = 5, .n = 3, .train = 0},
      {.name = "add from input, relu", .c = 2, .h = 1, .w = 5, .n = 2, .train = 1},
      {.name = "add from prev (2x)", .c = 2, .h = 1, .w = 5, .n = 2, .train = 1},
      {.name = "add skips + bn (hourglass)", .c = 2, .h = 1, .w = 8, .n = 8, .train = 1},
  };
  cases[0].l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[0].l[1] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_RELU);
  cases[0].l[2] = conv(PSFWI_NN_CONV1D, 2, 1, 1, 0, PSFWI_NN_LINEAR);
  cases[1].l[0] = conv(PSFWI_NN_CONV2D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[1].l[1] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_TANH);
  cases[2].l[0] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_LINEAR);
  cases[2].l[1] = dense(3, PSFWI_NN_TANH);
  cases[3].l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[3].l[1] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_ELU);
  cases[4].l[0] = conv(PSFWI_NN_CONV2D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[4].l[1] = with_act(PSFWI_NN_LAYERNORM, PSFWI_NN_ELU);
  cases[5].l[0] = with_act(PSFWI_NN_LAYERNORM, PSFWI_NN_SIGMOID);
  cases[5].l[1] = dense(2, PSFWI_NN_LINEAR);
  cases[6].l[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_TANH);
  cases[6].l[1] = lay(PSFWI_NN_DROPOUT);
  cases[6].l[1].rate = 0.4;
  cases[6].l[2] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_LINEAR);
  cases[7].l[0] = cases[6].l[0], cases[7].l[1] = cases[6].l[1], cases[7].l[2] = cases[6].l[2];
  cases[8].l[0] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_TANH);
  cases[8].l[1] = add_from(-1, PSFWI_NN_RELU);
  cases[9].l[0] = conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_TANH);
  cases[9].l[1] = add_from(0, PSFWI_NN_SIGMOID);
  /* conv, bn+relu (1), stride-2 conv, bn+relu, convt back, bn, add from 1, 1x1 conv */
  psfwi_nn_layer *h = cases[10].l;
  h[0] = conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_LINEAR);
  h[1] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_RELU);
  h[2] = conv(PSFWI_NN_CONV1D, 4, 3, 2, 1, PSFWI_NN_LINEAR);
  h[3] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_TANH);
  h[4] = convt(PSFWI_NN_CONVT1D, 3, 4, 2, 1, 0, PSFWI_NN_LINEAR);
  h[5] = with_act(PSFWI_NN_BATCHNORM, PSFWI_NN_ELU);
  h[6] = add_from(1, PSFWI_NN_LINEAR);
  h[7] = conv(PSFWI_NN_CONV1D, 2, 1, 1, 0, PSFWI_NN_LINEAR);
  run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_losses(void **state) {
  (void)state;
  const size_t n = 40;
  double y[40], t[40], dy[40];
  unsigned long long s = 77;
  for (size_t i = 0; i < n; i++) y[i] = 2 * tu_urand(&s), t[i] = tu_urand(&s);
  const int losses[] = {PSFWI_NN_MSE, PSFWI_NN_L1, PSFWI_NN_HUBER};
  for (int k = 0; k < 3; k++) {
    const double delta = 0.5, scale = 1.7;
    psfwi_nn_loss_eval(losses[k], delta, y, t, n, scale, dy);
    double err = 0;
    for (size_t i = 0; i < n; i++) {
      const double y0 = y[i];
      y[i] = y0 + STEP;
      const double fp = psfwi_nn_loss_eval(losses[k], delta, y, t, n, 1, NULL);
      y[i] = y0 - STEP;
      const double fm = psfwi_nn_loss_eval(losses[k], delta, y, t, n, 1, NULL);
      y[i] = y0;
      err = fmax(err, fabs(scale * (fp - fm) / (2 * STEP) - dy[i]));
    }
    err /= max_abs(dy, n);
    printf("  loss %-6s rel. error %.2e\n", psfwi_nn_loss_name(losses[k]), err);
    assert_true(err <= TOL);
  }
  /* the values themselves */
  const double a[2] = {1.0, -2.0}, b[2] = {0.5, 0.0};
  assert_true(fabs(psfwi_nn_loss_eval(PSFWI_NN_MSE, 0, a, b, 2, 1, NULL) - 2.125) < 1e-15);
  assert_true(fabs(psfwi_nn_loss_eval(PSFWI_NN_L1, 0, a, b, 2, 1, NULL) - 1.25) < 1e-15);
  /* Huber, delta 1: 0.5 * 0.25 and 2 - 0.5 */
  assert_true(fabs(psfwi_nn_loss_eval(PSFWI_NN_HUBER, 1, a, b, 2, 1, NULL) - 0.8125) < 1e-15);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_and_activations),
      cmocka_unit_test(test_convolutions),
      cmocka_unit_test(test_pool_upsample_crop_reshape),
      cmocka_unit_test(test_norms_dropout_add),
      cmocka_unit_test(test_losses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
