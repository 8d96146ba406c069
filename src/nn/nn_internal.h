/* psfwi nn, private: the network object, the arena and the layer kernels
 * shared by nn.c, layers_conv.c and layers_misc.c (docs/nn.md).
 *
 * Internal layout. Inside the engine every activation and gradient is kept
 * channel-major over the batch ("CB"): t[((c * B + b) * H + h) * W + w] for
 * the current batch B, so that a convolution's sgemm output (C_out) x
 * (B * H * W) is already the next layer's input and a channel's values are
 * one contiguous run (batch norm). Only the network input, the output and
 * the gradients the caller exchanges are in the public (b, c, h, w) layout:
 * forward and backward convert them (one copy of the input and output). */
#ifndef PSFWI_NN_INTERNAL_H
#define PSFWI_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "psfwi_nn.h"

typedef psfwi_nn_real real;

#ifdef PSFWI_NN_DOUBLE
#define NN_EXP            exp
#define NN_TANH           tanh
#define NN_SQRT           sqrt
#define NN_FABS           fabs
#define NN_GEMM           cblas_dgemm
/* internal symbols of the double build (one program links both) */
#define nn_gemm           nn64_gemm
#define nn_im2col         nn64_im2col
#define nn_col2im         nn64_col2im
#define nn_conv_forward   nn64_conv_forward
#define nn_conv_backward  nn64_conv_backward
#define nn_convt_forward  nn64_convt_forward
#define nn_convt_backward nn64_convt_backward
#define nn_misc_forward   nn64_misc_forward
#define nn_misc_backward  nn64_misc_backward
#define nn_act_forward    nn64_act_forward
#define nn_act_backward   nn64_act_backward
#define nn_put            nn64_put
#define nn_run_forward    nn64_run_forward
#define nn_run_backward   nn64_run_backward
#else
#define NN_EXP  expf
#define NN_TANH tanhf
#define NN_SQRT sqrtf
#define NN_FABS fabsf
#define NN_GEMM cblas_sgemm
#endif

/* The element-wise kernels are compiled for x86-64-v3 (AVX2) and for the
 * baseline, picked at load time (GCC's target_clones), as the propagator's
 * (src/wave/wave_internal.h): bit-identical results, since the loops are
 * element-wise or sum in fixed lanes and src/nn is compiled with
 * -ffp-contract=off. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(PSFWI_NO_CLONES)
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

/* Element-wise passes run on nt = psfwi_nn_set_threads OpenMP threads
 * (default 1) above this many values (below it a parallel region costs more
 * than it saves). Every parallel loop gives each thread whole channels,
 * planes or samples, so sums are taken in one fixed order whatever the
 * thread count. */
#define NN_OMP_MIN   16384
#define NN_PRAGMA(x) _Pragma(#x)
#define NN_OMP_FOR(nt, work) \
  NN_PRAGMA(omp parallel for schedule(static) num_threads(nt) if ((nt) > 1 && (work) >= NN_OMP_MIN))

/* One layer as planned: the spec with defaults resolved, the shapes it sees,
 * its place in the parameter and buffer vectors and in the arena. */
typedef struct nn_layer {
  psfwi_nn_layer s;
  size_t ic, ih, iw; /* per-sample input shape */
  size_t oc, oh, ow; /* per-sample output shape */
  size_t isz, osz;   /* ic*ih*iw, oc*oh*ow */
  /* conv, convt, dense: the convolution's geometry (dense: the kernel
   * covers the whole input). conv: image = input, panel columns = output
   * positions. convt: image = output, panel columns = input positions. */
  size_t kh, kw, sh, sw, ph, pw;
  size_t kdim;                  /* panel rows: ic kh kw (conv, dense) or oc kh kw (convt) */
  int direct;                   /* conv with a 1 x 1 kernel, stride 1, no pad: panel = input */
  size_t fh, fw;                /* pool / upsample factors along H and W */
  size_t poff, pcount, nweight; /* parameters */
  size_t boff, nbuf;            /* buffers (batch-norm running stats) */
  int need_gin;                 /* backward must give the gradient w.r.t. its input */
  /* arena offsets (bytes) for max_batch */
  size_t a_out, a_grad, a_panel, a_stat, a_mask;
  /* pointers into the arena (set by psfwi_nn_set_batch) */
  real *out, *grad, *panel, *stat;
  unsigned char *mask;
} nn_layer;

