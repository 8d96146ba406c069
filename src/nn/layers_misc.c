/* psfwi nn: activations (fused into the layer that writes the output, their
 * derivatives taken from the output), batch and layer norm, dropout,
 * pooling, up-sampling, crop, reshape and the residual add, all on the
 * engine's channel-major layout t[((c * B + b) * H + h) * W + w]. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

/* ---- Activations -------------------------------------------------------- */

NN_CLONES static void act_run(int act, real alpha, real bias, real *y, size_t n) {
  switch (act) {
    case PSFWI_NN_RELU:
      for (size_t i = 0; i < n; i++) {
        const real v = y[i] + bias;
        y[i] = v > 0 ? v : 0;
      }
      break;
    case PSFWI_NN_LRELU:
      for (size_t i = 0; i < n; i++) {
        const real v = y[i] + bias;
        y[i] = v > 0 ? v : alpha * v;
      }
      break;
    case PSFWI_NN_ELU:
      for (size_t i = 0; i < n; i++) {
        const real v = y[i] + bias;
        y[i] = v > 0 ? v : alpha * (NN_EXP(v) - 1);
      }
      break;
    case PSFWI_NN_TANH:
      for (size_t i = 0; i < n; i++) y[i] = NN_TANH(y[i] + bias);
      break;
    case PSFWI_NN_SIGMOID:
      for (size_t i = 0; i < n; i++) y[i] = 1 / (1 + NN_EXP(-(y[i] + bias)));
      break;
    default:
      if (bias != 0)
        for (size_t i = 0; i < n; i++) y[i] += bias;
      break;
  }
}

/* Sums in double over NN_LANES interleaved partial sums: a fixed order (the
 * same result on any thread count) that the compiler can vectorise, which
 * it may not do with one running sum (that would reassociate). */
#define NN_LANES 8

NN_CLONES static double sum_lanes(const real *x, size_t n) {
  double acc[NN_LANES] = {0}, s = 0;
  size_t i = 0;
  for (; i + NN_LANES <= n; i += NN_LANES)
    for (size_t k = 0; k < NN_LANES; k++) acc[k] += (double)x[i + k];
  for (; i < n; i++) s += (double)x[i];
  for (size_t k = 0; k < NN_LANES; k++) s += acc[k];
  return s;
}

/* *sa = sum (a - a0), *sq = sum (a - a0)^2 (a0 = a[0]: shifted sums keep the
 * variance accurate when the mean is large against the spread). */
NN_CLONES static void moments_lanes(const real *a, size_t n, double *sa, double *sq) {
  double s1[NN_LANES] = {0}, s2[NN_LANES] = {0}, t1 = 0, t2 = 0;
  const double a0 = (double)a[0];
  size_t i = 0;
  for (; i + NN_LANES <= n; i += NN_LANES)
    for (size_t k = 0; k < NN_LANES; k++) {
      const double d = (double)a[i + k] - a0;
      s1[k] += d;
      s2[k] += d * d;
    }
  for (; i < n; i++) {
    const double d = (double)a[i] - a0;
    t1 += d;
    t2 += d * d;
  }
  for (size_t k = 0; k < NN_LANES; k++) t1 += s1[k], t2 += s2[k];
  *sa = t1;
  *sq = t2;
}

/* *sa = sum a, *sab = sum a b. */
NN_CLONES static void dot_lanes(const real *a, const real *b, size_t n, double *sa, double *sab) {
  double s1[NN_LANES] = {0}, s2[NN_LANES] = {0}, t1 = 0, t2 = 0;
  size_t i = 0;
  for (; i + NN_LANES <= n; i += NN_LANES)
    for (size_t k = 0; k < NN_LANES; k++) {
      s1[k] += (double)a[i + k];
      s2[k] += (double)a[i + k] * (double)b[i + k];
    }
  for (; i < n; i++) {
    t1 += (double)a[i];
    t2 += (double)a[i] * (double)b[i];
  }
  for (size_t k = 0; k < NN_LANES; k++) t1 += s1[k], t2 += s2[k];
  *sa = t1;
  *sab = t2;
}

/* g *= act'(x) written with the output y; returns the sum of the new g
 * when want_sum. */
