/* psfwi nn: a small neural-network engine in float32 on OpenBLAS sgemm.
 *
 * It owns tensors, layers with their backward, one flat parameter vector
 * with its gradient, and non-trainable buffers (batch-norm running
 * statistics). It knows neither files nor optimisers (design.md: nn depends
 * on core only): the caller steps the flat parameters with src/optim
 * (psfwi_optim_sgd_stepf) and io/ writes the spec, parameters and buffers.
 *
 * A network is a sequence of layers applied to a batch of samples. Layout:
 * x[((b * C + c) * H + h) * W + w], b < batch, with per-sample shape
 * (C, H, W); 1-D data have H = 1 (Conv1D, pooling and upsampling then act
 * along W only). Dense layers see a sample as C*H*W values and give (out, 1, 1).
 * A residual connection is a layer of kind ADD whose input is the previous
 * layer's output plus the output of an earlier layer (`from`, -1 = the
 * network input) of the same shape.
 *
 * Plan once, run many: psfwi_nn_create checks the specs and computes every
 * shape and the parameter count; psfwi_nn_set_batch allocates one arena for
 * a maximum batch size (activations, masks, im2col panels); forward and
 * backward never allocate. Results depend only on the seed and the inputs
 * on one thread (OpenBLAS's own threads may change the last bits of sums).
 *
 * Status codes: PSFWI_OK, PSFWI_EINVAL (bad spec naming the layer and the
 * field, call out of order), PSFWI_ERANGE (batch larger than planned),
 * PSFWI_ENOMEM (arena above psfwi_mem_limit, or malloc). */
#ifndef PSFWI_NN_H
#define PSFWI_NN_H

#include <stddef.h>
#include <stdint.h>

#include "psfwi_core.h"

/* The engine's real type: float (sgemm) in the library. The gradient tests
 * compile the same sources with PSFWI_NN_DOUBLE defined (dgemm), so central
 * differences can check every backward to 1e-6 instead of float's noise. */
#ifdef PSFWI_NN_DOUBLE
typedef double psfwi_nn_real;
#else
typedef float psfwi_nn_real;
#endif

/* In double mode every public symbol is renamed psfwi_nn64_*, so the float
 * library (libpsfwi) and the double one (psfwi_nn64, tests only) link into
 * one program. Names used by both modes (kinds, activations, the layer
 * struct) keep their spelling. */
#ifdef PSFWI_NN_DOUBLE
#define psfwi_nn                   psfwi_nn64
#define psfwi_nn_kind_name         psfwi_nn64_kind_name
#define psfwi_nn_act_name          psfwi_nn64_act_name
#define psfwi_nn_kind_parse        psfwi_nn64_kind_parse
#define psfwi_nn_act_parse         psfwi_nn64_act_parse
#define psfwi_nn_layer_init        psfwi_nn64_layer_init
#define psfwi_nn_create            psfwi_nn64_create
#define psfwi_nn_destroy           psfwi_nn64_destroy
#define psfwi_nn_nlayer            psfwi_nn64_nlayer
#define psfwi_nn_layers            psfwi_nn64_layers
#define psfwi_nn_shape             psfwi_nn64_shape
#define psfwi_nn_in_size           psfwi_nn64_in_size
#define psfwi_nn_out_size          psfwi_nn64_out_size
#define psfwi_nn_nparam            psfwi_nn64_nparam
#define psfwi_nn_params            psfwi_nn64_params
#define psfwi_nn_grads             psfwi_nn64_grads
#define psfwi_nn_nbuffer           psfwi_nn64_nbuffer
#define psfwi_nn_buffers           psfwi_nn64_buffers
#define psfwi_nn_param_range       psfwi_nn64_param_range
#define psfwi_nn_init              psfwi_nn64_init
#define psfwi_nn_dropout_state     psfwi_nn64_dropout_state
#define psfwi_nn_set_dropout_state psfwi_nn64_set_dropout_state
#define psfwi_nn_set_threads       psfwi_nn64_set_threads
#define psfwi_nn_threads           psfwi_nn64_threads
#define psfwi_nn_set_blas_threads  psfwi_nn64_set_blas_threads
#define psfwi_nn_set_batch         psfwi_nn64_set_batch
#define psfwi_nn_arena_bytes       psfwi_nn64_arena_bytes
#define psfwi_nn_forward           psfwi_nn64_forward
#define psfwi_nn_backward          psfwi_nn64_backward
#define psfwi_nn_zero_grad         psfwi_nn64_zero_grad
#define psfwi_nn_loss_parse        psfwi_nn64_loss_parse
#define psfwi_nn_loss_name         psfwi_nn64_loss_name
#define psfwi_nn_loss_eval         psfwi_nn64_loss_eval
#define psfwi_nn_pen               psfwi_nn64_pen
#define psfwi_nn_pen_opts          psfwi_nn64_pen_opts
#define psfwi_nn_pen_terms         psfwi_nn64_pen_terms
#define psfwi_nn_pen_defaults      psfwi_nn64_pen_defaults
#define psfwi_nn_pen_create        psfwi_nn64_pen_create
#define psfwi_nn_pen_destroy       psfwi_nn64_pen_destroy
#define psfwi_nn_pen_eval          psfwi_nn64_pen_eval
#endif

