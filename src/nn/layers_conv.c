/* psfwi nn: convolutions (1-D, 2-D, dense) and transposed convolutions by
 * im2col and one gemm over the whole batch.
 *
 * conv:  panel P (ic kh kw) x (B oh ow) = im2col(x); Y = W P (oc x B oh ow);
 *        y = act(Y + b). Backward: g *= act'(y), db = row sums of g,
 *        dW += g P^T, dP = W^T g, dx (+)= col2im(dP).
 * convt: the backward of a conv from the output space (oc, oh, ow) to the
 *        input space (ic, ih, iw): cols = W^T x ((oc kh kw) x B ih iw),
 *        y = act(col2im(cols) + b). Backward: g *= act'(y), dcols =
 *        im2col(g), dW += x dcols^T, dx (+)= W dcols.
 * A 1 x 1 conv with stride 1 and no pad (and a dense layer on (C, 1, 1)
 * input) uses x itself as the panel. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn_internal.h"

void nn_gemm(int ta, int tb, size_t m, size_t n, size_t k, real alpha, const real *a, size_t lda,
             const real *b, size_t ldb, real beta, real *c, size_t ldc) {
  NN_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
          (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* The range [*lo, *hi) of panel columns q (q < Wp) whose image column
 * q s - p + j lies in [0, W). */
static void valid_range(size_t W, size_t s, size_t p, size_t j, size_t Wp, size_t *lo, size_t *hi) {
  /* q s + j >= p  and  q s + j < W + p */
  size_t a = 0;
  if (p > j) a = (p - j + s - 1) / s;
  size_t b = 0;
  if (W + p > j) b = (W + p - j - 1) / s + 1;
  if (b > Wp) b = Wp;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* Geometry of one panel row (c, i, j): planes of channel c for the B
 * samples at img_c + b H W; panel columns (b, p, q); image column of q is
 * q sw + j - pw, valid for lo <= q < hi. */
typedef struct row_geom {
  size_t B, H, W, Hp, Wp, sh, sw, ph, pw, i, j, lo, hi;
} row_geom;

/* One panel row from the image (zeros outside). */
NN_CLONES static void gather_row(real *prow, const real *img_c, const row_geom *g) {
  const size_t lo = g->lo, hi = g->hi, Wp = g->Wp, sw = g->sw;
  for (size_t b = 0; b < g->B; b++)
    for (size_t p = 0; p < g->Hp; p++) {
      real *dst = prow + (b * g->Hp + p) * Wp;
      const size_t y = p * g->sh + g->i; /* image row + ph */
      if (y < g->ph || y - g->ph >= g->H || lo >= hi) {
        for (size_t q = 0; q < Wp; q++) dst[q] = 0;
        continue;
      }
      const real *src = img_c + (b * g->H + y - g->ph) * g->W + lo * sw + g->j - g->pw;
      for (size_t q = 0; q < lo; q++) dst[q] = 0;
      if (sw == 1) {
        for (size_t q = lo; q < hi; q++) dst[q] = src[q - lo];
      } else if (sw == 2) {
        for (size_t q = lo; q < hi; q++) dst[q] = src[2 * (q - lo)];
      } else {
        for (size_t q = lo; q < hi; q++) dst[q] = src[(q - lo) * sw];
      }
      for (size_t q = hi; q < Wp; q++) dst[q] = 0;
    }
}

/* The adjoint: one panel row added into the image. */
NN_CLONES static void scatter_row(const real *prow, real *img_c, const row_geom *g) {
  const size_t lo = g->lo, hi = g->hi, Wp = g->Wp, sw = g->sw;
  if (lo >= hi) return;
  for (size_t b = 0; b < g->B; b++)
    for (size_t p = 0; p < g->Hp; p++) {
      const size_t y = p * g->sh + g->i;
      if (y < g->ph || y - g->ph >= g->H) continue;
      const real *src = prow + (b * g->Hp + p) * Wp;
      real *dst = img_c + (b * g->H + y - g->ph) * g->W + lo * sw + g->j - g->pw;
      if (sw == 1) {
        for (size_t q = lo; q < hi; q++) dst[q - lo] += src[q];
      } else if (sw == 2) {
        for (size_t q = lo; q < hi; q++) dst[2 * (q - lo)] += src[q];
      } else {
        for (size_t q = lo; q < hi; q++) dst[(q - lo) * sw] += src[q];
      }
    }
}

void nn_im2col(const real *img, size_t C, size_t B, size_t H, size_t W, size_t kh, size_t kw,
               size_t sh, size_t sw, size_t ph, size_t pw, size_t Hp, size_t Wp, real *panel,
               int nt) {
  const size_t N = B * Hp * Wp;
  const size_t rows = C * kh * kw;
  NN_OMP_FOR(nt, rows * N)
  for (size_t r = 0; r < rows; r++) {
    const size_t c = r / (kh * kw);
    row_geom g = {B, H, W, Hp, Wp, sh, sw, ph, pw, (r / kw) % kh, r % kw, 0, 0};
    valid_range(W, sw, pw, g.j, Wp, &g.lo, &g.hi);
    gather_row(panel + r * N, img + c * B * H * W, &g);
  }
}

void nn_col2im(const real *panel, size_t C, size_t B, size_t H, size_t W, size_t kh, size_t kw,
               size_t sh, size_t sw, size_t ph, size_t pw, size_t Hp, size_t Wp, real *img,
               int nt) {
  const size_t N = B * Hp * Wp;
  /* one thread per channel: the sums into a pixel keep one order */
  NN_OMP_FOR(nt, C * kh * kw * N)
  for (size_t c = 0; c < C; c++) {
    for (size_t i = 0; i < kh; i++)
      for (size_t j = 0; j < kw; j++) {
        row_geom g = {B, H, W, Hp, Wp, sh, sw, ph, pw, i, j, 0, 0};
        valid_range(W, sw, pw, j, Wp, &g.lo, &g.hi);
        scatter_row(panel + ((c * kh + i) * kw + j) * N, img + c * B * H * W, &g);
      }
  }
}

static const real *weights(const psfwi_nn *nn, const nn_layer *l) { return nn->params + l->poff; }
static const real *bias_of(const psfwi_nn *nn, const nn_layer *l) {
  return l->s.bias ? nn->params + l->poff + l->nweight : NULL;
}

void nn_conv_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B) {
  const size_t N = B * l->oh * l->ow;
  const real *P = x;
  if (!l->direct) {
    nn_im2col(x, l->ic, B, l->ih, l->iw, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->oh, l->ow,
              l->panel, nn->nthreads);
    P = l->panel;
  }
  nn_gemm(0, 0, l->oc, N, l->kdim, 1, weights(nn, l), l->kdim, P, N, 0, l->out, N);
  nn_act_forward(l->s.act, (real)l->s.alpha, bias_of(nn, l), l->out, l->oc, N, nn->nthreads);
}

