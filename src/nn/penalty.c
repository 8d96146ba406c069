/* Penalties on a network (regularization issue): L1 and L2 of the
 * parameters, the spectral norm of each weight matrix by power iteration,
 * the squared Frobenius norm of the input-output Jacobian (geometric
 * complexity) by its finite-difference estimator, and the Jacobian nuclear
 * norm by an encoder-decoder factorisation. Definitions in psfwi_nn.h,
 * reasons in docs/nn.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "psfwi_nn.h"

struct psfwi_nn_pen {
  psfwi_nn *nn;
  psfwi_nn_pen_opts o;
  size_t max_batch, in_size, out_size;
  unsigned char *in_valid, *out_valid; /* per sample; 1 = counts */
  psfwi_nn_real *y0, *xp, *dy;         /* max_batch * out, * in, * out */
  psfwi_nn_real *vd, *dx, *gsave;      /* operator kind: directions, J^T u, saved grads */
  double *u, *v;                       /* power iteration (largest rows, cols) */
  /* nuclear: the encoder is layers 0..split; the latent is the outputs of
   * the nlat layers lat[] (ascending, -1 the input, split last) that the
   * decoder reads, lat_size values per sample in all; buffers in the
   * engine's CB layout, the latent tensors one after another */
  size_t split, nlat, lat_size;
  int *lat;
  psfwi_nn_real *h0, *h1, *gh, *gl; /* max_batch * lat_size */
  psfwi_nn_real *f0, *gy, *g1;      /* max_batch * out_size */
};

/* lam sum |w| (subgradient 0 at 0) and (lam / 2) sum w^2, accumulated in
 * double; gradients added into g when g != NULL. */
static double pen_l1(size_t n, double lam, const psfwi_nn_real *w, psfwi_nn_real *g) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += fabs((double)w[i]);
    if (g && w[i] != 0) g[i] = (psfwi_nn_real)((double)g[i] + (w[i] > 0 ? lam : -lam));
  }
  return lam * s;
}

static double pen_l2(size_t n, double lam, const psfwi_nn_real *w, psfwi_nn_real *g) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += (double)w[i] * (double)w[i];
    if (g) g[i] = (psfwi_nn_real)((double)g[i] + lam * (double)w[i]);
  }
  return 0.5 * lam * s;
}

/* Rademacher draws (+-1, E eps eps^T = I, as Hutchinson's estimator uses):
 * 64 per splitmix64 value, so the directions cost next to nothing. */
typedef struct sign_stream {
  unsigned long long state, bits;
  int left;
} sign_stream;
static double sign_draw(sign_stream *r) {
  if (r->left == 0) {
    r->bits = psfwi_splitmix64(&r->state);
    r->left = 64;
  }
  const double v = (r->bits & 1ULL) ? 1.0 : -1.0;
  r->bits >>= 1;
  r->left--;
  return v;
}

void psfwi_nn_pen_defaults(psfwi_nn_pen_opts *o) {
  memset(o, 0, sizeof *o);
  o->spectral_iter = 30;
  o->jacobian_step = 1e-2;
  o->jacobian_draws = 1;
  o->jacobian_power_iter = 3;
  o->nuclear_split = -1;
  o->seed = 1;
}

/* Rows and columns of layer i's weights read as a matrix, or 0. */
static void weight_matrix(const psfwi_nn *nn, size_t i, size_t *off, size_t *rows, size_t *cols) {
  const psfwi_nn_layer *l = &psfwi_nn_layers(nn)[i];
  size_t count, nweight;
  psfwi_nn_param_range(nn, i, off, &count, &nweight);
  *rows = *cols = 0;
  if (nweight == 0) return;
  switch (l->kind) {
    case PSFWI_NN_DENSE:
    case PSFWI_NN_CONV1D:
    case PSFWI_NN_CONV2D: /* (out) x (C k_h k_w) */ *rows = l->out; break;
    case PSFWI_NN_CONVT1D: /* (C) x (out k) */ *rows = nweight / (l->out * l->k); break;
    case PSFWI_NN_CONVT2D: /* (C) x (out k k) */ *rows = nweight / (l->out * l->k * l->k); break;
    default: return;
  }
  *cols = nweight / *rows;
}

