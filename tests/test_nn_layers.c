/* nn (float library): forward values against naive references (direct
 * loops for conv1d, conv2d, dense, transposed convs; pooling, up-sampling,
 * crop, reshape, batch norm in both modes, layer norm, dropout), the
 * (b, c, h, w) layout of a batch, shape errors naming the layer and the
 * field, call-order and batch-size errors, bit-identical runs from one
 * seed, He and Glorot statistics, gradient accumulation, and a small
 * hourglass Conv1D network memorising 8 samples with plain gradient steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_nn.h"
#include "testutil.h"

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

static float *rand_vec(size_t n, unsigned long long *s) {
  float *v = malloc(n * sizeof *v);
  assert_non_null(v);
  for (size_t i = 0; i < n; i++) v[i] = (float)tu_urand(s);
  return v;
}

/* Net of the given layers on input (c, h, w), random params, planned for
 * batch B. */
static psfwi_nn *make(size_t c, size_t h, size_t w, const psfwi_nn_layer *l, size_t n, size_t B,
                      unsigned long long seed) {
  psfwi_error err;
  psfwi_nn *nn = psfwi_nn_create(c, h, w, l, n, &err);
  if (nn == NULL) fail_msg("%s", err.msg);
  psfwi_nn_init(nn, seed);
  unsigned long long s = seed + 17;
  float *p = psfwi_nn_params(nn);
  for (size_t k = 0; k < psfwi_nn_nparam(nn); k++) p[k] += (float)(0.2 * tu_urand(&s));
  assert_int_equal(psfwi_nn_set_batch(nn, B, &err), PSFWI_OK);
  return nn;
}

static double act_ref(int act, double alpha, double v) {
  switch (act) {
    case PSFWI_NN_RELU: return v > 0 ? v : 0;
    case PSFWI_NN_LRELU: return v > 0 ? v : alpha * v;
    case PSFWI_NN_ELU: return v > 0 ? v : alpha * (exp(v) - 1);
    case PSFWI_NN_TANH: return tanh(v);
    case PSFWI_NN_SIGMOID: return 1 / (1 + exp(-v));
    default: return v;
  }
}

static void expect_close(const float *y, const double *ref, size_t n, double tol,
                         const char *what) {
  double e = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    e = fmax(e, fabs((double)y[i] - ref[i]));
    m = fmax(m, fabs(ref[i]));
  }
  printf("  %-34s max |y - ref| / max |ref| = %.2e\n", what, e / fmax(m, 1e-30));
  assert_true(m > 0);
  assert_true(e <= tol * m);
}

/* ---- Convolutions against direct loops -------------------------------------- */

/* y(b, o, oy, ox) = act(bias + sum x(b, c, oy sh - ph + i, ox sw - pw + j) w(o, c, i, j)) */
static void conv_ref(const float *x, const float *w, const float *bias, size_t B, size_t C,
                     size_t H, size_t W, size_t O, size_t kh, size_t kw, size_t sh, size_t sw,
                     size_t ph, size_t pw, size_t Ho, size_t Wo, int act, double *y) {
  for (size_t b = 0; b < B; b++)
    for (size_t o = 0; o < O; o++)
      for (size_t oy = 0; oy < Ho; oy++)
        for (size_t ox = 0; ox < Wo; ox++) {
          double s = bias ? bias[o] : 0;
          for (size_t c = 0; c < C; c++)
            for (size_t i = 0; i < kh; i++)
              for (size_t j = 0; j < kw; j++) {
                const long iy = (long)(oy * sh + i) - (long)ph, ix = (long)(ox * sw + j) - (long)pw;
                if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                s += (double)x[((b * C + c) * H + (size_t)iy) * W + (size_t)ix] *
                     (double)w[((o * C + c) * kh + i) * kw + j];
              }
          y[((b * O + o) * Ho + oy) * Wo + ox] = act_ref(act, act == PSFWI_NN_ELU ? 1.0 : 0.01, s);
        }
}

/* Transposed: every input pixel scatters x(b, c, iy, ix) w(c, o, i, j) to
 * (iy sh - ph + i, ix sw - pw + j). */
static void convt_ref(const float *x, const float *w, const float *bias, size_t B, size_t C,
                      size_t H, size_t W, size_t O, size_t kh, size_t kw, size_t sh, size_t sw,
                      size_t ph, size_t pw, size_t Ho, size_t Wo, int act, double *y) {
  for (size_t b = 0; b < B; b++)
    for (size_t o = 0; o < O; o++)
      for (size_t k = 0; k < Ho * Wo; k++) y[(b * O + o) * Ho * Wo + k] = bias ? bias[o] : 0;
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      for (size_t iy = 0; iy < H; iy++)
        for (size_t ix = 0; ix < W; ix++)
          for (size_t o = 0; o < O; o++)
            for (size_t i = 0; i < kh; i++)
              for (size_t j = 0; j < kw; j++) {
                const long oy = (long)(iy * sh + i) - (long)ph, ox = (long)(ix * sw + j) - (long)pw;
                if (oy < 0 || ox < 0 || oy >= (long)Ho || ox >= (long)Wo) continue;
                y[((b * O + o) * Ho + (size_t)oy) * Wo + (size_t)ox] +=
                    (double)x[((b * C + c) * H + iy) * W + ix] *
                    (double)w[((c * O + o) * kh + i) * kw + j];
              }
  for (size_t k = 0; k < B * O * Ho * Wo; k++)
    y[k] = act_ref(act, act == PSFWI_NN_ELU ? 1.0 : 0.01, y[k]);
}