NN_CLONES static double act_grad_run(int act, real alpha, const real *y, real *g, size_t n,
                                     int want_sum) {
  switch (act) {
    case PSFWI_NN_RELU:
      for (size_t i = 0; i < n; i++) g[i] = y[i] > 0 ? g[i] : 0;
      break;
    case PSFWI_NN_LRELU:
      for (size_t i = 0; i < n; i++) g[i] = y[i] > 0 ? g[i] : alpha * g[i];
      break;
    case PSFWI_NN_ELU:
      for (size_t i = 0; i < n; i++) g[i] = y[i] > 0 ? g[i] : g[i] * (y[i] + alpha);
      break;
    case PSFWI_NN_TANH:
      for (size_t i = 0; i < n; i++) g[i] *= 1 - y[i] * y[i];
      break;
    case PSFWI_NN_SIGMOID:
      for (size_t i = 0; i < n; i++) g[i] *= y[i] * (1 - y[i]);
      break;
    default: break;
  }
  return want_sum ? sum_lanes(g, n) : 0.0;
}

void nn_act_forward(int act, real alpha, const real *bias, real *y, size_t nc, size_t n, int nt) {
  if (act == PSFWI_NN_LINEAR && bias == NULL) return;
  NN_OMP_FOR(nt, nc * n)
  for (size_t c = 0; c < nc; c++) act_run(act, alpha, bias ? bias[c] : 0, y + c * n, n);
}

void nn_act_backward(int act, real alpha, const real *y, real *g, real *dbias, size_t nc, size_t n,
                     int nt) {
  if (act == PSFWI_NN_LINEAR && dbias == NULL) return;
  NN_OMP_FOR(nt, nc * n)
  for (size_t c = 0; c < nc; c++) {
    const double s = act_grad_run(act, alpha, y + c * n, g + c * n, n, dbias != NULL);
    if (dbias) dbias[c] += (real)s;
  }
}

NN_CLONES void nn_put(real *dst, const real *src, size_t n, int acc) {
  if (acc) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
  } else if (dst != src) {
    memcpy(dst, src, n * sizeof *dst);
  }
}

/* ---- Batch norm: per channel over the batch and the plane ----------------- */

/* y = a x + b */
NN_CLONES static void affine(const real *x, real *y, real a, real b, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a * x[i] + b;
}

/* y = max(a x + b, 0) */
NN_CLONES static void affine_relu(const real *x, real *y, real a, real b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const real v = a * x[i] + b;
    y[i] = v > 0 ? v : 0;
  }
}

/* d = k g + bx x + c0 (acc = 0) or d += (acc = 1) */
NN_CLONES static void affine2(real *d, const real *g, const real *x, real k, real bx, real c0,
                              size_t n, int acc) {
  if (acc) {
    for (size_t i = 0; i < n; i++) d[i] += k * g[i] + bx * x[i] + c0;
  } else {
    for (size_t i = 0; i < n; i++) d[i] = k * g[i] + bx * x[i] + c0;
  }
}

static void bn_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, int train) {
  const size_t C = l->ic, M = B * l->ih * l->iw;
  const real *gamma = nn->params + l->poff, *beta = gamma + C;
  real *rmean = nn->buffers + l->boff, *rvar = rmean + C;
  const double eps = l->s.eps, mom = l->s.momentum;
  const real alpha = (real)l->s.alpha;
  NN_OMP_FOR(nn->nthreads, C * M)
  for (size_t c = 0; c < C; c++) {
    const real *xc = x + c * M;
    real *yc = l->out + c * M;
    double mean, invstd;
    if (train) {
      double s, q;
      moments_lanes(xc, M, &s, &q);
      const double ms = s / (double)M;
      mean = (double)xc[0] + ms;
      const double var = fmax(q / (double)M - ms * ms, 0.0), v = var * (double)M;
      invstd = 1.0 / sqrt(var + eps);
      rmean[c] = (real)((1.0 - mom) * (double)rmean[c] + mom * mean);
      rvar[c] = (real)((1.0 - mom) * (double)rvar[c] + mom * v / (double)(M - 1));
    } else {
      mean = (double)rmean[c];
      invstd = 1.0 / sqrt((double)rvar[c] + eps);
    }
    l->stat[c] = (real)mean;
    l->stat[C + c] = (real)invstd;
    const real a = (real)((double)gamma[c] * invstd);
    const real sh = (real)((double)beta[c] - mean * (double)gamma[c] * invstd);
    if (l->s.act == PSFWI_NN_RELU) {
      affine_relu(xc, yc, a, sh, M);
    } else {
      affine(xc, yc, a, sh, M);
      act_run(l->s.act, alpha, 0, yc, M);
    }
  }
}