/* Layer kinds. Never renumbered (network files store the names). */
#define PSFWI_NN_KIND_LIST(X)                                                          \
  X(PSFWI_NN_DENSE, 0, "dense")         /* y = W x + b, W (out x in)               */  \
  X(PSFWI_NN_CONV1D, 1, "conv1d")       /* along W; weights (out, C, k)             */ \
  X(PSFWI_NN_CONV2D, 2, "conv2d")       /* weights (out, C, k, k)                   */ \
  X(PSFWI_NN_CONVT1D, 3, "convt1d")     /* transposed conv1d: backward of conv1d    */ \
  X(PSFWI_NN_CONVT2D, 4, "convt2d")     /* transposed conv2d                        */ \
  X(PSFWI_NN_UPSAMPLE, 5, "upsample")   /* nearest, by `factor` (W; H too if 2-D)   */ \
  X(PSFWI_NN_MAXPOOL, 6, "maxpool")     /* window = stride = factor                 */ \
  X(PSFWI_NN_AVGPOOL, 7, "avgpool")     /* window = stride = factor                 */ \
  X(PSFWI_NN_BATCHNORM, 8, "batchnorm") /* per channel; gamma, beta; running stats  */ \
  X(PSFWI_NN_LAYERNORM, 9, "layernorm") /* per sample over C*H*W; gamma, beta per   \
                                           channel                                 */  \
  X(PSFWI_NN_DROPOUT, 10, "dropout")    /* inverted dropout, rate p (train only)    */ \
  X(PSFWI_NN_ACT, 11, "activation")     /* activation only                          */ \
  X(PSFWI_NN_ADD, 12, "add")            /* residual: prev + output of layer `from`  */ \
  X(PSFWI_NN_CROP, 13, "crop")          /* keep (out_h, out_w) from (h0, w0): sizes \
                                           after up-sampling to a target shape     */  \
  X(PSFWI_NN_RESHAPE, 14, "reshape")    /* same data, new (C, H, W)                 */

enum psfwi_nn_kind {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_NN_KIND_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};

#define PSFWI_NN_ACT_LIST(X)                                                    \
  X(PSFWI_NN_LINEAR, 0, "none")                                                 \
  X(PSFWI_NN_RELU, 1, "relu")                                                   \
  X(PSFWI_NN_LRELU, 2, "leaky_relu") /* slope `alpha` below 0 (default 0.01) */ \
  X(PSFWI_NN_ELU, 3, "elu")          /* alpha (default 1) */                    \
  X(PSFWI_NN_TANH, 4, "tanh")                                                   \
  X(PSFWI_NN_SIGMOID, 5, "sigmoid")

