/* Benchmark (not a test): training samples per second of the nn engine on
 * the "issue-12 default" hourglass, the network the data-driven DNN starts
 * from. Input (C = 80, H = 1, W = 72), output (70, 1, 72):
 *
 *   0 conv1d 64 k3 pad1 (no bias)        7 batchnorm + relu
 *   1 batchnorm + relu      (W 72)       8 add from 3
 *   2 conv1d 128 k3 s2 pad1 (no bias)    9 convt1d 64 k4 s2 pad1 (no bias)
 *   3 batchnorm + relu      (W 36)      10 batchnorm + relu     (W 72)
 *   4 conv1d 256 k3 s2 pad1 (no bias)   11 add from 1
 *   5 batchnorm + relu      (W 18)      12 conv1d 70 k1 (linear, bias)
 *   6 convt1d 128 k4 s2 pad1 (no bias)
 *
 * (convolutions followed by batch norm have no bias, as in the PyTorch
 * peer scripts/bench_nn_torch.py: 307,910 parameters in both). One
 * training step = forward (train) + MSE + backward (no input gradient) +
 * an Adam update written inline (lr 1e-3, betas 0.9 / 0.999, eps 1e-8).
 *
 *   bench_nn [--threads N] [--omp-threads N] [--batch B] [--reps R] [--steps S]
 *
 * --threads sets OpenBLAS's threads, --omp-threads (default 1) those of the
 * element-wise passes (psfwi_nn_set_threads; above 1 only pays with
 * OMP_WAIT_POLICY=passive, docs/nn.md). Each of R rounds
 * times S steps (after 3 warm-up steps); prints each round, the split of a
 * step into forward / backward / update, and the median samples/s.
 * --penalties: each round then also times S steps with each network
 * penalty of psfwi_nn_pen (L1, spectral, Jacobian estimate with one draw,
 * Jacobian nuclear norm at the bottleneck, one draw; the Jacobian estimate
 * also on a quarter of the batch;
 * weights 1e-3) added after the backward, and prints the medians of the
 * per-round ratios to the step without (the regularization issue's target
 * for the Jacobian penalties: at most 2x). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "psfwi_core.h"
#include "psfwi_nn.h"

static void die(const psfwi_error *e) {
  fprintf(stderr, "bench_nn: %s\n", e->msg);
  exit(1);
}

static psfwi_nn_layer conv(int kind, size_t out, size_t k, size_t stride, size_t pad) {
  psfwi_nn_layer l;
  psfwi_nn_layer_init(&l, kind);
  l.out = out, l.k = k, l.stride = stride, l.pad = pad, l.bias = 0;
  return l;
}

static psfwi_nn_layer bn_relu(void) {
  psfwi_nn_layer l;
  psfwi_nn_layer_init(&l, PSFWI_NN_BATCHNORM);
  l.act = PSFWI_NN_RELU;
  return l;
}

static psfwi_nn_layer add_from(int from) {
  psfwi_nn_layer l;
  psfwi_nn_layer_init(&l, PSFWI_NN_ADD);
  l.from = from;
  return l;
}

/* The issue-12 default hourglass; returns the layer count. */
static size_t issue12_default(psfwi_nn_layer *l) {
  size_t n = 0;
  l[n++] = conv(PSFWI_NN_CONV1D, 64, 3, 1, 1);
  l[n++] = bn_relu(); /* 1: 64 x 72 */
  l[n++] = conv(PSFWI_NN_CONV1D, 128, 3, 2, 1);
  l[n++] = bn_relu(); /* 3: 128 x 36 */
  l[n++] = conv(PSFWI_NN_CONV1D, 256, 3, 2, 1);
  l[n++] = bn_relu(); /* 5: 256 x 18, the bottleneck */
  l[n++] = conv(PSFWI_NN_CONVT1D, 128, 4, 2, 1);
  l[n++] = bn_relu();   /* 7: 128 x 36 */
  l[n++] = add_from(3); /* 8 */
  l[n++] = conv(PSFWI_NN_CONVT1D, 64, 4, 2, 1);
  l[n++] = bn_relu();   /* 10: 64 x 72 */
  l[n++] = add_from(1); /* 11 */
  l[n] = conv(PSFWI_NN_CONV1D, 70, 1, 1, 0);
  l[n++].bias = 1; /* 12: 70 x 72, linear */
  return n;
}