static void bn_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc) {
  const size_t C = l->ic, M = B * l->ih * l->iw;
  const real *gamma = nn->params + l->poff;
  real *dgamma = nn->grads + l->poff, *dbeta = dgamma + C;
  const int train = nn->train;
  const real alpha = (real)l->s.alpha;
  NN_OMP_FOR(nn->nthreads, C * M)
  for (size_t c = 0; c < C; c++) {
    const real *xc = x + c * M;
    real *g = l->grad + c * M;
    const real mean = l->stat[c], invstd = l->stat[C + c];
    double sg, sgxr; /* sum g, sum g x */
    act_grad_run(l->s.act, alpha, l->out + c * M, g, M, 0);
    dot_lanes(g, xc, M, &sg, &sgxr);
    const double sgx = (double)invstd * (sgxr - (double)mean * sg); /* sum g xhat */
    dgamma[c] += (real)sgx;
    dbeta[c] += (real)sg;
    if (gx == NULL) continue;
    real *d = gx + c * M;
    const real k = gamma[c] * invstd;
    if (train) {
      /* dx = k (g - mean(g) - xhat mean(g xhat)) = k g + bx x + c0 */
      const double mg = sg / (double)M, mgx = sgx / (double)M;
      const real bx = (real)(-(double)k * (double)invstd * mgx);
      const real c0 = (real)((double)k * (-mg + (double)invstd * mgx * (double)mean));
      affine2(d, g, xc, k, bx, c0, M, acc);
    } else {
      if (acc) {
        for (size_t i = 0; i < M; i++) d[i] += k * g[i];
      } else {
        for (size_t i = 0; i < M; i++) d[i] = k * g[i];
      }
    }
  }
}

/* ---- Layer norm: per sample over C H W; gamma, beta per channel ---------- */

static void ln_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B) {
  const size_t C = l->ic, n = l->ih * l->iw, M = C * n;
  const real *gamma = nn->params + l->poff, *beta = gamma + C;
  const double eps = l->s.eps;
  NN_OMP_FOR(nn->nthreads, B * M)
  for (size_t b = 0; b < B; b++) {
    double s = 0, v = 0;
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < n; i++) s += (double)x[(c * B + b) * n + i];
    const double mean = s / (double)M;
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < n; i++) {
        const double d = (double)x[(c * B + b) * n + i] - mean;
        v += d * d;
      }
    const double invstd = 1.0 / sqrt(v / (double)M + eps);
    l->stat[b] = (real)mean;
    l->stat[B + b] = (real)invstd;
    for (size_t c = 0; c < C; c++) {
      const real a = (real)((double)gamma[c] * invstd);
      const real sh = (real)((double)beta[c] - mean * (double)gamma[c] * invstd);
      const real *xc = x + (c * B + b) * n;
      real *yc = l->out + (c * B + b) * n;
      for (size_t i = 0; i < n; i++) yc[i] = a * xc[i] + sh;
      act_run(l->s.act, (real)l->s.alpha, 0, yc, n);
    }
  }
}