/* The nuclear term's split: layer k (want, or the first layer with the
 * fewest outputs per sample among those with a layer after them) and the
 * latent the decoder reads: k's output and every earlier output an ADD
 * layer after k takes. */
static int nuclear_plan(psfwi_nn_pen *p, int want, psfwi_error *err) {
  const psfwi_nn *nn = p->nn;
  const size_t n = nn->nlayer;
  if (n < 2)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "network penalty: the Jacobian nuclear norm splits the network into an "
                      "encoder and a decoder; a network of %zu layer cannot be split",
                      n);
  size_t k = 0;
  if (want >= 0) {
    if ((size_t)want > n - 2)
      return psfwi_fail(
          err, PSFWI_ERANGE,
          "network penalty: jacobian_nuclear_split = %d; expected -1 (the bottleneck) or "
          "0..%zu (the encoder's last layer: a layer must follow it)",
          want, n - 2);
    k = (size_t)want;
  } else {
    for (size_t i = 1; i + 1 < n; i++)
      if (nn->L[i].osz < nn->L[k].osz) k = i;
  }
  unsigned char *in = calloc(n + 1, 1); /* in[j + 1]: output j is in the latent */
  if (in == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "network penalty: out of memory");
  in[k + 1] = 1;
  for (size_t j = k + 1; j < n; j++)
    if (nn->L[j].s.kind == PSFWI_NN_ADD && nn->L[j].s.from < (int)k) in[nn->L[j].s.from + 1] = 1;
  size_t m = 0;
  for (size_t j = 0; j <= n; j++) m += in[j];
  p->lat = malloc(m * sizeof *p->lat);
  if (p->lat == NULL) {
    free(in);
    return psfwi_fail(err, PSFWI_ENOMEM, "network penalty: out of memory");
  }
  p->split = k;
  p->nlat = 0;
  p->lat_size = 0;
  for (size_t j = 0; j <= n; j++)
    if (in[j]) {
      p->lat[p->nlat++] = (int)j - 1;
      p->lat_size += j == 0 ? nn->in_size : nn->L[j - 1].osz;
    }
  free(in);
  return PSFWI_OK;
}