struct psfwi_nn {
  size_t nlayer;
  psfwi_nn_layer *spec; /* as given, defaults resolved */
  nn_layer *L;
  size_t in_c, in_h, in_w, in_size, out_size;
  size_t nparam, nbuffer;
  real *params, *grads, *buffers;
  /* arena */
  void *arena;
  size_t arena_bytes, max_batch;
  real *xcb;            /* the input in CB layout */
  real *gin;            /* gradient w.r.t. the input, CB layout */
  real *yout;           /* the output in (b, c, h, w) layout */
  real *scratch;        /* transient panels: convt forward, backward dpanel */
  unsigned char *ginit; /* backward: gradient of output j written (j + 1) */
  /* state of the last forward */
  size_t batch;
  int train, have_forward;
  int nthreads; /* OpenMP threads of the element-wise passes */
  uint64_t drop_state;
};

/* Row-major gemm: C = alpha op(A) op(B) + beta C, C (m x n). */
void nn_gemm(int ta, int tb, size_t m, size_t n, size_t k, real alpha, const real *a, size_t lda,
             const real *b, size_t ldb, real beta, real *c, size_t ldc);

/* im2col on a CB image of C channels, batch B, (H, W) planes: panel row
 * (c kh + i) kw + j, column (b Hp + p) Wp + q holds image(c, b, p sh - ph + i,
 * q sw - pw + j), 0 outside. col2im is its adjoint: ADDS the panel into the
 * image. */
void nn_im2col(const real *img, size_t C, size_t B, size_t H, size_t W, size_t kh, size_t kw,
               size_t sh, size_t sw, size_t ph, size_t pw, size_t Hp, size_t Wp, real *panel,
               int nt);
void nn_col2im(const real *panel, size_t C, size_t B, size_t H, size_t W, size_t kh, size_t kw,
               size_t sh, size_t sw, size_t ph, size_t pw, size_t Hp, size_t Wp, real *img, int nt);

/* Activation over channel-major data y[c * n + i], c < nc, with an optional
 * per-channel bias added first: y = act(y + bias[c]). */
void nn_act_forward(int act, real alpha, const real *bias, real *y, size_t nc, size_t n, int nt);
/* g *= act'(.) evaluated from the output y, then (if dbias) dbias[c] += sum
 * of channel c's g. In place. */
void nn_act_backward(int act, real alpha, const real *y, real *g, real *dbias, size_t nc, size_t n,
                     int nt);
/* dst = src (acc = 0) or dst += src (acc = 1). */
void nn_put(real *dst, const real *src, size_t n, int acc);

/* Layers first..last of a batch of B whose inputs are in place (nn->xcb
 * for first = 0; else layer first - 1's output and those of the earlier
 * layers that ADD layers in the range take), CB layout. psfwi_nn_forward is
 * the whole range; the Jacobian nuclear penalty (penalty.c) runs an encoder
 * and a decoder range with its own inputs. A partial range leaves
 * have_forward 0 (psfwi_nn_backward would need the other layers). */
int nn_run_forward(psfwi_nn *nn, size_t first, size_t last, size_t B, int train, psfwi_error *err);
/* Back through layers last..first of the last run_forward, the seeds in
 * place: layer j's output gradient L[j].grad (nn->gin for j = -1) counts
 * where ginit[j + 1] is set, the caller having zeroed ginit and seeded. The
 * parameter gradient is ADDED to nn->grads; all = 1 also gives every input
 * gradient (the range's input and every layer an ADD takes), else only
 * those a parameter upstream needs. */
void nn_run_backward(psfwi_nn *nn, size_t first, size_t last, int all);

/* Layer passes; x = the layer's input (CB), B = batch. */
void nn_conv_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B);
void nn_conv_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc);
void nn_convt_forward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B);
void nn_convt_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc);
/* Every other kind. skip = the ADD layer's second input. */
void nn_misc_forward(psfwi_nn *nn, nn_layer *l, const real *x, const real *skip, size_t B,
                     int train);
/* gx (acc as above; NULL when not needed) and, for ADD, gskip (acc_skip). */
void nn_misc_backward(psfwi_nn *nn, nn_layer *l, const real *x, size_t B, real *gx, int acc,
                      real *gskip, int acc_skip);

#endif