int main(int argc, char **argv) {
  int threads = 1, omp_threads = 0, reps = 7, steps = 20, penalties = 0;
  size_t batch = 64;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
      threads = atoi(argv[++i]);
    } else if (i + 1 < argc && strcmp(argv[i], "--omp-threads") == 0) {
      omp_threads = atoi(argv[++i]);
    } else if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) {
      batch = (size_t)atol(argv[++i]);
    } else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) {
      reps = atoi(argv[++i]);
    } else if (i + 1 < argc && strcmp(argv[i], "--steps") == 0) {
      steps = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--penalties") == 0) {
      penalties = 1;
    } else {
      fprintf(stderr,
              "usage: bench_nn [--threads N] [--omp-threads N] [--batch B] [--reps R] "
              "[--steps S] [--penalties]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1 || reps > 64 || steps < 1 || batch < 2) {
    fprintf(stderr, "bench_nn: need threads >= 1, 1 <= reps <= 64, steps >= 1, batch >= 2\n");
    return 2;
  }
  openblas_set_num_threads(threads);
  if (omp_threads < 1) omp_threads = 1;
  omp_set_num_threads(omp_threads);
  psfwi_error e;
  psfwi_nn_layer l[16];
  const size_t nl = issue12_default(l);
  psfwi_nn *nn = psfwi_nn_create(80, 1, 72, l, nl, &e);
  if (nn == NULL) die(&e);
  psfwi_nn_init(nn, 1);
  psfwi_nn_set_threads(nn, omp_threads);
  if (psfwi_nn_set_batch(nn, batch, &e)) die(&e);
  const size_t np = psfwi_nn_nparam(nn), nx = batch * psfwi_nn_in_size(nn);
  const size_t ny = batch * psfwi_nn_out_size(nn);
  float *x = malloc(nx * sizeof *x), *t = malloc(ny * sizeof *t), *dy = malloc(ny * sizeof *dy);
  float *m = calloc(np, sizeof *m), *v = calloc(np, sizeof *v);
  if (!x || !t || !dy || !m || !v) return 1;
  unsigned long long s = 42;
  for (size_t i = 0; i < nx; i++)
    x[i] = (float)((double)(psfwi_splitmix64(&s) >> 11) * 0x1p-52 - 1);
  for (size_t i = 0; i < ny; i++)
    t[i] = (float)((double)(psfwi_splitmix64(&s) >> 11) * 0x1p-52 - 1);
  char ab[32];
  printf(
      "bench_nn: issue-12 default hourglass, %zu layers, %zu parameters, batch %zu, %d "
      "thread(s), arena %s, OpenBLAS core %s\n",
      nl, np, batch, threads, psfwi_bytes_text((double)psfwi_nn_arena_bytes(nn), ab, sizeof ab),
      openblas_get_corename());
  const char *ct = getenv("OPENBLAS_CORETYPE");
  if (ct != NULL && strcmp(ct, openblas_get_corename()) == 0)
    printf(
        "note: OPENBLAS_CORETYPE=%s in the environment chose OpenBLAS's kernels (unset it to "
        "let OpenBLAS pick by the CPU)\n",
        ct);
  /* --penalties: each round also times the same steps with each network
   * penalty (weights 1e-3; the Jacobian estimate with one draw) */
  enum { NPEN = 6 };
  static const char *pen_name[NPEN] = {
      "none", "l1", "spectral", "jacobian", "jacobian nuclear", "jacobian 1/4 batch"};
  psfwi_nn_pen *pens[NPEN] = {NULL};
  for (int k = 1; penalties && k < NPEN; k++) {
    psfwi_nn_pen_opts po;
    psfwi_nn_pen_defaults(&po);
    if (k == 1) po.l1 = 1e-3;
    if (k == 2) po.spectral = 1e-3;
    if (k == 3 || k == 5) po.jacobian = 1e-3;
    if (k == 4) po.nuclear = 1e-3;
    if (k == 5) po.jacobian_samples = batch / 4 > 0 ? batch / 4 : 1;
    if ((pens[k] = psfwi_nn_pen_create(nn, &po, batch, NULL, NULL, &e)) == NULL) die(&e);
  }
  double pen_step[NPEN][64];
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  long step = 0;
  double tf = 0, tb = 0, tu = 0;
  double rate[64], fwd[64], bwd[64], upd[64], loss = 0;
  for (int r = -1; r < reps; r++)
    for (int pk = 0; pk < (penalties ? NPEN : 1); pk++) {
      const int ns = r < 0 ? 3 : steps; /* round -1: warm-up */
      tf = tb = tu = 0;
      const double t0 = psfwi_seconds();
      for (int k = 0; k < ns; k++) {
        const double a = psfwi_seconds();
        const float *y = psfwi_nn_forward(nn, x, batch, 1, &e);
        if (y == NULL) die(&e);
        loss = psfwi_nn_loss_eval(PSFWI_NN_MSE, 0, y, t, ny, 1, dy);
        const double b = psfwi_seconds();
        psfwi_nn_zero_grad(nn);
        if (psfwi_nn_backward(nn, dy, NULL, &e)) die(&e);
        if (pens[pk]) {
          psfwi_nn_pen_terms pt;
          if (psfwi_nn_pen_eval(pens[pk], x, batch, 1, &pt, &e)) die(&e);
        }
        const double c = psfwi_seconds();
        step++;
        const float c1 = (float)(lr / (1 - pow(b1, (double)step)));
        const float c2 = (float)(1 / sqrt(1 - pow(b2, (double)step)));
        float *p = psfwi_nn_params(nn);
        const float *g = psfwi_nn_grads(nn);
        for (size_t i = 0; i < np; i++) {
          m[i] = (float)b1 * m[i] + (float)(1 - b1) * g[i];
          v[i] = (float)b2 * v[i] + (float)(1 - b2) * g[i] * g[i];
          p[i] -= c1 * m[i] / (sqrtf(v[i]) * c2 + (float)eps);
        }
        const double d = psfwi_seconds();
        tf += b - a, tb += c - b, tu += d - c;
      }
      const double dt = psfwi_seconds() - t0;
      if (r < 0) continue;
      pen_step[pk][r] = 1e3 * dt / ns;
      if (pk > 0) {
        printf("round %d: penalty %-17s step %.2f ms (%.2fx the step without)\n", r + 1,
               pen_name[pk], pen_step[pk][r], pen_step[pk][r] / pen_step[0][r]);
        continue;
      }
      rate[r] = (double)ns * (double)batch / dt;
      fwd[r] = 1e3 * tf / ns, bwd[r] = 1e3 * tb / ns, upd[r] = 1e3 * tu / ns;
      printf(
          "round %d: %.0f samples/s (step %.2f ms: forward+loss %.2f, backward %.2f, update "
          "%.2f), loss %.4f\n",
          r + 1, rate[r], 1e3 * dt / ns, fwd[r], bwd[r], upd[r], loss);
    }
  const double mf = bench_median(fwd, reps), mb = bench_median(bwd, reps);
  const double mu = bench_median(upd, reps);
  printf(
      "psfwi nn: %zu parameters, batch %zu, %d thread(s): median %.0f samples/s (forward %.2f "
      "ms, backward %.2f ms, update %.2f ms)\n",
      np, batch, threads, bench_median(rate, reps), mf, mb, mu);
  for (int k = 1; penalties && k < NPEN; k++) {
    double ratio[64];
    for (int r = 0; r < reps; r++) ratio[r] = pen_step[k][r] / pen_step[0][r];
    printf("penalty %-17s: median step %.2f ms, median ratio to the step without %.2f\n",
           pen_name[k], bench_median(pen_step[k], reps), bench_median(ratio, reps));
    psfwi_nn_pen_destroy(pens[k]);
  }
  psfwi_nn_destroy(nn);
  free(x), free(t), free(dy), free(m), free(v);
  return 0;
}