psfwi_nn_pen *psfwi_nn_pen_create(psfwi_nn *nn, const psfwi_nn_pen_opts *o, size_t max_batch,
                                  const unsigned char *in_valid, const unsigned char *out_valid,
                                  psfwi_error *err) {
  static const char who[] = "network penalty";
  if (nn == NULL || o == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: NULL network or options", who), NULL;
  const struct {
    const char *name;
    double v;
  } w[] = {{"l1", o->l1},
           {"l2", o->l2},
           {"spectral", o->spectral},
           {"jacobian", o->jacobian},
           {"nuclear", o->nuclear}};
  for (size_t k = 0; k < sizeof w / sizeof w[0]; k++)
    if (!(w[k].v >= 0.0) || !isfinite(w[k].v))
      return psfwi_fail(err, PSFWI_ERANGE, "%s: weight %s = %g; expected finite and >= 0", who,
                        w[k].name, w[k].v),
             NULL;
  if (o->jacobian > 0.0 &&
      (!(o->jacobian_step > 0.0) || !isfinite(o->jacobian_step) || o->jacobian_draws < 1))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "%s: jacobian_step = %g (expected > 0), jacobian_draws = %zu (>= 1)", who,
                      o->jacobian_step, o->jacobian_draws),
           NULL;
  if (o->jacobian > 0.0 && o->jacobian_kind != PSFWI_NN_JAC_FROBENIUS &&
      (o->jacobian_kind != PSFWI_NN_JAC_OPERATOR || o->jacobian_power_iter < 1))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%s: jacobian_kind = %d (frobenius 0, operator 1), jacobian_power_iter = %zu "
                      "(>= 1)",
                      who, o->jacobian_kind, o->jacobian_power_iter),
           NULL;
  if (o->spectral > 0.0 && o->spectral_iter < 1)
    return psfwi_fail(err, PSFWI_ERANGE, "%s: spectral_iter = 0; expected >= 1", who), NULL;
  if (max_batch < 1) return psfwi_fail(err, PSFWI_EINVAL, "%s: max_batch = 0", who), NULL;
  psfwi_nn_pen *p = calloc(1, sizeof *p);
  if (p == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who), NULL;
  p->nn = nn;
  p->o = *o;
  p->max_batch = max_batch;
  p->in_size = psfwi_nn_in_size(nn);
  p->out_size = psfwi_nn_out_size(nn);
  size_t rmax = 1, cmax = 1;
  for (size_t i = 0; i < psfwi_nn_nlayer(nn); i++) {
    size_t off, r, c;
    weight_matrix(nn, i, &off, &r, &c);
    rmax = r > rmax ? r : rmax;
    cmax = c > cmax ? c : cmax;
  }
  int oom = 0;
  p->in_valid = malloc(p->in_size);
  p->out_valid = malloc(p->out_size);
  p->u = malloc(rmax * sizeof *p->u);
  p->v = malloc(cmax * sizeof *p->v);
  oom = !p->in_valid || !p->out_valid || !p->u || !p->v;
  if (!oom && o->jacobian > 0.0) {
    const double bytes =
        (double)max_batch * (double)(2 * p->out_size + p->in_size) * sizeof(psfwi_nn_real);
    if (psfwi_mem_check(bytes, "the Jacobian penalty's buffers", "a smaller batch", err) !=
        PSFWI_OK) {
      psfwi_nn_pen_destroy(p);
      return NULL;
    }
    p->y0 = malloc(max_batch * p->out_size * sizeof *p->y0);
    p->dy = malloc(max_batch * p->out_size * sizeof *p->dy);
    p->xp = malloc(max_batch * p->in_size * sizeof *p->xp);
    oom = !p->y0 || !p->dy || !p->xp;
    if (!oom && o->jacobian_kind == PSFWI_NN_JAC_OPERATOR) {
      p->vd = malloc(max_batch * p->in_size * sizeof *p->vd);
      p->dx = malloc(max_batch * p->in_size * sizeof *p->dx);
      p->gsave = malloc((psfwi_nn_nparam(nn) + 1) * sizeof *p->gsave);
      oom = !p->vd || !p->dx || !p->gsave;
    }
  }
  if (!oom && o->nuclear > 0.0) {
    if (nuclear_plan(p, o->nuclear_split, err) != PSFWI_OK) {
      psfwi_nn_pen_destroy(p);
      return NULL;
    }
    const double bytes =
        (double)max_batch * (double)(4 * p->lat_size + 3 * p->out_size) * sizeof(psfwi_nn_real);
    if (psfwi_mem_check(bytes, "the Jacobian nuclear penalty's buffers", "a smaller batch", err) !=
        PSFWI_OK) {
      psfwi_nn_pen_destroy(p);
      return NULL;
    }
    const size_t nl = max_batch * p->lat_size, no = max_batch * p->out_size;
    p->h0 = malloc(nl * sizeof *p->h0);
    p->h1 = malloc(nl * sizeof *p->h1);
    p->gh = malloc(nl * sizeof *p->gh);
    p->gl = malloc(nl * sizeof *p->gl);
    p->f0 = malloc(no * sizeof *p->f0);
    p->gy = malloc(no * sizeof *p->gy);
    p->g1 = malloc(no * sizeof *p->g1);
    oom = !p->h0 || !p->h1 || !p->gh || !p->gl || !p->f0 || !p->gy || !p->g1;
  }
  if (oom) {
    psfwi_nn_pen_destroy(p);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who), NULL;
  }
  for (size_t i = 0; i < p->in_size; i++) p->in_valid[i] = in_valid ? in_valid[i] != 0 : 1;
  for (size_t i = 0; i < p->out_size; i++) p->out_valid[i] = out_valid ? out_valid[i] != 0 : 1;
  return p;
}