enum psfwi_nn_act {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_NN_ACT_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};

enum psfwi_nn_init { PSFWI_NN_INIT_HE = 0, PSFWI_NN_INIT_GLOROT = 1 };

/* Text of a kind / activation ("unknown" otherwise) and the parse of a name
 * (PSFWI_EINVAL listing the accepted names). */
const char *psfwi_nn_kind_name(int kind);
const char *psfwi_nn_act_name(int act);
int psfwi_nn_kind_parse(const char *name, int *kind, psfwi_error *err);
int psfwi_nn_act_parse(const char *name, int *act, psfwi_error *err);

/* One layer. Fill with psfwi_nn_layer_init(&l, kind), then set what the kind
 * uses; other fields are ignored.
 *  DENSE:          out, act, alpha, init, bias
 *  CONV1D/2D:      out (channels), k, stride, pad, act, alpha, init, bias
 *  CONVT1D/2D:     out, k, stride, pad, output_pad, act, alpha, init, bias
 *                  (L_out = (L - 1) stride - 2 pad + k + output_pad)
 *  UPSAMPLE, MAXPOOL, AVGPOOL: factor (pool drops a ragged tail)
 *  BATCHNORM:      eps (1e-5), momentum (0.1, PyTorch's convention), act
 *  LAYERNORM:      eps (1e-5), act
 *  DROPOUT:        rate in [0, 1)
 *  ACT:            act, alpha
 *  ADD:            from (-1 = network input, else an earlier layer index), act
 *  CROP:           h0, w0, out_h, out_w
 *  RESHAPE:        out_c, out_h, out_w (product = input size)
 * Defaults (psfwi_nn_layer_init): act none, stride 1, pad 0, output_pad 0,
 * factor 2, rate 0.5, from -1, bias 1, alpha 0.01 (leaky_relu) or 1 (elu),
 * init He for relu / leaky_relu / elu and Glorot else. Checked by create:
 * output_pad < stride; alpha >= 0 for leaky_relu and > 0 for elu (every
 * activation's derivative is then a function of its output, which is all
 * the backward keeps). CONV1D and CONVT1D act along W (kh = 1) on every row
 * when H > 1; DENSE's kernel covers the whole (C, H, W) sample. */
typedef struct psfwi_nn_layer {
  int kind;
  int act;
  double alpha;
  size_t out;
  size_t k, stride, pad, output_pad;
  size_t factor;
  double eps, momentum, rate;
  int from;
  size_t h0, w0, out_h, out_w, out_c;
  int init; /* enum psfwi_nn_init; default He for ReLU-family, Glorot else */
  int bias; /* 1 (default): add a bias */
} psfwi_nn_layer;

void psfwi_nn_layer_init(psfwi_nn_layer *l, int kind);

typedef struct psfwi_nn psfwi_nn;

/* Checks every layer against the shape it receives (errors name the layer
 * index and kind and the field: "layer 3 (conv1d): k = 9 is larger than the
 * padded input (7)") and computes the shapes and the parameter count.
 * in_c, in_h, in_w >= 1. Parameters start at zero; call psfwi_nn_init. */
psfwi_nn *psfwi_nn_create(size_t in_c, size_t in_h, size_t in_w, const psfwi_nn_layer *layers,
                          size_t nlayer, psfwi_error *err);
void psfwi_nn_destroy(psfwi_nn *nn);

size_t psfwi_nn_nlayer(const psfwi_nn *nn);
const psfwi_nn_layer *psfwi_nn_layers(const psfwi_nn *nn); /* as given, defaults resolved */
/* Per-sample shape of layer i's output (i = -1: the input). */
void psfwi_nn_shape(const psfwi_nn *nn, int i, size_t *c, size_t *h, size_t *w);
size_t psfwi_nn_in_size(const psfwi_nn *nn);  /* C*H*W of the input  */
size_t psfwi_nn_out_size(const psfwi_nn *nn); /* C*H*W of the output */