static void check_conv(const char *what, int kind, size_t C, size_t H, size_t W, size_t O, size_t k,
                       size_t s, size_t p, size_t op, int act, int bias) {
  const size_t B = 3;
  psfwi_nn_layer l = conv(kind, O, k, s, p, act);
  l.output_pad = op;
  l.bias = bias;
  psfwi_nn *nn = make(C, H, W, &l, 1, B, 5);
  unsigned long long st = 99;
  float *x = rand_vec(B * C * H * W, &st);
  psfwi_error err;
  const float *y = psfwi_nn_forward(nn, x, B, 1, &err);
  assert_non_null(y);
  size_t oc, oh, ow;
  psfwi_nn_shape(nn, 0, &oc, &oh, &ow);
  double *ref = malloc(B * oc * oh * ow * sizeof *ref);
  const float *w = psfwi_nn_params(nn);
  size_t off, cnt, nw;
  psfwi_nn_param_range(nn, 0, &off, &cnt, &nw);
  const float *b = bias ? w + nw : NULL;
  const int two = kind == PSFWI_NN_CONV2D || kind == PSFWI_NN_CONVT2D;
  const size_t kh = two ? k : 1, sh = two ? s : 1, ph = two ? p : 0;
  if (kind == PSFWI_NN_CONVT1D || kind == PSFWI_NN_CONVT2D) {
    assert_int_equal(ow, (W - 1) * s - 2 * p + k + op);
    convt_ref(x, w, b, B, C, H, W, O, kh, k, sh, s, ph, p, oh, ow, act, ref);
  } else if (kind == PSFWI_NN_DENSE) {
    conv_ref(x, w, b, B, C, H, W, O, H, W, 1, 1, 0, 0, 1, 1, act, ref);
  } else {
    assert_int_equal(ow, (W + 2 * p - k) / s + 1);
    conv_ref(x, w, b, B, C, H, W, O, kh, k, sh, s, ph, p, oh, ow, act, ref);
  }
  expect_close(y, ref, B * oc * oh * ow, 1e-5, what);
  free(ref);
  free(x);
  psfwi_nn_destroy(nn);
}

static void test_conv_forward(void **state) {
  (void)state;
  check_conv("conv1d k3 s1 p1", PSFWI_NN_CONV1D, 4, 1, 11, 5, 3, 1, 1, 0, PSFWI_NN_LINEAR, 1);
  check_conv("conv1d k3 s2 p1 relu", PSFWI_NN_CONV1D, 3, 1, 10, 4, 3, 2, 1, 0, PSFWI_NN_RELU, 1);
  check_conv("conv1d k5 s3 p0 tanh, no bias", PSFWI_NN_CONV1D, 2, 1, 13, 3, 5, 3, 0, 0,
             PSFWI_NN_TANH, 0);
  check_conv("conv1d k1 (direct)", PSFWI_NN_CONV1D, 6, 1, 9, 4, 1, 1, 0, 0, PSFWI_NN_LINEAR, 1);
  check_conv("conv1d k3 on 3 rows", PSFWI_NN_CONV1D, 2, 3, 8, 3, 3, 2, 2, 0, PSFWI_NN_LRELU, 1);
  check_conv("conv2d k3 s1 p1", PSFWI_NN_CONV2D, 3, 6, 7, 4, 3, 1, 1, 0, PSFWI_NN_LINEAR, 1);
  check_conv("conv2d k4 s2 p1 sigmoid", PSFWI_NN_CONV2D, 2, 9, 8, 3, 4, 2, 1, 0, PSFWI_NN_SIGMOID,
             1);
  check_conv("convt1d k4 s2 p1", PSFWI_NN_CONVT1D, 4, 1, 9, 3, 4, 2, 1, 0, PSFWI_NN_LINEAR, 1);
  check_conv("convt1d k3 s2 p1 op1 elu", PSFWI_NN_CONVT1D, 3, 1, 7, 2, 3, 2, 1, 1, PSFWI_NN_ELU, 1);
  check_conv("convt1d k5 s3 p2 op2", PSFWI_NN_CONVT1D, 2, 1, 6, 3, 5, 3, 2, 2, PSFWI_NN_LINEAR, 0);
  check_conv("convt2d k3 s2 p1 op1", PSFWI_NN_CONVT2D, 3, 4, 5, 2, 3, 2, 1, 1, PSFWI_NN_TANH, 1);
  check_conv("convt2d k2 s2 p0", PSFWI_NN_CONVT2D, 2, 3, 3, 4, 2, 2, 0, 0, PSFWI_NN_LINEAR, 1);
  check_conv("dense on (3, 2, 4)", PSFWI_NN_DENSE, 3, 2, 4, 5, 0, 1, 0, 0, PSFWI_NN_RELU, 1);
  check_conv("dense on (7, 1, 1) (direct)", PSFWI_NN_DENSE, 7, 1, 1, 3, 0, 1, 0, 0, PSFWI_NN_LINEAR,
             1);
}