static void ln_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc) {
  const size_t C = l->ic, n = l->ih * l->iw, M = C * n;
  const real *gamma = nn->params + l->poff;
  real *dgamma = nn->grads + l->poff, *dbeta = dgamma + C;
  nn_act_backward(l->s.act, (real)l->s.alpha, l->out, l->grad, NULL, C, B * n, nn->nthreads);
  const real *g = l->grad;
  NN_OMP_FOR(nn->nthreads, B * M)
  for (size_t c = 0; c < C; c++) {
    double sg = 0, sgx = 0;
    for (size_t b = 0; b < B; b++) {
      const real mean = l->stat[b], invstd = l->stat[B + b];
      const size_t o = (c * B + b) * n;
      for (size_t i = 0; i < n; i++) {
        sg += (double)g[o + i];
        sgx += (double)g[o + i] * (double)((x[o + i] - mean) * invstd);
      }
    }
    dgamma[c] += (real)sgx;
    dbeta[c] += (real)sg;
  }
  if (gx == NULL) return;
  NN_OMP_FOR(nn->nthreads, B * M)
  for (size_t b = 0; b < B; b++) {
    const real mean = l->stat[b], invstd = l->stat[B + b];
    double s1 = 0, s2 = 0; /* sums of dxhat = g gamma and of dxhat xhat */
    for (size_t c = 0; c < C; c++) {
      const size_t o = (c * B + b) * n;
      for (size_t i = 0; i < n; i++) {
        const double d = (double)(g[o + i] * gamma[c]);
        s1 += d;
        s2 += d * (double)((x[o + i] - mean) * invstd);
      }
    }
    const real m1 = (real)(s1 / (double)M), m2 = (real)(s2 / (double)M);
    for (size_t c = 0; c < C; c++) {
      const size_t o = (c * B + b) * n;
      for (size_t i = 0; i < n; i++) {
        const real v = invstd * (g[o + i] * gamma[c] - m1 - (x[o + i] - mean) * invstd * m2);
        gx[o + i] = acc ? gx[o + i] + v : v;
      }
    }
  }
}

/* ---- Dropout ------------------------------------------------------------ */