void psfwi_nn_pen_destroy(psfwi_nn_pen *p) {
  if (p == NULL) return;
  free(p->in_valid);
  free(p->out_valid);
  free(p->y0);
  free(p->dy);
  free(p->xp);
  free(p->vd);
  free(p->dx);
  free(p->gsave);
  free(p->u);
  free(p->v);
  free(p->lat);
  free(p->h0);
  free(p->h1);
  free(p->gh);
  free(p->gl);
  free(p->f0);
  free(p->gy);
  free(p->g1);
  free(p);
}

/* lam sigma_max(W)^2 of every weight matrix; adds 2 lam sigma u v^T. */
static double spectral(psfwi_nn_pen *p, int want_grad) {
  psfwi_nn *nn = p->nn;
  const psfwi_nn_real *par = psfwi_nn_params(nn);
  psfwi_nn_real *g = psfwi_nn_grads(nn);
  const double lam = p->o.spectral;
  double total = 0.0;
  for (size_t i = 0; i < psfwi_nn_nlayer(nn); i++) {
    size_t off, R, C;
    weight_matrix(nn, i, &off, &R, &C);
    if (R == 0) continue;
    const psfwi_nn_real *W = par + off;
    double *u = p->u, *v = p->v;
    /* a fixed start: the value is a function of W alone (no state to save) */
    for (size_t c = 0; c < C; c++) v[c] = 1.0 / sqrt((double)C) * (1.0 + 1e-3 * (double)(c % 7));
    double sigma = 0.0;
    for (size_t it = 0; it < p->o.spectral_iter; it++) {
      double nu = 0.0;
      for (size_t r = 0; r < R; r++) {
        double s = 0.0;
        for (size_t c = 0; c < C; c++) s += (double)W[r * C + c] * v[c];
        u[r] = s;
        nu += s * s;
      }
      nu = sqrt(nu);
      if (!(nu > 0.0)) break;
      for (size_t r = 0; r < R; r++) u[r] /= nu;
      /* v = W^T u row by row (contiguous; the same sums in the same order) */
      for (size_t c = 0; c < C; c++) v[c] = 0.0;
      for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++) v[c] += (double)W[r * C + c] * u[r];
      double nv = 0.0;
      for (size_t c = 0; c < C; c++) nv += v[c] * v[c];
      sigma = sqrt(nv);
      if (!(sigma > 0.0)) break;
      for (size_t c = 0; c < C; c++) v[c] /= sigma;
    }
    total += lam * sigma * sigma;
    if (want_grad && sigma > 0.0)
      for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++)
          g[off + r * C + c] =
              (psfwi_nn_real)((double)g[off + r * C + c] + 2.0 * lam * sigma * u[r] * v[c]);
  }
  return total;
}

/* Per sample, unit vectors along each valid input v_b -> v_b / |v_b|. */
static void normalise(psfwi_nn_pen *p, psfwi_nn_real *v, size_t B) {
  const size_t ni = p->in_size;
  for (size_t b = 0; b < B; b++) {
    double n2 = 0.0;
    for (size_t i = 0; i < ni; i++)
      n2 += p->in_valid[i] ? (double)v[b * ni + i] * v[b * ni + i] : 0;
    const double inv = n2 > 0.0 ? 1.0 / sqrt(n2) : 0.0;
    for (size_t i = 0; i < ni; i++)
      v[b * ni + i] = p->in_valid[i] ? (psfwi_nn_real)(v[b * ni + i] * inv) : 0;
  }
}