/* ---- Pooling, up-sampling, crop, reshape, add ----------------------------------- */

static void test_plane_layers(void **state) {
  (void)state;
  const size_t B = 2, C = 3;
  unsigned long long st = 3;
  /* 2-D: (3, 5, 7), factor 2: (3, 2, 3), ragged row and column dropped */
  for (int kind = PSFWI_NN_MAXPOOL; kind <= PSFWI_NN_AVGPOOL; kind++) {
    psfwi_nn_layer l = lay(kind);
    l.factor = 2;
    psfwi_nn *nn = make(C, 5, 7, &l, 1, B, 1);
    float *x = rand_vec(B * C * 35, &st);
    psfwi_error err;
    const float *y = psfwi_nn_forward(nn, x, B, 1, &err);
    double ref[2 * 3 * 6];
    for (size_t p = 0; p < B * C; p++)
      for (size_t oy = 0; oy < 2; oy++)
        for (size_t ox = 0; ox < 3; ox++) {
          const float *w0 = x + p * 35 + oy * 2 * 7 + ox * 2;
          const double a = w0[0], b = w0[1], c = w0[7], d = w0[8];
          ref[p * 6 + oy * 3 + ox] =
              kind == PSFWI_NN_MAXPOOL ? fmax(fmax(a, b), fmax(c, d)) : (a + b + c + d) / 4;
        }
    expect_close(y, ref, B * C * 6, 1e-6, kind == PSFWI_NN_MAXPOOL ? "maxpool 2-D" : "avgpool 2-D");
    free(x);
    psfwi_nn_destroy(nn);
  }
  /* 1-D (H = 1): maxpool 3 along W only, W = 10 -> 3 */
  {
    psfwi_nn_layer l = lay(PSFWI_NN_MAXPOOL);
    l.factor = 3;
    psfwi_nn *nn = make(C, 1, 10, &l, 1, B, 1);
    size_t c, h, w;
    psfwi_nn_shape(nn, 0, &c, &h, &w);
    assert_true(c == C && h == 1 && w == 3);
    float *x = rand_vec(B * C * 10, &st);
    psfwi_error err;
    const float *y = psfwi_nn_forward(nn, x, B, 1, &err);
    double ref[18];
    for (size_t p = 0; p < B * C; p++)
      for (size_t o = 0; o < 3; o++)
        ref[p * 3 + o] =
            fmax(fmax(x[p * 10 + 3 * o], x[p * 10 + 3 * o + 1]), x[p * 10 + 3 * o + 2]);
    expect_close(y, ref, 18, 1e-6, "maxpool 1-D");
    free(x);
    psfwi_nn_destroy(nn);
  }
  /* up-sampling 2-D by 2 then crop (1, 1, 5, 4), reshape to (3 * 5, 1, 4) */
  {
    psfwi_nn_layer l[3] = {lay(PSFWI_NN_UPSAMPLE), lay(PSFWI_NN_CROP), lay(PSFWI_NN_RESHAPE)};
    l[0].factor = 2;
    l[1].h0 = 1, l[1].w0 = 1, l[1].out_h = 5, l[1].out_w = 4;
    l[2].out_c = 15, l[2].out_h = 1, l[2].out_w = 4;
    psfwi_nn *nn = make(C, 3, 3, l, 3, B, 1);
    float *x = rand_vec(B * C * 9, &st);
    psfwi_error err;
    const float *y = psfwi_nn_forward(nn, x, B, 1, &err);
    double ref[2 * 60];
    for (size_t b = 0; b < B; b++)
      for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < 5; i++)
          for (size_t j = 0; j < 4; j++)
            ref[((b * C + c) * 5 + i) * 4 + j] =
                x[((b * C + c) * 3 + (i + 1) / 2) * 3 + (j + 1) / 2];
    expect_close(y, ref, B * 60, 0, "upsample 2-D + crop + reshape");
    free(x);
    psfwi_nn_destroy(nn);
  }
  /* add from the input with relu */
  {
    psfwi_nn_layer l[2] = {conv(PSFWI_NN_CONV1D, C, 3, 1, 1, PSFWI_NN_TANH), lay(PSFWI_NN_ADD)};
    l[1].from = -1;
    l[1].act = PSFWI_NN_RELU;
    psfwi_nn *nn = make(C, 1, 6, l, 2, B, 1);
    float *x = rand_vec(B * C * 6, &st);
    double *ref = malloc(B * C * 6 * sizeof *ref);
    const float *w = psfwi_nn_params(nn);
    conv_ref(x, w, w + C * C * 3, B, C, 1, 6, C, 1, 3, 1, 1, 0, 1, 1, 6, PSFWI_NN_TANH, ref);
    for (size_t i = 0; i < B * C * 6; i++) ref[i] = fmax(ref[i] + x[i], 0);
    psfwi_error err;
    expect_close(psfwi_nn_forward(nn, x, B, 1, &err), ref, B * C * 6, 1e-6, "conv1d + add(input)");
    free(ref);
    free(x);
    psfwi_nn_destroy(nn);
  }
}