/* The flat parameters (weights then bias, layer by layer, in layer order;
 * conv weights w[((o * C + c) * kh + i) * kw + j]; transposed-conv weights
 * in PyTorch's ConvTranspose layout w[((c * out + o) * kh + i) * kw + j],
 * c < C input channels; kh = 1 in 1-D; dense W[o * in + f], f the sample's
 * flat index; batch/layer norm: gamma then beta, nweight = 0) and their
 * gradient, owned by nn. Buffers: batch-norm running mean then running
 * (unbiased) variance per layer. */
size_t psfwi_nn_nparam(const psfwi_nn *nn);
psfwi_nn_real *psfwi_nn_params(psfwi_nn *nn);
psfwi_nn_real *psfwi_nn_grads(psfwi_nn *nn);
size_t psfwi_nn_nbuffer(const psfwi_nn *nn);
psfwi_nn_real *psfwi_nn_buffers(psfwi_nn *nn);
/* Offset and count of layer i's parameters in the flat vector (weights
 * first; *nweight of them), for per-layer penalties (spectral norm). */
void psfwi_nn_param_range(const psfwi_nn *nn, size_t i, size_t *offset, size_t *count,
                          size_t *nweight);

/* He (normal, std sqrt(2 / fan_in)) or Glorot (uniform, limit
 * sqrt(6 / (fan_in + fan_out))) weights, zero biases, gamma 1, beta 0,
 * running mean 0 and variance 1; the same seed gives the same bits. Also
 * seeds the dropout stream. fan_in = C k_h k_w (conv), in (dense), and for a
 * transposed conv C k_h k_w / (s_h s_w), the mean number of inputs an output
 * sees; fan_out = out k_h k_w. */
void psfwi_nn_init(psfwi_nn *nn, uint64_t seed);
/* The dropout stream's state (addition): each training forward draws one
 * key per dropout layer from it, and the mask of element (b, c, h, w) is a
 * hash of the key and the element's index, so masks do not depend on the
 * thread count. Save it with a checkpoint; setting the same state before
 * two forwards gives the same masks (the gradient tests do). */
uint64_t psfwi_nn_dropout_state(const psfwi_nn *nn);
void psfwi_nn_set_dropout_state(psfwi_nn *nn, uint64_t state);

/* Threads (addition): the gemms run on OpenBLAS's own threads
 * (openblas_set_num_threads); the element-wise passes (activations, norms,
 * im2col, pooling) on nthreads OpenMP threads, default 1. OpenMP workers
 * that spin-wait between passes (OMP_WAIT_POLICY unset or active) starve
 * OpenBLAS's threads: raise it only with OMP_WAIT_POLICY=passive
 * (docs/nn.md, "Threads"). Results do not depend on it. */
void psfwi_nn_set_threads(psfwi_nn *nn, int nthreads);
int psfwi_nn_threads(const psfwi_nn *nn);
/* OpenBLAS's thread count for every network of the process (its setting is
 * process-wide; OPENBLAS_NUM_THREADS sets the default). nthreads >= 1. On a
 * machine busy with other work, 1 avoids OpenBLAS's spin-waiting threads
 * fighting for the cores. The last bits of sums may depend on it. */
void psfwi_nn_set_blas_threads(int nthreads);

/* Allocate the arena for batches of up to max_batch samples (checked with
 * psfwi_mem_check first). May be called again to grow or shrink. */
int psfwi_nn_set_batch(psfwi_nn *nn, size_t max_batch, psfwi_error *err);
size_t psfwi_nn_arena_bytes(const psfwi_nn *nn);

/* Forward pass of a batch x (batch * in_size values). train = 1: dropout
 * active, batch norm uses batch statistics and updates its running ones;
 * train = 0: inference (training batch norm on one value per channel is
 * PSFWI_EINVAL, as in PyTorch). Returns the output (batch * out_size values, owned
 * by nn, valid until the next forward). */