/* The operator kind's directions: per sample, the top right singular vector
 * of the Jacobian by power iteration, v <- J^T J v / |.|, J v by a forward
 * difference (step s) and J^T u by a backward pass at x; p->y0 = f(x) on
 * entry. The backward passes' parameter gradients are undone. */
static int top_directions(psfwi_nn_pen *p, const psfwi_nn_real *x, size_t B, unsigned long long *rs,
                          psfwi_error *err) {
  psfwi_nn *nn = p->nn;
  const size_t ni = p->in_size, no = p->out_size, np = psfwi_nn_nparam(nn);
  const double s = p->o.jacobian_step;
  for (size_t k = 0; k < B * ni; k++) p->vd[k] = (psfwi_nn_real)psfwi_normal_draw(rs);
  normalise(p, p->vd, B);
  memcpy(p->gsave, psfwi_nn_grads(nn), np * sizeof *p->gsave);
  for (size_t it = 0; it < p->o.jacobian_power_iter; it++) {
    for (size_t k = 0; k < B * ni; k++) p->xp[k] = x[k] + (psfwi_nn_real)(s * p->vd[k]);
    const psfwi_nn_real *y1 = psfwi_nn_forward(nn, p->xp, B, 0, err);
    if (y1 == NULL) return err->status;
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < no; i++) {
        const size_t k = b * no + i;
        p->dy[k] = p->out_valid[i] ? (psfwi_nn_real)(((double)y1[k] - p->y0[k]) / s) : 0;
      }
    if (psfwi_nn_forward(nn, x, B, 0, err) == NULL) return err->status;
    if (psfwi_nn_backward(nn, p->dy, p->dx, err) != PSFWI_OK) return err->status;
    memcpy(p->vd, p->dx, B * ni * sizeof *p->vd);
    normalise(p, p->vd, B);
  }
  memcpy(psfwi_nn_grads(nn), p->gsave, np * sizeof *p->gsave);
  return PSFWI_OK;
}

/* lam mean_b E_eps |f(x + s eps) - f(x)|^2 / s^2 over valid entries, eps
 * Rademacher on valid inputs from a stream seeded by (seed, the batch's
 * bytes); adds the gradient: seeds +-2 lam (y1 - y0) / (s^2 B D) at x + s eps
 * and at x. Inference mode (batch norm's running statistics, no dropout). */
static int jacobian(psfwi_nn_pen *p, const psfwi_nn_real *x, size_t B, int want_grad, double *value,
                    psfwi_error *err) {
  psfwi_nn *nn = p->nn;
  const size_t ni = p->in_size, no = p->out_size;
  size_t D = p->o.jacobian_draws;
  const double s = p->o.jacobian_step, lam = p->o.jacobian;
  const psfwi_nn_real *y = psfwi_nn_forward(nn, x, B, 0, err);
  if (y == NULL) return err->status;
  memcpy(p->y0, y, B * no * sizeof *y);
  unsigned long long rs =
      psfwi_mix64(p->o.seed ^ psfwi_fnv1a(x, B * ni * sizeof *x) ^ 0x6a61636fULL);
  sign_stream rb = {rs, 0, 0};
  const int op = p->o.jacobian_kind == PSFWI_NN_JAC_OPERATOR;
  if (op) {
    D = 1;
    int st = top_directions(p, x, B, &rs, err);
    if (st != PSFWI_OK) return st;
  }
  double sum = 0.0;
  const double scale = 2.0 * lam / (s * s * (double)B * (double)D);
  for (size_t d = 0; d < D; d++) {
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < ni; i++)
        p->xp[b * ni + i] = !p->in_valid[i] ? x[b * ni + i]
                            : op            ? x[b * ni + i] + (psfwi_nn_real)(s * p->vd[b * ni + i])
                                            : x[b * ni + i] + (psfwi_nn_real)(s * sign_draw(&rb));
    const psfwi_nn_real *y1 = psfwi_nn_forward(nn, p->xp, B, 0, err);
    if (y1 == NULL) return err->status;
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < no; i++) {
        const size_t k = b * no + i;
        const double diff = p->out_valid[i] ? (double)y1[k] - (double)p->y0[k] : 0.0;
        sum += diff * diff;
        p->dy[k] = (psfwi_nn_real)(scale * diff);
      }
    if (!want_grad) continue;
    if (psfwi_nn_backward(nn, p->dy, NULL, err) != PSFWI_OK) return err->status;
    if (psfwi_nn_forward(nn, x, B, 0, err) == NULL) return err->status;
    for (size_t k = 0; k < B * no; k++) p->dy[k] = -p->dy[k];
    if (psfwi_nn_backward(nn, p->dy, NULL, err) != PSFWI_OK) return err->status;
  }
  *value = lam * sum / (s * s * (double)B * (double)D);
  return PSFWI_OK;
}