/* ---- Norms and dropout ------------------------------------------------------------ */

static void test_norms(void **state) {
  (void)state;
  const size_t B = 4, C = 3, W = 5, M = B * W;
  psfwi_nn_layer l = lay(PSFWI_NN_BATCHNORM);
  l.act = PSFWI_NN_ELU;
  psfwi_nn *nn = make(C, 1, W, &l, 1, B, 2);
  float *g = psfwi_nn_params(nn), *be = g + C, *rm = psfwi_nn_buffers(nn), *rv = rm + C;
  for (size_t c = 0; c < C; c++)
    rm[c] = (float)(0.1 * (double)c), rv[c] = (float)(1.0 + 0.5 * (double)c);
  unsigned long long st = 8;
  float *x = rand_vec(B * C * W, &st);
  psfwi_error err;
  double ref[60];
  /* evaluation: running statistics */
  const float *y = psfwi_nn_forward(nn, x, B, 0, &err);
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < W; i++) {
        const size_t k = (b * C + c) * W + i;
        ref[k] =
            act_ref(PSFWI_NN_ELU, 1.0, g[c] * (x[k] - rm[c]) / sqrt((double)rv[c] + 1e-5) + be[c]);
      }
  expect_close(y, ref, B * C * W, 2e-6, "batchnorm eval");
  /* training: batch statistics, running stats updated (unbiased variance) */
  double mean[3], var[3];
  for (size_t c = 0; c < C; c++) {
    double s = 0, v = 0;
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < W; i++) s += x[(b * C + c) * W + i];
    mean[c] = s / (double)M;
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < W; i++) v += pow(x[(b * C + c) * W + i] - mean[c], 2);
    var[c] = v / (double)M;
  }
  double rm0[3], rv0[3];
  for (size_t c = 0; c < C; c++) rm0[c] = rm[c], rv0[c] = rv[c];
  y = psfwi_nn_forward(nn, x, B, 1, &err);
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < W; i++) {
        const size_t k = (b * C + c) * W + i;
        ref[k] = act_ref(PSFWI_NN_ELU, 1.0, g[c] * (x[k] - mean[c]) / sqrt(var[c] + 1e-5) + be[c]);
      }
  expect_close(y, ref, B * C * W, 2e-6, "batchnorm train");
  for (size_t c = 0; c < C; c++) {
    assert_true(fabs(rm[c] - (0.9 * rm0[c] + 0.1 * mean[c])) < 1e-6);
    assert_true(fabs(rv[c] - (0.9 * rv0[c] + 0.1 * var[c] * (double)M / (double)(M - 1))) < 1e-6);
  }
  psfwi_nn_destroy(nn);
  /* training on one value per channel is refused */
  nn = make(C, 1, 1, &l, 1, 1, 2);
  assert_null(psfwi_nn_forward(nn, x, 1, 1, &err));
  assert_int_equal(err.status, PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "layer 0 (batchnorm)"));
  assert_non_null(psfwi_nn_forward(nn, x, 1, 0, &err));
  psfwi_nn_destroy(nn);
  /* layer norm: per sample over C W, gamma and beta per channel */
  l = lay(PSFWI_NN_LAYERNORM);
  nn = make(C, 1, W, &l, 1, B, 4);
  g = psfwi_nn_params(nn), be = g + C;
  y = psfwi_nn_forward(nn, x, B, 1, &err);
  for (size_t b = 0; b < B; b++) {
    double s = 0, v = 0;
    for (size_t k = 0; k < C * W; k++) s += x[b * C * W + k];
    const double m = s / (double)(C * W);
    for (size_t k = 0; k < C * W; k++) v += pow(x[b * C * W + k] - m, 2);
    const double sd = sqrt(v / (double)(C * W) + 1e-5);
    for (size_t k = 0; k < C * W; k++)
      ref[b * C * W + k] = g[k / W] * (x[b * C * W + k] - m) / sd + be[k / W];
  }
  expect_close(y, ref, B * C * W, 2e-6, "layernorm");
  psfwi_nn_destroy(nn);
  free(x);
}