const psfwi_nn_real *psfwi_nn_forward(psfwi_nn *nn, const psfwi_nn_real *x, size_t batch, int train,
                                      psfwi_error *err);

/* Backward pass after a forward of the same batch: dy = dL/dy (batch *
 * out_size). The parameter gradient is ADDED to psfwi_nn_grads (zero it
 * with psfwi_nn_zero_grad), so several terms can accumulate. dx (batch *
 * in_size, may be NULL) receives dL/dx: the vector-Jacobian product that
 * input-Jacobian penalties use. */
int psfwi_nn_backward(psfwi_nn *nn, const psfwi_nn_real *dy, psfwi_nn_real *dx, psfwi_error *err);
void psfwi_nn_zero_grad(psfwi_nn *nn);

/* Losses on n values (y predicted, t target). Return the mean loss in double
 * and write dL/dy (n values; may be NULL), scaled by `scale` (e.g. 1).
 * MSE: mean (y - t)^2; L1: mean |y - t| (subgradient 0 at 0); Huber: mean
 * of 0.5 r^2 / delta for |r| <= delta, |r| - delta / 2 beyond (PyTorch's
 * SmoothL1 with beta = delta; delta <= 0 gives L1). */
enum psfwi_nn_loss { PSFWI_NN_MSE = 0, PSFWI_NN_L1 = 1, PSFWI_NN_HUBER = 2 };
int psfwi_nn_loss_parse(const char *name, int *loss, psfwi_error *err);
const char *psfwi_nn_loss_name(int loss);
double psfwi_nn_loss_eval(int loss, double delta, const psfwi_nn_real *y, const psfwi_nn_real *t,
                          size_t n, double scale, psfwi_nn_real *dy);

/* ---- Penalties on the network (penalty.c; the regularization issue).
 * Weights >= 0; a term with weight 0 costs nothing:
 *   l1        lam sum |p| over every parameter (subgradient 0 at 0)
 *   l2        (lam / 2) sum p^2 over every parameter
 *   spectral  lam sum_l sigma_max(W_l)^2 over the weight matrices of dense,
 *             conv (out x C k_h k_w) and transposed-conv (C x out k_h k_w)
 *             layers, sigma_max by spectral_iter power iterations from a
 *             fixed start (a function of the weights alone: nothing to save
 *             for a resume); gradient 2 lam sigma u v^T (Yoshida & Miyato
 *             2017), exact at convergence
 *   jacobian  lam mean over the batch of the finite-difference estimate of
 *             the squared Frobenius norm of the input-output Jacobian
 *             (geometric complexity, Dherin et al. 2022):
 *             |f(x + s eps) - f(x)|^2 / s^2 averaged over jacobian_draws
 *             Rademacher (+-1) eps on the valid inputs, the difference over
 *             the valid outputs; E = |J|_F^2 + O(s^2). The network is run in
 *             inference mode (batch norm's running statistics, no dropout:
 *             the map psfwi dnn predict uses). eps is drawn from a stream
 *             seeded by seed and a hash of the batch's bytes, so the same
 *             batch gets the same eps (a resumed training repeats). The
 *             gradient of the estimate: two backward passes, seeds
 *             +-2 lam (y1 - y0) / (s^2 B D) at x + s eps and at x; cost per
 *             draw two forward and two backward passes (plus one forward).
 *             jacobian_kind = OPERATOR: the data-dependent operator norm
 *             instead (Roth et al. 2020): eps_b = v_b, per sample the top
 *             right singular vector of the Jacobian by jacobian_power_iter
 *             power iterations (J v by a forward difference, J^T u by a
 *             backward pass; their parameter gradients are undone), so the
 *             estimate is sigma_max(J_b)^2 + O(s), and its gradient at the
 *             fixed maximiser v_b is the gradient of the maximum (Danskin).
 *             Cost: two forwards and one backward per power iteration more.
 *   nuclear   the Jacobian nuclear norm by Scarvelis & Solomon's (2024)
 *             factorisation f = g o h at layer k = nuclear_split (h: layers
 *             0..k, g: the rest): lam/2 mean over the batch of
 *             |J_g(h(x))|_F^2 + |J_h(x)|_F^2, whose minimum over the
 *             factorisations is |J_f|_*. Both terms by the finite-difference
 *             estimate above (Rademacher eps on the valid inputs, step
 *             jacobian_step; on every latent entry, step nuclear_step, 0:
 *             jacobian_step), jacobian_draws draws, inference mode, and
 *             the exact gradient of the estimate. The latent h(x) is every
 *             activation the decoder reads: layer k's output and those of
 *             the earlier layers that skip connections (ADD) past k take,
 *             so an hourglass with skips (a U-Net) factorises too.
 *             nuclear_split = -1: the layer with the fewest outputs per
 *             sample (the bottleneck; the first of equals). Cost per draw:
 *             one forward and one backward of encoder and decoder each,
 *             plus two forwards and one backward of each.
 * jacobian_samples = N > 0: the jacobian (exact, either kind) and nuclear
 * terms are the mean over the batch's first N samples only (the trainer's
 * batches are shuffled, so a uniform random subset: an unbiased estimate of
 * the batch mean at N / B of the cost and a larger variance). (A
 * "detached" variant, the clean output held fixed as virtual adversarial
 * training does, was removed: its gradient's per-draw noise grows as 1 / s,
 * and it raised the geometric complexity it was meant to lower; docs/nn.md.)
 * in_valid / out_valid (in_size / out_size bytes per sample, NULL: all)
 * mark the entries that count (padding left out). pen_eval returns each
 * term's value and, with want_grad, ADDS the gradient to psfwi_nn_grads. It
 * runs forward passes: the activations of an earlier forward are lost. */