/* ---- The Jacobian nuclear norm (Scarvelis & Solomon 2024) ----------------
 * f = g o h, h = layers 0..split, the latent z = h(x) the tuple of outputs
 * p->lat; value lam / 2 mean_b (|J_g(z_b)|_F^2 + |J_h(x_b)|_F^2) by the
 * finite-difference estimates |h(x + s eps) - h(x)|^2 / s^2 and
 * |g(z + t eta) - g(z)|^2 / t^2. Everything in the engine's CB layout. */
static real *lat_out(psfwi_nn *nn, int j) { return j < 0 ? nn->xcb : nn->L[j].out; }
static real *lat_grad(psfwi_nn *nn, int j) { return j < 0 ? nn->gin : nn->L[j].grad; }
static size_t lat_len(const psfwi_nn *nn, int j, size_t B) {
  return B * (j < 0 ? nn->in_size : nn->L[j].osz);
}

/* z <- the latent now in the network (after an encoder pass) */
static void lat_get(psfwi_nn_pen *p, size_t B, real *z) {
  for (size_t c = 0, off = 0; c < p->nlat; c++) {
    const size_t m = lat_len(p->nn, p->lat[c], B);
    memcpy(z + off, lat_out(p->nn, p->lat[c]), m * sizeof *z);
    off += m;
  }
}

/* the decoder's inputs <- z + t eta, eta Rademacher (t = 0: z) */
static void lat_put(psfwi_nn_pen *p, size_t B, const real *z, double t, sign_stream *r) {
  for (size_t c = 0, off = 0; c < p->nlat; c++) {
    const size_t m = lat_len(p->nn, p->lat[c], B);
    real *o = lat_out(p->nn, p->lat[c]);
    for (size_t i = 0; i < m; i++)
      o[i] = t > 0.0 ? z[off + i] + (real)(t * sign_draw(r)) : z[off + i];
    off += m;
  }
}

/* the network input <- x (public layout) + s eps on the valid entries */
static void put_input(psfwi_nn_pen *p, const real *x, size_t B, double s, sign_stream *r) {
  psfwi_nn *nn = p->nn;
  const size_t C = nn->in_c, n = nn->in_h * nn->in_w;
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < n; i++) {
        const real v = x[(b * C + c) * n + i];
        nn->xcb[(c * B + b) * n + i] =
            s > 0.0 && p->in_valid[c * n + i] ? v + (real)(s * sign_draw(r)) : v;
      }
}

/* Back through the decoder with dy (CB) at the output; gl <- the gradient
 * w.r.t. the latent. */