static void test_dropout(void **state) {
  (void)state;
  const size_t B = 8, C = 4, W = 500, n = B * C * W;
  psfwi_nn_layer l = lay(PSFWI_NN_DROPOUT);
  l.rate = 0.3;
  psfwi_nn *nn = make(C, 1, W, &l, 1, B, 6);
  unsigned long long st = 5;
  float *x = rand_vec(n, &st), *y1 = malloc(n * sizeof *y1);
  psfwi_error err;
  const uint64_t s0 = psfwi_nn_dropout_state(nn);
  memcpy(y1, psfwi_nn_forward(nn, x, B, 1, &err), n * sizeof *y1);
  size_t zeros = 0;
  for (size_t i = 0; i < n; i++) {
    if (y1[i] == 0) {
      zeros++;
    } else {
      assert_true(fabsf(y1[i] - x[i] / 0.7f) <= 1e-6f * fabsf(y1[i]));
    }
  }
  printf("  dropout 0.3: %.4f of %zu values dropped\n", (double)zeros / (double)n, n);
  assert_true(fabs((double)zeros / (double)n - 0.3) < 0.01);
  /* the next forward draws another mask; the same state gives the same one */
  const float *y2 = psfwi_nn_forward(nn, x, B, 1, &err);
  assert_true(memcmp(y1, y2, n * sizeof *y1) != 0);
  psfwi_nn_set_dropout_state(nn, s0);
  y2 = psfwi_nn_forward(nn, x, B, 1, &err);
  assert_memory_equal(y1, y2, n * sizeof *y1);
  /* evaluation: identity */
  y2 = psfwi_nn_forward(nn, x, B, 0, &err);
  assert_memory_equal(x, y2, n * sizeof *x);
  free(x);
  free(y1);
  psfwi_nn_destroy(nn);
}

/* ---- Layout of a batch, errors ------------------------------------------------------- */

static void test_batch_layout(void **state) {
  (void)state;
  /* a batch of 5 gives, sample by sample, what batches of 1 give (eval) */
  psfwi_nn_layer l[4] = {conv(PSFWI_NN_CONV1D, 4, 3, 2, 1, PSFWI_NN_RELU), lay(PSFWI_NN_BATCHNORM),
                         conv(PSFWI_NN_CONVT1D, 3, 4, 2, 1, PSFWI_NN_TANH), lay(PSFWI_NN_DENSE)};
  l[3].out = 6;
  psfwi_nn *nn = make(2, 1, 8, l, 4, 5, 9);
  unsigned long long st = 4;
  float *x = rand_vec(5 * 16, &st), *yb = malloc(5 * 6 * sizeof *yb);
  psfwi_error err;
  memcpy(yb, psfwi_nn_forward(nn, x, 5, 0, &err), 5 * 6 * sizeof *yb);
  for (size_t b = 0; b < 5; b++) {
    const float *y = psfwi_nn_forward(nn, x + b * 16, 1, 0, &err);
    for (size_t k = 0; k < 6; k++) assert_true(fabsf(y[k] - yb[b * 6 + k]) <= 1e-5f);
  }
  /* batch above the plan; forward, backward out of order */
  assert_null(psfwi_nn_forward(nn, x, 6, 1, &err));
  assert_int_equal(err.status, PSFWI_ERANGE);
  assert_non_null(strstr(err.msg, "batch = 6"));
  float dy[5 * 6] = {0};
  assert_int_equal(psfwi_nn_backward(nn, dy, NULL, &err), PSFWI_EINVAL); /* failed forward */
  psfwi_nn_destroy(nn);
  psfwi_nn *nn2 = psfwi_nn_create(2, 1, 8, l, 4, &err);
  assert_non_null(nn2);
  assert_null(psfwi_nn_forward(nn2, x, 1, 1, &err));
  assert_int_equal(err.status, PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "psfwi_nn_set_batch"));
  assert_int_equal(psfwi_nn_backward(nn2, dy, NULL, &err), PSFWI_EINVAL);
  assert_int_equal(psfwi_nn_set_batch(nn2, 0, &err), PSFWI_EINVAL);
  psfwi_nn_destroy(nn2);
  free(x);
  free(yb);
}

static void expect_spec_error(size_t c, size_t h, size_t w, const psfwi_nn_layer *l, size_t n,
                              const char *a, const char *b) {
  psfwi_error err;
  psfwi_error_clear(&err);
  psfwi_nn *nn = psfwi_nn_create(c, h, w, l, n, &err);
  assert_null(nn);
  printf("  refused: %s\n", err.msg);
  assert_int_equal(err.status, PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, a));
  assert_non_null(strstr(err.msg, b));
}