enum psfwi_nn_jac_kind { PSFWI_NN_JAC_FROBENIUS = 0, PSFWI_NN_JAC_OPERATOR = 1 };
typedef struct psfwi_nn_pen_opts {
  double l1, l2, spectral, jacobian, nuclear;
  size_t spectral_iter;       /* default 30 */
  int jacobian_kind;          /* enum psfwi_nn_jac_kind (default FROBENIUS) */
  double jacobian_step;       /* s, input units (default 1e-2) */
  size_t jacobian_draws;      /* FROBENIUS: random directions (default 1) */
  size_t jacobian_power_iter; /* OPERATOR: power iterations (default 3) */
  size_t jacobian_samples;    /* the first N samples of a batch carry the jacobian and
                                 nuclear terms; 0 (default): all */
  int nuclear_split;          /* last layer of the encoder h; -1 (default): the bottleneck */
  double nuclear_step;        /* latent step (0, default: jacobian_step) */
  uint64_t seed;              /* default 1 */
} psfwi_nn_pen_opts;
typedef struct psfwi_nn_pen_terms {
  double l1, l2, spectral, jacobian, nuclear, total;
} psfwi_nn_pen_terms;
typedef struct psfwi_nn_pen psfwi_nn_pen;
void psfwi_nn_pen_defaults(psfwi_nn_pen_opts *o);
psfwi_nn_pen *psfwi_nn_pen_create(psfwi_nn *nn, const psfwi_nn_pen_opts *o, size_t max_batch,
                                  const unsigned char *in_valid, const unsigned char *out_valid,
                                  psfwi_error *err);
void psfwi_nn_pen_destroy(psfwi_nn_pen *p);
int psfwi_nn_pen_eval(psfwi_nn_pen *p, const psfwi_nn_real *x, size_t batch, int want_grad,
                      psfwi_nn_pen_terms *terms, psfwi_error *err);

#endif