static void decoder_back(psfwi_nn_pen *p, size_t B, const real *dy, real *gl) {
  psfwi_nn *nn = p->nn;
  const size_t n = nn->nlayer;
  memset(nn->ginit, 0, n + 1);
  memcpy(nn->L[n - 1].grad, dy, B * p->out_size * sizeof *dy);
  nn->ginit[n] = 1;
  nn_run_backward(nn, p->split + 1, n - 1, 1);
  for (size_t c = 0, off = 0; c < p->nlat; c++) {
    const int j = p->lat[c];
    const size_t m = lat_len(nn, j, B);
    if (nn->ginit[j + 1])
      memcpy(gl + off, lat_grad(nn, j), m * sizeof *gl);
    else
      memset(gl + off, 0, m * sizeof *gl);
    off += m;
  }
}

/* Back through the encoder with gz at the latent. */
static void encoder_back(psfwi_nn_pen *p, size_t B, const real *gz) {
  psfwi_nn *nn = p->nn;
  memset(nn->ginit, 0, nn->nlayer + 1);
  for (size_t c = 0, off = 0; c < p->nlat; c++) {
    const int j = p->lat[c];
    const size_t m = lat_len(nn, j, B);
    if (j >= 0) { /* the input's own share has no parameter behind it */
      memcpy(lat_grad(nn, j), gz + off, m * sizeof *gz);
      nn->ginit[j + 1] = 1;
    }
    off += m;
  }
  nn_run_backward(nn, 0, p->split, 0);
}

/* sum over valid outputs of (out - f0)^2; dy = scale (out - f0) there, 0 else */
static double out_diff(psfwi_nn_pen *p, size_t B, double scale, real *dy) {
  const psfwi_nn *nn = p->nn;
  const nn_layer *l = &nn->L[nn->nlayer - 1];
  const size_t C = l->oc, n = l->oh * l->ow;
  double sum = 0.0;
  for (size_t c = 0; c < C; c++)
    for (size_t b = 0; b < B; b++)
      for (size_t i = 0; i < n; i++) {
        const size_t k = (c * B + b) * n + i;
        const double d = p->out_valid[c * n + i] ? (double)l->out[k] - (double)p->f0[k] : 0.0;
        sum += d * d;
        if (dy) dy[k] = (real)(scale * d);
      }
  return sum;
}