static void test_spec_errors(void **state) {
  (void)state;
  psfwi_nn_layer l[3] = {conv(PSFWI_NN_CONV1D, 4, 3, 1, 1, PSFWI_NN_RELU),
                         conv(PSFWI_NN_CONV1D, 4, 9, 1, 0, PSFWI_NN_LINEAR), lay(PSFWI_NN_ADD)};
  expect_spec_error(2, 1, 7, l, 2, "layer 1 (conv1d)", "k = 9 is larger than the padded input (7");
  l[1] = conv(PSFWI_NN_CONV1D, 4, 3, 2, 1, PSFWI_NN_LINEAR);
  l[2].from = 0;
  expect_spec_error(2, 1, 8, l, 3, "layer 2 (add)", "from = 0 has shape (4, 1, 8)");
  l[2].from = 5;
  expect_spec_error(2, 1, 8, l, 3, "layer 2 (add)", "from = 5");
  psfwi_nn_layer t = conv(PSFWI_NN_CONVT1D, 2, 3, 2, 1, PSFWI_NN_LINEAR);
  t.output_pad = 2;
  expect_spec_error(2, 1, 8, &t, 1, "layer 0 (convt1d)", "output_pad = 2");
  t = conv(PSFWI_NN_CONV2D, 0, 3, 1, 1, PSFWI_NN_LINEAR);
  expect_spec_error(2, 4, 4, &t, 1, "layer 0 (conv2d)", "out = 0");
  t = conv(PSFWI_NN_CONV2D, 2, 3, 0, 1, PSFWI_NN_LINEAR);
  expect_spec_error(2, 4, 4, &t, 1, "layer 0 (conv2d)", "stride = 0");
  psfwi_nn_layer p[2] = {conv(PSFWI_NN_CONV1D, 2, 3, 1, 1, PSFWI_NN_LINEAR), lay(PSFWI_NN_MAXPOOL)};
  p[1].factor = 9;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (maxpool)", "factor = 9");
  p[1] = lay(PSFWI_NN_CROP);
  p[1].h0 = 0, p[1].w0 = 3, p[1].out_h = 1, p[1].out_w = 6;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (crop)", "w0 + out_w = 3 + 6");
  p[1] = lay(PSFWI_NN_RESHAPE);
  p[1].out_c = 3, p[1].out_h = 1, p[1].out_w = 5;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (reshape)", "input size 16");
  p[1] = lay(PSFWI_NN_DROPOUT);
  p[1].rate = 1.0;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (dropout)", "rate = 1");
  p[1] = lay(PSFWI_NN_BATCHNORM);
  p[1].eps = 0;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (batchnorm)", "eps = 0");
  p[1] = lay(PSFWI_NN_ACT);
  p[1].act = 42;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (activation)", "act = 42");
  p[1].act = PSFWI_NN_ELU, p[1].alpha = -1;
  expect_spec_error(2, 1, 8, p, 2, "layer 1 (activation)", "alpha = -1");
  p[1] = lay(99);
  expect_spec_error(2, 1, 8, p, 2, "layer 1", "kind = 99");
  psfwi_error err;
  assert_null(psfwi_nn_create(0, 1, 8, p, 1, &err));
  assert_int_equal(err.status, PSFWI_EINVAL);
  /* names */
  int v;
  assert_int_equal(psfwi_nn_kind_parse("convt2d", &v, &err), PSFWI_OK);
  assert_int_equal(v, PSFWI_NN_CONVT2D);
  assert_int_equal(psfwi_nn_act_parse("leaky_relu", &v, &err), PSFWI_OK);
  assert_int_equal(v, PSFWI_NN_LRELU);
  assert_int_equal(psfwi_nn_loss_parse("huber", &v, &err), PSFWI_OK);
  assert_int_equal(v, PSFWI_NN_HUBER);
  assert_int_equal(psfwi_nn_kind_parse("conv3d", &v, &err), PSFWI_EINVAL);
  assert_non_null(strstr(err.msg, "'conv3d'"));
  assert_non_null(strstr(err.msg, "convt1d"));
  assert_string_equal(psfwi_nn_kind_name(PSFWI_NN_LAYERNORM), "layernorm");
  assert_string_equal(psfwi_nn_act_name(77), "unknown");
  /* defaults resolved */
  psfwi_nn_layer d[2] = {conv(PSFWI_NN_CONV1D, 3, 3, 1, 1, PSFWI_NN_LRELU), lay(PSFWI_NN_ACT)};
  d[1].act = PSFWI_NN_TANH;
  psfwi_nn *nn = psfwi_nn_create(2, 1, 8, d, 2, &err);
  assert_non_null(nn);
  assert_true(psfwi_nn_layers(nn)[0].alpha == 0.01);
  assert_int_equal(psfwi_nn_layers(nn)[0].init, PSFWI_NN_INIT_HE);
  assert_int_equal(psfwi_nn_nparam(nn), 3 * 2 * 3 + 3);
  psfwi_nn_destroy(nn);
}

/* ---- Initialisation and determinism ------------------------------------------------- */

static void test_init_statistics(void **state) {
  (void)state;
  psfwi_error err;
  for (int init = PSFWI_NN_INIT_HE; init <= PSFWI_NN_INIT_GLOROT; init++) {
    psfwi_nn_layer l = lay(PSFWI_NN_CONV1D);
    l.out = 400, l.k = 5, l.init = init; /* fan_in 1000, fan_out 2000, 400k weights */
    psfwi_nn *nn = psfwi_nn_create(200, 1, 16, &l, 1, &err);
    assert_non_null(nn);
    psfwi_nn_init(nn, 2024);
    const float *p = psfwi_nn_params(nn);
    const size_t n = 400 * 200 * 5;
    double s = 0, s2 = 0, mx = 0;
    for (size_t k = 0; k < n; k++) s += p[k], s2 += (double)p[k] * p[k], mx = fmax(mx, fabs(p[k]));
    const double mean = s / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
    const double want = init == PSFWI_NN_INIT_HE ? sqrt(2.0 / 1000) : sqrt(6.0 / 3000) / sqrt(3.0);
    printf("  %s: mean %.2e, std %.5f (expected %.5f), max |w| %.4f\n",
           init == PSFWI_NN_INIT_HE ? "He" : "Glorot", mean, sd, want, mx);
    assert_true(fabs(sd / want - 1) < 0.02);
    assert_true(fabs(mean) < 0.02 * want);
    if (init == PSFWI_NN_INIT_GLOROT) assert_true(mx <= sqrt(6.0 / 3000));
    for (size_t k = n; k < psfwi_nn_nparam(nn); k++) assert_true(p[k] == 0); /* biases */
    psfwi_nn_destroy(nn);
  }
}