void nn_conv_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc) {
  const size_t N = B * l->oh * l->ow;
  real *g = l->grad;
  real *dW = nn->grads + l->poff;
  nn_act_backward(l->s.act, (real)l->s.alpha, l->out, g, l->s.bias ? dW + l->nweight : NULL, l->oc,
                  N, nn->nthreads);
  const real *P = l->direct ? x : l->panel;
  nn_gemm(0, 1, l->oc, l->kdim, N, 1, g, N, P, N, 1, dW, l->kdim);
  if (gx == NULL) return;
  if (l->direct) {
    nn_gemm(1, 0, l->kdim, N, l->oc, 1, weights(nn, l), l->kdim, g, N, acc ? 1 : 0, gx, N);
    return;
  }
  nn_gemm(1, 0, l->kdim, N, l->oc, 1, weights(nn, l), l->kdim, g, N, 0, nn->scratch, N);
  if (!acc) memset(gx, 0, B * l->isz * sizeof *gx);
  nn_col2im(nn->scratch, l->ic, B, l->ih, l->iw, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->oh,
            l->ow, gx, nn->nthreads);
}

void nn_convt_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B) {
  const size_t Nin = B * l->ih * l->iw;
  nn_gemm(1, 0, l->kdim, Nin, l->ic, 1, weights(nn, l), l->kdim, x, Nin, 0, nn->scratch, Nin);
  memset(l->out, 0, B * l->osz * sizeof *l->out);
  nn_col2im(nn->scratch, l->oc, B, l->oh, l->ow, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->ih,
            l->iw, l->out, nn->nthreads);
  nn_act_forward(l->s.act, (real)l->s.alpha, bias_of(nn, l), l->out, l->oc, B * l->oh * l->ow,
                 nn->nthreads);
}

void nn_convt_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc) {
  const size_t Nin = B * l->ih * l->iw;
  real *g = l->grad;
  real *dW = nn->grads + l->poff;
  nn_act_backward(l->s.act, (real)l->s.alpha, l->out, g, l->s.bias ? dW + l->nweight : NULL, l->oc,
                  B * l->oh * l->ow, nn->nthreads);
  nn_im2col(g, l->oc, B, l->oh, l->ow, l->kh, l->kw, l->sh, l->sw, l->ph, l->pw, l->ih, l->iw,
            nn->scratch, nn->nthreads);
  nn_gemm(0, 1, l->ic, l->kdim, Nin, 1, x, Nin, nn->scratch, Nin, 1, dW, l->kdim);
  if (gx == NULL) return;
  nn_gemm(0, 0, l->ic, Nin, l->kdim, 1, weights(nn, l), l->kdim, nn->scratch, Nin, acc ? 1 : 0, gx,
          Nin);
}