static int nuclear(psfwi_nn_pen *p, const real *x, size_t B, int want_grad, double *value,
                   psfwi_error *err) {
  psfwi_nn *nn = p->nn;
  const size_t n = nn->nlayer, k = p->split, nl = B * p->lat_size, no = B * p->out_size,
               D = p->o.jacobian_draws;
  const double s = p->o.jacobian_step, t = p->o.nuclear_step > 0 ? p->o.nuclear_step : s,
               lam = p->o.nuclear;
  /* seeds: the derivative of lam / (2 B D) |d|^2 / step^2 is lam d / (B D step^2) */
  const double cs = lam / ((double)B * (double)D * s * s),
               ct = lam / ((double)B * (double)D * t * t);
  sign_stream rb = {
      psfwi_mix64(p->o.seed ^ psfwi_fnv1a(x, B * p->in_size * sizeof *x) ^ 0x6e75636cULL), 0, 0};
  put_input(p, x, B, 0.0, &rb);
  if (nn_run_forward(nn, 0, k, B, 0, err) != PSFWI_OK) return err->status;
  lat_get(p, B, p->h0);
  if (nn_run_forward(nn, k + 1, n - 1, B, 0, err) != PSFWI_OK) return err->status;
  memcpy(p->f0, nn->L[n - 1].out, no * sizeof *p->f0);
  if (want_grad) {
    memset(p->gh, 0, nl * sizeof *p->gh);
    memset(p->gy, 0, no * sizeof *p->gy);
  }
  double sum_h = 0.0, sum_g = 0.0;
  for (size_t d = 0; d < D; d++) {
    /* |J_h|^2: h(x + s eps) - h(x) */
    put_input(p, x, B, s, &rb);
    if (nn_run_forward(nn, 0, k, B, 0, err) != PSFWI_OK) return err->status;
    lat_get(p, B, p->h1);
    for (size_t i = 0; i < nl; i++) {
      const double dz = (double)p->h1[i] - (double)p->h0[i];
      sum_h += dz * dz;
      p->h1[i] = (real)(cs * dz);
      if (want_grad) p->gh[i] -= p->h1[i];
    }
    if (want_grad) encoder_back(p, B, p->h1);
    /* |J_g|^2: g(z + t eta) - g(z) */
    lat_put(p, B, p->h0, t, &rb);
    if (nn_run_forward(nn, k + 1, n - 1, B, 0, err) != PSFWI_OK) return err->status;
    sum_g += out_diff(p, B, ct, want_grad ? p->g1 : NULL);
    if (want_grad) {
      for (size_t i = 0; i < no; i++) p->gy[i] -= p->g1[i];
      decoder_back(p, B, p->g1, p->gl);
      for (size_t i = 0; i < nl; i++) p->gh[i] += p->gl[i];
    }
  }
  if (want_grad) { /* the seeds at g(z) and at h(x) */
    lat_put(p, B, p->h0, 0.0, &rb);
    if (nn_run_forward(nn, k + 1, n - 1, B, 0, err) != PSFWI_OK) return err->status;
    decoder_back(p, B, p->gy, p->gl);
    for (size_t i = 0; i < nl; i++) p->gh[i] += p->gl[i];
    put_input(p, x, B, 0.0, &rb);
    if (nn_run_forward(nn, 0, k, B, 0, err) != PSFWI_OK) return err->status;
    encoder_back(p, B, p->gh);
  }
  *value = 0.5 * lam * (sum_h / (s * s) + sum_g / (t * t)) / ((double)B * (double)D);
  return PSFWI_OK;
}

int psfwi_nn_pen_eval(psfwi_nn_pen *p, const psfwi_nn_real *x, size_t batch, int want_grad,
                      psfwi_nn_pen_terms *t, psfwi_error *err) {
  memset(t, 0, sizeof *t);
  psfwi_nn *nn = p->nn;
  const size_t np = psfwi_nn_nparam(nn);
  psfwi_nn_real *par = psfwi_nn_params(nn), *g = want_grad ? psfwi_nn_grads(nn) : NULL;
  /* the Jacobian terms' share of the batch (jacobian_samples) */
  const size_t sub =
      p->o.jacobian_samples > 0 && p->o.jacobian_samples < batch ? p->o.jacobian_samples : batch;
  if (p->o.l1 > 0.0) t->l1 = pen_l1(np, p->o.l1, par, g);
  if (p->o.l2 > 0.0) t->l2 = pen_l2(np, p->o.l2, par, g);
  if (p->o.spectral > 0.0) t->spectral = spectral(p, want_grad);
  if (p->o.jacobian > 0.0) {
    if (x == NULL || batch < 1 || batch > p->max_batch)
      return psfwi_fail(err, PSFWI_EINVAL, "network penalty: batch %zu (1..%zu) or no input", batch,
                        p->max_batch);
    int st = jacobian(p, x, sub, want_grad, &t->jacobian, err);
    if (st != PSFWI_OK) return st;
  }
  if (p->o.nuclear > 0.0) {
    if (x == NULL || batch < 1 || batch > p->max_batch)
      return psfwi_fail(err, PSFWI_EINVAL, "network penalty: batch %zu (1..%zu) or no input", batch,
                        p->max_batch);
    int st = nuclear(p, x, sub, want_grad, &t->nuclear, err);
    if (st != PSFWI_OK) return st;
  }
  t->total = t->l1 + t->l2 + t->spectral + t->jacobian + t->nuclear;
  if (!isfinite(t->total))
    return psfwi_fail(err, PSFWI_ENONFINITE, "network penalty: not finite (%g)", t->total);
  return PSFWI_OK;
}