/* The hourglass of the memorisation test, on (2, 1, 16): conv, bn+relu (1),
 * stride-2 conv, bn+relu, maxpool (W 4), two convts back up (W 16),
 * bn+relu, add from 1, 1x1 conv to (3, 1, 16). */
static size_t hourglass(psfwi_nn_layer *l) {
  l[0] = conv(PSFWI_NN_CONV1D, 8, 3, 1, 1, PSFWI_NN_LINEAR);
  l[1] = lay(PSFWI_NN_BATCHNORM), l[1].act = PSFWI_NN_RELU;
  l[2] = conv(PSFWI_NN_CONV1D, 16, 3, 2, 1, PSFWI_NN_LINEAR);
  l[3] = lay(PSFWI_NN_BATCHNORM), l[3].act = PSFWI_NN_RELU;
  l[4] = lay(PSFWI_NN_MAXPOOL), l[4].factor = 2;
  l[5] = conv(PSFWI_NN_CONVT1D, 16, 4, 2, 1, PSFWI_NN_RELU);
  l[6] = conv(PSFWI_NN_CONVT1D, 8, 4, 2, 1, PSFWI_NN_LINEAR);
  l[7] = lay(PSFWI_NN_BATCHNORM), l[7].act = PSFWI_NN_RELU;
  l[8] = lay(PSFWI_NN_ADD), l[8].from = 1;
  l[9] = conv(PSFWI_NN_CONV1D, 3, 1, 1, 0, PSFWI_NN_LINEAR);
  return 10;
}

/* n plain gradient steps p -= lr g on MSE; returns the last loss. */
static double train(psfwi_nn *nn, const float *x, const float *t, size_t B, int steps, double lr,
                    double *first) {
  psfwi_error err;
  const size_t ny = B * psfwi_nn_out_size(nn), np = psfwi_nn_nparam(nn);
  float *dy = malloc(ny * sizeof *dy);
  double loss = 0;
  for (int it = 0; it < steps; it++) {
    const float *y = psfwi_nn_forward(nn, x, B, 1, &err);
    assert_non_null(y);
    loss = psfwi_nn_loss_eval(PSFWI_NN_MSE, 0, y, t, ny, 1, dy);
    if (it == 0 && first) *first = loss;
    psfwi_nn_zero_grad(nn);
    assert_int_equal(psfwi_nn_backward(nn, dy, NULL, &err), PSFWI_OK);
    float *p = psfwi_nn_params(nn);
    const float *g = psfwi_nn_grads(nn);
    for (size_t k = 0; k < np; k++) p[k] -= (float)lr * g[k];
  }
  free(dy);
  return loss;
}

static void test_same_seed_same_bits(void **state) {
  (void)state;
  psfwi_nn_layer l[12];
  const size_t n = hourglass(l);
  l[4] = lay(PSFWI_NN_DROPOUT), l[4].rate = 0.2; /* dropout's stream too */
  l[5] = conv(PSFWI_NN_CONV1D, 16, 3, 1, 1, PSFWI_NN_RELU);
  psfwi_error err;
  float *p[3];
  psfwi_nn *nn[3];
  unsigned long long st = 11;
  float *x = rand_vec(4 * 2 * 16, &st), *t = rand_vec(4 * 3 * 16, &st);
  for (int k = 0; k < 3; k++) {
    nn[k] = psfwi_nn_create(2, 1, 16, l, n, &err);
    assert_non_null(nn[k]);
    psfwi_nn_init(nn[k], k < 2 ? 7 : 8);
    assert_int_equal(psfwi_nn_set_batch(nn[k], 4, &err), PSFWI_OK);
    train(nn[k], x, t, 4, 3, 0.01, NULL);
    p[k] = psfwi_nn_params(nn[k]);
  }
  const size_t np = psfwi_nn_nparam(nn[0]);
  assert_memory_equal(p[0], p[1], np * sizeof *p[0]);
  assert_memory_equal(psfwi_nn_buffers(nn[0]), psfwi_nn_buffers(nn[1]),
                      psfwi_nn_nbuffer(nn[0]) * sizeof(float));
  assert_true(memcmp(p[0], p[2], np * sizeof *p[0]) != 0);
  for (int k = 0; k < 3; k++) psfwi_nn_destroy(nn[k]);
  free(x);
  free(t);
}