static void dropout_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, int train) {
  const size_t C = l->ic, n = l->ih * l->iw, tot = B * l->osz;
  if (!train || l->s.rate == 0.0) {
    memcpy(l->out, x, tot * sizeof *x);
    return;
  }
  unsigned long long st = nn->drop_state;
  const unsigned long long key = psfwi_splitmix64(&st);
  nn->drop_state = st;
  const double p = l->s.rate;
  const real scale = (real)(1.0 / (1.0 - p));
  NN_OMP_FOR(nn->nthreads, tot)
  for (size_t cb = 0; cb < C * B; cb++) {
    const size_t c = cb / B, b = cb % B;
    for (size_t i = 0; i < n; i++) {
      /* the element's index in the (b, c, h, w) layout: masks do not depend
       * on the internal layout or on the threads */
      const unsigned long long e = (unsigned long long)((b * C + c) * n + i);
      const double u = (double)(psfwi_mix64(key + (e + 1) * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1p-53;
      const unsigned char keep = u >= p;
      l->mask[cb * n + i] = keep;
      l->out[cb * n + i] = keep ? x[cb * n + i] * scale : 0;
    }
  }
}

static void dropout_backward(psfwi_nn *nn, nn_layer *l, size_t B, real *gx, int acc) {
  const size_t tot = B * l->osz;
  if (!nn->train || l->s.rate == 0.0) {
    nn_put(gx, l->grad, tot, acc);
    return;
  }
  const real scale = (real)(1.0 / (1.0 - l->s.rate));
  for (size_t i = 0; i < tot; i++) {
    const real v = l->mask[i] ? l->grad[i] * scale : 0;
    gx[i] = acc ? gx[i] + v : v;
  }
}

/* ---- Pooling, up-sampling, crop: plane by plane -------------------------- */

static void pool_forward(const psfwi_nn *nn, nn_layer *l, const real *x, size_t B, int is_max) {
  const size_t P = l->ic * B, fh = l->fh, fw = l->fw;
  const real inv = (real)(1.0 / (double)(fh * fw));
  NN_OMP_FOR(nn->nthreads, P * l->ih * l->iw)
  for (size_t p = 0; p < P; p++) {
    const real *xp = x + p * l->ih * l->iw;
    real *yp = l->out + p * l->oh * l->ow;
    for (size_t oy = 0; oy < l->oh; oy++)
      for (size_t ox = 0; ox < l->ow; ox++) {
        const real *w0 = xp + oy * fh * l->iw + ox * fw;
        real m = w0[0], s = 0;
        for (size_t i = 0; i < fh; i++)
          for (size_t j = 0; j < fw; j++) {
            const real v = w0[i * l->iw + j];
            if (v > m) m = v;
            s += v;
          }
        yp[oy * l->ow + ox] = is_max ? m : s * inv;
      }
  }
}

static void pool_backward(const psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx,
                          int acc, int is_max) {
  const size_t P = l->ic * B, fh = l->fh, fw = l->fw;
  const real inv = (real)(1.0 / (double)(fh * fw));
  NN_OMP_FOR(nn->nthreads, P * l->ih * l->iw)
  for (size_t p = 0; p < P; p++) {
    const real *xp = x + p * l->ih * l->iw;
    const real *yp = l->out + p * l->oh * l->ow, *gp = l->grad + p * l->oh * l->ow;
    real *dp = gx + p * l->ih * l->iw;
    if (!acc) memset(dp, 0, l->ih * l->iw * sizeof *dp); /* and the ragged tail */
    for (size_t oy = 0; oy < l->oh; oy++)
      for (size_t ox = 0; ox < l->ow; ox++) {
        const size_t o = oy * fh * l->iw + ox * fw;
        const real g = gp[oy * l->ow + ox];
        if (is_max) { /* the first maximum, as the forward pass took it */
          const real m = yp[oy * l->ow + ox];
          size_t at = o;
          for (size_t i = fh; i-- > 0;)
            for (size_t j = fw; j-- > 0;)
              if (xp[o + i * l->iw + j] == m) at = o + i * l->iw + j;
          dp[at] += g;
        } else {
          for (size_t i = 0; i < fh; i++)
            for (size_t j = 0; j < fw; j++) dp[o + i * l->iw + j] += g * inv;
        }
      }
  }
}

static void upsample_forward(const psfwi_nn *nn, nn_layer *l, const real *x, size_t B) {
  const size_t P = l->ic * B;
  NN_OMP_FOR(nn->nthreads, P * l->oh * l->ow)
  for (size_t p = 0; p < P; p++) {
    const real *xp = x + p * l->ih * l->iw;
    real *yp = l->out + p * l->oh * l->ow;
    for (size_t oy = 0; oy < l->oh; oy++)
      for (size_t ox = 0; ox < l->ow; ox++)
        yp[oy * l->ow + ox] = xp[(oy / l->fh) * l->iw + ox / l->fw];
  }
}

static void upsample_backward(const psfwi_nn *nn, nn_layer *l, size_t B, real *gx, int acc) {
  const size_t P = l->ic * B;
  NN_OMP_FOR(nn->nthreads, P * l->oh * l->ow)
  for (size_t p = 0; p < P; p++) {
    const real *gp = l->grad + p * l->oh * l->ow;
    real *dp = gx + p * l->ih * l->iw;
    for (size_t iy = 0; iy < l->ih; iy++)
      for (size_t ix = 0; ix < l->iw; ix++) {
        real s = 0;
        for (size_t i = 0; i < l->fh; i++)
          for (size_t j = 0; j < l->fw; j++) s += gp[(iy * l->fh + i) * l->ow + ix * l->fw + j];
        dp[iy * l->iw + ix] = acc ? dp[iy * l->iw + ix] + s : s;
      }
  }
}

static void crop_forward(nn_layer *l, const real *x, size_t B) {
  const size_t P = l->ic * B;
  for (size_t p = 0; p < P; p++)
    for (size_t oy = 0; oy < l->oh; oy++)
      memcpy(l->out + (p * l->oh + oy) * l->ow, x + (p * l->ih + l->s.h0 + oy) * l->iw + l->s.w0,
             l->ow * sizeof *x);
}

static void crop_backward(nn_layer *l, size_t B, real *gx, int acc) {
  const size_t P = l->ic * B;
  for (size_t p = 0; p < P; p++) {
    real *dp = gx + p * l->ih * l->iw;
    if (!acc) memset(dp, 0, l->ih * l->iw * sizeof *dp);
    for (size_t oy = 0; oy < l->oh; oy++) {
      const real *g = l->grad + (p * l->oh + oy) * l->ow;
      real *d = dp + (l->s.h0 + oy) * l->iw + l->s.w0;
      for (size_t ox = 0; ox < l->ow; ox++) d[ox] += g[ox];
    }
  }
}

/* ---- Reshape: the sample's flat index f = c H W + h W + w is kept -------- */

static void reshape_map(nn_layer *l, size_t B, const real *src, real *dst, int backward, int acc) {
  const size_t n = l->ih * l->iw, m = l->oh * l->ow;
  for (size_t co = 0; co < l->oc; co++)
    for (size_t b = 0; b < B; b++)
      for (size_t k = 0; k < m; k++) {
        const size_t f = co * m + k, ci = f / n, i = f % n;
        const size_t io = (co * B + b) * m + k, ii = (ci * B + b) * n + i;
        if (!backward) {
          dst[io] = src[ii];
        } else {
          dst[ii] = acc ? dst[ii] + src[io] : src[io];
        }
      }
}

/* ---- Dispatch ------------------------------------------------------------ */

void nn_misc_forward(psfwi_nn *nn, nn_layer *l, const real *x, const real *skip, size_t B,
                     int train) {
  const size_t tot = B * l->osz, n = l->oh * l->ow;
  const real alpha = (real)l->s.alpha;
  switch (l->s.kind) {
    case PSFWI_NN_BATCHNORM: bn_forward(nn, l, x, B, train); break;
    case PSFWI_NN_LAYERNORM: ln_forward(nn, l, x, B); break;
    case PSFWI_NN_DROPOUT: dropout_forward(nn, l, x, B, train); break;
    case PSFWI_NN_MAXPOOL: pool_forward(nn, l, x, B, 1); break;
    case PSFWI_NN_AVGPOOL: pool_forward(nn, l, x, B, 0); break;
    case PSFWI_NN_UPSAMPLE: upsample_forward(nn, l, x, B); break;
    case PSFWI_NN_CROP: crop_forward(l, x, B); break;
    case PSFWI_NN_RESHAPE: reshape_map(l, B, x, l->out, 0, 0); break;
    case PSFWI_NN_ACT:
      memcpy(l->out, x, tot * sizeof *x);
      nn_act_forward(l->s.act, alpha, NULL, l->out, l->oc * B, n, nn->nthreads);
      break;
    case PSFWI_NN_ADD:
      NN_OMP_FOR(nn->nthreads, tot)
      for (size_t cb = 0; cb < l->oc * B; cb++) {
        for (size_t i = cb * n; i < (cb + 1) * n; i++) l->out[i] = x[i] + skip[i];
        act_run(l->s.act, alpha, 0, l->out + cb * n, n);
      }
      break;
    default: break;
  }
}

void nn_misc_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc,
                      real *gskip, int acc_skip) {
  const size_t tot = B * l->osz, n = l->oh * l->ow;
  const real alpha = (real)l->s.alpha;
  switch (l->s.kind) {
    case PSFWI_NN_BATCHNORM: bn_backward(nn, l, x, B, gx, acc); return;
    case PSFWI_NN_LAYERNORM: ln_backward(nn, l, x, B, gx, acc); return;
    default: break;
  }
  if (gx == NULL && gskip == NULL) return;
  switch (l->s.kind) {
    case PSFWI_NN_DROPOUT: dropout_backward(nn, l, B, gx, acc); break;
    case PSFWI_NN_MAXPOOL: pool_backward(nn, l, x, B, gx, acc, 1); break;
    case PSFWI_NN_AVGPOOL: pool_backward(nn, l, x, B, gx, acc, 0); break;
    case PSFWI_NN_UPSAMPLE: upsample_backward(nn, l, B, gx, acc); break;
    case PSFWI_NN_CROP: crop_backward(l, B, gx, acc); break;
    case PSFWI_NN_RESHAPE: reshape_map(l, B, l->grad, gx, 1, acc); break;
    case PSFWI_NN_ACT:
      nn_act_backward(l->s.act, alpha, l->out, l->grad, NULL, l->oc * B, n, nn->nthreads);
      nn_put(gx, l->grad, tot, acc);
      break;
    case PSFWI_NN_ADD:
      nn_act_backward(l->s.act, alpha, l->out, l->grad, NULL, l->oc * B, n, nn->nthreads);
      if (gx != NULL && gx == gskip) { /* from = the previous layer: one buffer, twice */
        nn_put(gx, l->grad, tot, acc);
        nn_put(gx, l->grad, tot, 1);
        break;
      }
      if (gskip) nn_put(gskip, l->grad, tot, acc_skip);
      if (gx && !acc) {
        /* gx would be a copy of this layer's gradient, which nothing reads
         * again: swap the two buffers (same size) instead of copying */
        const size_t i = (size_t)(l - nn->L);
        real **prev = i == 0 ? &nn->gin : &nn->L[i - 1].grad;
        real *t = *prev;
        *prev = l->grad;
        l->grad = t;
      } else if (gx) {
        nn_put(gx, l->grad, tot, acc);
      }
      break;
    default: break;
  }
}