static void test_gradient_accumulates(void **state) {
  (void)state;
  psfwi_nn_layer l[12];
  const size_t n = hourglass(l);
  psfwi_nn *nn = make(2, 1, 16, l, n, 3, 1);
  unsigned long long st = 12;
  float *x = rand_vec(3 * 32, &st), *dy = rand_vec(3 * 48, &st);
  float *dx1 = malloc(3 * 32 * sizeof *dx1), *dx2 = malloc(3 * 32 * sizeof *dx2);
  psfwi_error err;
  assert_non_null(psfwi_nn_forward(nn, x, 3, 1, &err));
  psfwi_nn_zero_grad(nn);
  assert_int_equal(psfwi_nn_backward(nn, dy, dx1, &err), PSFWI_OK);
  const size_t np = psfwi_nn_nparam(nn);
  float *g1 = malloc(np * sizeof *g1);
  memcpy(g1, psfwi_nn_grads(nn), np * sizeof *g1);
  assert_int_equal(psfwi_nn_backward(nn, dy, dx2, &err), PSFWI_OK);
  const float *g2 = psfwi_nn_grads(nn);
  for (size_t k = 0; k < np; k++)
    assert_true(fabsf(g2[k] - 2 * g1[k]) <= 1e-6f * fabsf(g1[k]) + 1e-30f);
  assert_memory_equal(dx1, dx2, 3 * 32 * sizeof *dx1); /* dx is written, not added */
  free(g1), free(x), free(dy), free(dx1), free(dx2);
  psfwi_nn_destroy(nn);
}

/* OpenMP threads of the element-wise passes change no bit (the gemms run
 * on the same OpenBLAS set-up in both runs). */
static void test_threads_same_bits(void **state) {
  (void)state;
  psfwi_nn_layer l[12];
  const size_t n = hourglass(l);
  const size_t B = 64; /* large enough for the passes to go parallel */
  unsigned long long st = 31;
  float *x = rand_vec(B * 2 * 16, &st), *dy = rand_vec(B * 3 * 16, &st);
  float *r[2][3];
  for (int k = 0; k < 2; k++) {
    psfwi_nn *nn = make(2, 1, 16, l, n, B, 5);
    psfwi_nn_set_threads(nn, k + 1);
    assert_int_equal(psfwi_nn_threads(nn), k + 1);
    psfwi_error err;
    const size_t np = psfwi_nn_nparam(nn);
    r[k][0] = malloc(B * 48 * sizeof(float)), r[k][1] = malloc(np * sizeof(float));
    r[k][2] = malloc(B * 32 * sizeof(float));
    memcpy(r[k][0], psfwi_nn_forward(nn, x, B, 1, &err), B * 48 * sizeof(float));
    psfwi_nn_zero_grad(nn);
    assert_int_equal(psfwi_nn_backward(nn, dy, r[k][2], &err), PSFWI_OK);
    memcpy(r[k][1], psfwi_nn_grads(nn), np * sizeof(float));
    if (k == 1) {
      assert_memory_equal(r[0][0], r[1][0], B * 48 * sizeof(float));
      assert_memory_equal(r[0][1], r[1][1], np * sizeof(float));
      assert_memory_equal(r[0][2], r[1][2], B * 32 * sizeof(float));
    }
    psfwi_nn_destroy(nn);
  }
  for (int k = 0; k < 2; k++) free(r[k][0]), free(r[k][1]), free(r[k][2]);
  free(x);
  free(dy);
}

static void test_memorise(void **state) {
  (void)state;
  psfwi_nn_layer l[12];
  const size_t n = hourglass(l);
  const size_t B = 8;
  psfwi_error err;
  psfwi_nn *nn = psfwi_nn_create(2, 1, 16, l, n, &err);
  assert_non_null(nn);
  printf("  hourglass: %zu layers, %zu parameters\n", n, psfwi_nn_nparam(nn));
  psfwi_nn_init(nn, 3);
  assert_int_equal(psfwi_nn_set_batch(nn, B, &err), PSFWI_OK);
  unsigned long long st = 21;
  float *x = rand_vec(B * 2 * 16, &st), *t = rand_vec(B * 3 * 16, &st);
  double first = 0;
  const double last = train(nn, x, t, B, 2000, 0.1, &first);
  printf("  memorise 8 samples: MSE %.4g -> %.4g (%.0fx)\n", first, last, first / last);
  assert_true(last < first / 100);
  free(x);
  free(t);
  psfwi_nn_destroy(nn);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_forward),
      cmocka_unit_test(test_plane_layers),
      cmocka_unit_test(test_norms),
      cmocka_unit_test(test_dropout),
      cmocka_unit_test(test_batch_layout),
      cmocka_unit_test(test_spec_errors),
      cmocka_unit_test(test_init_statistics),
      cmocka_unit_test(test_same_seed_same_bits),
      cmocka_unit_test(test_gradient_accumulates),
      cmocka_unit_test(test_threads_same_bits),
      cmocka_unit_test(test_memorise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
