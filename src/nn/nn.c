/* psfwi nn: names, planning (specs, shapes, parameter layout), the arena,
 * initialisation and the forward / backward drivers. The layer kernels are
 * in layers_conv.c and layers_misc.c; docs/nn.md describes the whole. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn_internal.h"

/* ---- Names -------------------------------------------------------------- */

typedef struct nn_name {
  int value;
  const char *text;
} nn_name;

#define PSFWI_X_NAME(name, value, text) {value, text},
static const nn_name kind_names[] = {PSFWI_NN_KIND_LIST(PSFWI_X_NAME)};
static const nn_name act_names[] = {PSFWI_NN_ACT_LIST(PSFWI_X_NAME)};
#undef PSFWI_X_NAME
static const nn_name loss_names[] = {
    {PSFWI_NN_MSE, "mse"}, {PSFWI_NN_L1, "l1"}, {PSFWI_NN_HUBER, "huber"}};
#define NN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const nn_name *t, size_t n, int v) {
  for (size_t i = 0; i < n; i++)
    if (t[i].value == v) return t[i].text;
  return "unknown";
}

static int parse_name(const nn_name *t, size_t n, const char *what, const char *name, int *v,
                      psfwi_error *err) {
  for (size_t i = 0; name != NULL && i < n; i++)
    if (strcmp(t[i].text, name) == 0) {
      *v = t[i].value;
      return PSFWI_OK;
    }
  char list[512] = "";
  size_t len = 0;
  for (size_t i = 0; i < n && len + 32 < sizeof list; i++) {
    const size_t tl = strlen(t[i].text);
    if (len + tl + 3 >= sizeof list) break;
    if (i > 0) {
      memcpy(list + len, ", ", 2);
      len += 2;
    }
    memcpy(list + len, t[i].text, tl);
    len += tl;
    list[len] = '\0';
  }
  return psfwi_fail(err, PSFWI_EINVAL, "unknown %s '%s' (expected one of: %s)", what,
                    name ? name : "(null)", list);
}

const char *psfwi_nn_kind_name(int kind) { return name_of(kind_names, NN_COUNT(kind_names), kind); }
const char *psfwi_nn_act_name(int act) { return name_of(act_names, NN_COUNT(act_names), act); }
const char *psfwi_nn_loss_name(int loss) { return name_of(loss_names, NN_COUNT(loss_names), loss); }
int psfwi_nn_kind_parse(const char *name, int *kind, psfwi_error *err) {
  return parse_name(kind_names, NN_COUNT(kind_names), "layer kind", name, kind, err);
}
int psfwi_nn_act_parse(const char *name, int *act, psfwi_error *err) {
  return parse_name(act_names, NN_COUNT(act_names), "activation", name, act, err);
}
int psfwi_nn_loss_parse(const char *name, int *loss, psfwi_error *err) {
  return parse_name(loss_names, NN_COUNT(loss_names), "loss", name, loss, err);
}

/* ---- Planning ----------------------------------------------------------- */

void psfwi_nn_layer_init(psfwi_nn_layer *l, int kind) {
  memset(l, 0, sizeof *l);
  l->kind = kind;
  l->act = PSFWI_NN_LINEAR;
  l->alpha = NAN; /* resolved by act: 0.01 (leaky_relu), 1 (elu) */
  l->stride = 1;
  l->factor = 2;
  l->eps = 1e-5;
  l->momentum = 0.1;
  l->rate = 0.5;
  l->from = -1;
  l->init = -1; /* resolved: He for the ReLU family, Glorot else */
  l->bias = 1;
}

/* a * b, or 0 with *ok cleared when it overflows (or is absurd). */
static size_t mul(size_t a, size_t b, int *ok) {
  if (a != 0 && b > ((size_t)1 << 48) / a) {
    *ok = 0;
    return 0;
  }
  return a * b;
}

#define LFAIL(...) psfwi_fail(err, PSFWI_EINVAL, __VA_ARGS__)

static int check_act(size_t i, const char *kn, psfwi_nn_layer *s, psfwi_error *err) {
  if (strcmp(psfwi_nn_act_name(s->act), "unknown") == 0)
    return LFAIL("layer %zu (%s): act = %d is not an activation", i, kn, s->act);
  if (isnan(s->alpha)) s->alpha = s->act == PSFWI_NN_LRELU ? 0.01 : 1.0;
  if (s->act == PSFWI_NN_LRELU && !(s->alpha >= 0.0 && isfinite(s->alpha)))
    return LFAIL("layer %zu (%s): alpha = %g must be finite and >= 0 for leaky_relu", i, kn,
                 s->alpha);
  if (s->act == PSFWI_NN_ELU && !(s->alpha > 0.0 && isfinite(s->alpha)))
    return LFAIL("layer %zu (%s): alpha = %g must be finite and > 0 for elu", i, kn, s->alpha);
  return PSFWI_OK;
}

/* The output length of a convolution along one axis, or an error naming
 * the field. */
static int conv_len(size_t i, const char *kn, const char *axis, size_t n, size_t k, size_t s,
                    size_t p, size_t *out, psfwi_error *err) {
  if (n + 2 * p < k)
    return LFAIL("layer %zu (%s): k = %zu is larger than the padded input (%zu along %s)", i, kn, k,
                 n + 2 * p, axis);
  *out = (n + 2 * p - k) / s + 1;
  return PSFWI_OK;
}

static int convt_len(size_t i, const char *kn, const char *axis, size_t n, size_t k, size_t s,
                     size_t p, size_t op, size_t *out, psfwi_error *err) {
  const size_t full = (n - 1) * s + k + op;
  if (full <= 2 * p)
    return LFAIL(
        "layer %zu (%s): pad = %zu leaves no output along %s ((%zu - 1) stride + k + "
        "output_pad = %zu)",
        i, kn, p, axis, n, full);
  *out = full - 2 * p;
  return PSFWI_OK;
}

/* Check layer i against its input shape (l->ic, ih, iw set) and fill its
 * output shape, geometry and parameter counts. */
static int plan_layer(psfwi_nn *nn, size_t i, psfwi_error *err) {
  nn_layer *l = &nn->L[i];
  psfwi_nn_layer *s = &l->s;
  const char *kn = psfwi_nn_kind_name(s->kind);
  int rc;
  l->oc = l->ic;
  l->oh = l->ih;
  l->ow = l->iw;
  switch (s->kind) {
    case PSFWI_NN_DENSE:
    case PSFWI_NN_CONV1D:
    case PSFWI_NN_CONV2D:
    case PSFWI_NN_CONVT1D:
    case PSFWI_NN_CONVT2D: {
      if (s->out < 1) return LFAIL("layer %zu (%s): out = %zu must be >= 1", i, kn, s->out);
      if ((rc = check_act(i, kn, s, err))) return rc;
      if (s->init == -1)
        s->init = (s->act == PSFWI_NN_RELU || s->act == PSFWI_NN_LRELU || s->act == PSFWI_NN_ELU)
                      ? PSFWI_NN_INIT_HE
                      : PSFWI_NN_INIT_GLOROT;
      if (s->init != PSFWI_NN_INIT_HE && s->init != PSFWI_NN_INIT_GLOROT)
        return LFAIL("layer %zu (%s): init = %d is neither He (0) nor Glorot (1)", i, kn, s->init);
      if (s->bias != 0 && s->bias != 1)
        return LFAIL("layer %zu (%s): bias = %d must be 0 or 1", i, kn, s->bias);
      l->oc = s->out;
      if (s->kind == PSFWI_NN_DENSE) {
        l->kh = l->ih, l->kw = l->iw, l->sh = l->sw = 1, l->ph = l->pw = 0;
        l->oh = l->ow = 1;
        l->kdim = l->ic * l->ih * l->iw;
      } else {
        const int two = s->kind == PSFWI_NN_CONV2D || s->kind == PSFWI_NN_CONVT2D;
        const int tr = s->kind == PSFWI_NN_CONVT1D || s->kind == PSFWI_NN_CONVT2D;
        if (s->k < 1) return LFAIL("layer %zu (%s): k = %zu must be >= 1", i, kn, s->k);
        if (s->stride < 1)
          return LFAIL("layer %zu (%s): stride = %zu must be >= 1", i, kn, s->stride);
        if (s->k > 4096 || s->stride > 4096 || s->pad > 4096)
          return LFAIL("layer %zu (%s): k, stride or pad above 4096", i, kn);
        if (tr && s->output_pad >= s->stride)
          return LFAIL("layer %zu (%s): output_pad = %zu must be smaller than stride (%zu)", i, kn,
                       s->output_pad, s->stride);
        l->kw = s->k, l->sw = s->stride, l->pw = s->pad;
        l->kh = two ? s->k : 1, l->sh = two ? s->stride : 1, l->ph = two ? s->pad : 0;
        if (tr) {
          const size_t oph = two ? s->output_pad : 0;
          if ((rc = convt_len(i, kn, "H", l->ih, l->kh, l->sh, l->ph, oph, &l->oh, err))) return rc;
          if ((rc = convt_len(i, kn, "W", l->iw, l->kw, l->sw, l->pw, s->output_pad, &l->ow, err)))
            return rc;
          l->kdim = l->oc * l->kh * l->kw;
        } else {
          if ((rc = conv_len(i, kn, "H", l->ih, l->kh, l->sh, l->ph, &l->oh, err))) return rc;
          if ((rc = conv_len(i, kn, "W", l->iw, l->kw, l->sw, l->pw, &l->ow, err))) return rc;
          l->kdim = l->ic * l->kh * l->kw;
          l->direct =
              l->kh == 1 && l->kw == 1 && l->sw == 1 && l->sh == 1 && l->pw == 0 && l->ph == 0;
        }
      }
      if (s->kind == PSFWI_NN_DENSE) l->direct = l->ih == 1 && l->iw == 1;
      int ok = 1;
      const size_t other =
          (s->kind == PSFWI_NN_CONVT1D || s->kind == PSFWI_NN_CONVT2D) ? l->ic : l->oc;
      l->nweight = mul(other, l->kdim, &ok);
      if (!ok) return LFAIL("layer %zu (%s): too many weights", i, kn);
      l->pcount = l->nweight + (s->bias ? l->oc : 0);
      break;
    }
    case PSFWI_NN_UPSAMPLE:
    case PSFWI_NN_MAXPOOL:
    case PSFWI_NN_AVGPOOL:
      if (s->factor < 1 || s->factor > 4096)
        return LFAIL("layer %zu (%s): factor = %zu must be in [1, 4096]", i, kn, s->factor);
      l->fw = s->factor;
      l->fh = l->ih == 1 ? 1 : s->factor;
      if (s->kind == PSFWI_NN_UPSAMPLE) {
        l->oh = l->ih * l->fh;
        l->ow = l->iw * l->fw;
      } else {
        if (l->iw < l->fw || l->ih < l->fh)
          return LFAIL("layer %zu (%s): factor = %zu is larger than the input (%zu x %zu)", i, kn,
                       s->factor, l->ih, l->iw);
        l->oh = l->ih / l->fh;
        l->ow = l->iw / l->fw;
      }
      break;
    case PSFWI_NN_BATCHNORM:
    case PSFWI_NN_LAYERNORM:
      if ((rc = check_act(i, kn, s, err))) return rc;
      if (!(s->eps > 0.0 && isfinite(s->eps)))
        return LFAIL("layer %zu (%s): eps = %g must be finite and > 0", i, kn, s->eps);
      if (s->kind == PSFWI_NN_BATCHNORM && !(s->momentum >= 0.0 && s->momentum <= 1.0))
        return LFAIL("layer %zu (%s): momentum = %g must be in [0, 1]", i, kn, s->momentum);
      l->nweight = 0;
      l->pcount = 2 * l->ic;
      l->nbuf = s->kind == PSFWI_NN_BATCHNORM ? 2 * l->ic : 0;
      break;
    case PSFWI_NN_DROPOUT:
      if (!(s->rate >= 0.0 && s->rate < 1.0))
        return LFAIL("layer %zu (%s): rate = %g must be in [0, 1)", i, kn, s->rate);
      break;
    case PSFWI_NN_ACT:
      if ((rc = check_act(i, kn, s, err))) return rc;
      break;
    case PSFWI_NN_ADD: {
      if ((rc = check_act(i, kn, s, err))) return rc;
      if (s->from < -1 || s->from >= (int)i)
        return LFAIL(
            "layer %zu (%s): from = %d must be -1 (the input) or an earlier layer (0 .. "
            "%zu)",
            i, kn, s->from, i - 1);
      size_t c, h, w;
      psfwi_nn_shape(nn, s->from, &c, &h, &w);
      if (c != l->ic || h != l->ih || w != l->iw)
        return LFAIL(
            "layer %zu (%s): from = %d has shape (%zu, %zu, %zu), the previous layer's "
            "is (%zu, %zu, %zu)",
            i, kn, s->from, c, h, w, l->ic, l->ih, l->iw);
      break;
    }
    case PSFWI_NN_CROP:
      if (s->out_h < 1 || s->out_w < 1)
        return LFAIL("layer %zu (%s): out_h = %zu and out_w = %zu must be >= 1", i, kn, s->out_h,
                     s->out_w);
      if (s->h0 > l->ih || s->out_h > l->ih - s->h0)
        return LFAIL("layer %zu (%s): h0 + out_h = %zu + %zu is beyond the input's H (%zu)", i, kn,
                     s->h0, s->out_h, l->ih);
      if (s->w0 > l->iw || s->out_w > l->iw - s->w0)
        return LFAIL("layer %zu (%s): w0 + out_w = %zu + %zu is beyond the input's W (%zu)", i, kn,
                     s->w0, s->out_w, l->iw);
      l->oh = s->out_h;
      l->ow = s->out_w;
      break;
    case PSFWI_NN_RESHAPE: {
      int ok = 1;
      const size_t n = mul(mul(s->out_c, s->out_h, &ok), s->out_w, &ok);
      if (!ok || n != l->isz || n == 0)
        return LFAIL(
            "layer %zu (%s): out_c x out_h x out_w = %zu x %zu x %zu differs from the "
            "input size %zu",
            i, kn, s->out_c, s->out_h, s->out_w, l->isz);
      l->oc = s->out_c, l->oh = s->out_h, l->ow = s->out_w;
      break;
    }
    default: return LFAIL("layer %zu: kind = %d is not a layer kind", i, s->kind);
  }
  int ok = 1;
  l->osz = mul(mul(l->oc, l->oh, &ok), l->ow, &ok);
  if (!ok) return LFAIL("layer %zu (%s): output too large", i, kn);
  return PSFWI_OK;
}

psfwi_nn *psfwi_nn_create(size_t in_c, size_t in_h, size_t in_w, const psfwi_nn_layer *layers,
                          size_t nlayer, psfwi_error *err) {
  if (in_c < 1 || in_h < 1 || in_w < 1) {
    psfwi_fail(err, PSFWI_EINVAL, "nn: input shape (%zu, %zu, %zu) must have every size >= 1", in_c,
               in_h, in_w);
    return NULL;
  }
  if (layers == NULL || nlayer < 1 || nlayer > 100000) {
    psfwi_fail(err, PSFWI_EINVAL, "nn: %zu layers (expected 1 to 100000)", nlayer);
    return NULL;
  }
  int ok = 1;
  const size_t in_size = mul(mul(in_c, in_h, &ok), in_w, &ok);
  if (!ok) {
    psfwi_fail(err, PSFWI_EINVAL, "nn: input shape (%zu, %zu, %zu) too large", in_c, in_h, in_w);
    return NULL;
  }
  psfwi_nn *nn = calloc(1, sizeof *nn);
  if (nn == NULL) goto nomem;
  nn->nlayer = nlayer;
  nn->nthreads = 1;
  nn->in_c = in_c, nn->in_h = in_h, nn->in_w = in_w, nn->in_size = in_size;
  nn->spec = calloc(nlayer, sizeof *nn->spec);
  nn->L = calloc(nlayer, sizeof *nn->L);
  nn->ginit = calloc(nlayer + 1, 1);
  if (!nn->spec || !nn->L || !nn->ginit) goto nomem;
  int has_param = 0;
  for (size_t i = 0; i < nlayer; i++) {
    nn_layer *l = &nn->L[i];
    l->s = layers[i];
    psfwi_nn_shape(nn, (int)i - 1, &l->ic, &l->ih, &l->iw);
    l->isz = l->ic * l->ih * l->iw;
    if (plan_layer(nn, i, err)) {
      psfwi_nn_destroy(nn);
      return NULL;
    }
    l->need_gin = has_param; /* a parameter upstream: the gradient must flow back */
    has_param |= l->pcount > 0;
    l->poff = nn->nparam;
    nn->nparam += l->pcount;
    l->boff = nn->nbuffer;
    nn->nbuffer += l->nbuf;
    nn->spec[i] = l->s;
  }
  nn->out_size = nn->L[nlayer - 1].osz;
  {
    char detail[96];
    snprintf(detail, sizeof detail, "%zu parameters and %zu buffers", nn->nparam, nn->nbuffer);
    if (psfwi_mem_check(((double)nn->nparam * 2 + (double)nn->nbuffer) * sizeof *nn->params,
                        "nn parameters", detail, err) != PSFWI_OK) {
      psfwi_nn_destroy(nn);
      return NULL;
    }
  }
  nn->params = calloc(nn->nparam + 1, sizeof *nn->params);
  nn->grads = calloc(nn->nparam + 1, sizeof *nn->grads);
  nn->buffers = calloc(nn->nbuffer + 1, sizeof *nn->buffers);
  if (!nn->params || !nn->grads || !nn->buffers) goto nomem;
  psfwi_nn_init(nn, 0);
  memset(nn->params, 0, nn->nparam * sizeof *nn->params); /* "parameters start at zero" */
  return nn;
nomem:
  psfwi_nn_destroy(nn);
  psfwi_fail(err, PSFWI_ENOMEM, "nn: out of memory for %zu layers", nlayer);
  return NULL;
}

void psfwi_nn_destroy(psfwi_nn *nn) {
  if (nn == NULL) return;
  free(nn->spec);
  free(nn->L);
  free(nn->ginit);
  free(nn->params);
  free(nn->grads);
  free(nn->buffers);
  free(nn->arena);
  free(nn);
}

size_t psfwi_nn_nlayer(const psfwi_nn *nn) { return nn->nlayer; }
const psfwi_nn_layer *psfwi_nn_layers(const psfwi_nn *nn) { return nn->spec; }

void psfwi_nn_shape(const psfwi_nn *nn, int i, size_t *c, size_t *h, size_t *w) {
  if (i < 0 || (size_t)i >= nn->nlayer) {
    *c = nn->in_c, *h = nn->in_h, *w = nn->in_w;
  } else {
    const nn_layer *l = &nn->L[i];
    *c = l->oc, *h = l->oh, *w = l->ow;
  }
}

size_t psfwi_nn_in_size(const psfwi_nn *nn) { return nn->in_size; }
size_t psfwi_nn_out_size(const psfwi_nn *nn) { return nn->out_size; }
size_t psfwi_nn_nparam(const psfwi_nn *nn) { return nn->nparam; }
psfwi_nn_real *psfwi_nn_params(psfwi_nn *nn) { return nn->params; }
psfwi_nn_real *psfwi_nn_grads(psfwi_nn *nn) { return nn->grads; }
size_t psfwi_nn_nbuffer(const psfwi_nn *nn) { return nn->nbuffer; }
psfwi_nn_real *psfwi_nn_buffers(psfwi_nn *nn) { return nn->buffers; }

void psfwi_nn_param_range(const psfwi_nn *nn, size_t i, size_t *offset, size_t *count,
                          size_t *nweight) {
  if (i >= nn->nlayer) {
    *offset = nn->nparam, *count = 0, *nweight = 0;
    return;
  }
  *offset = nn->L[i].poff, *count = nn->L[i].pcount, *nweight = nn->L[i].nweight;
}

/* ---- Initialisation ----------------------------------------------------- */

static double uniform01(uint64_t *st) {
  unsigned long long s = *st;
  const unsigned long long r = psfwi_splitmix64(&s);
  *st = s;
  return (double)(r >> 11) * 0x1p-53;
}

static double normal01(uint64_t *st) { /* Box-Muller, one deviate per pair */
  const double u = uniform01(st), v = uniform01(st);
  return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

void psfwi_nn_init(psfwi_nn *nn, uint64_t seed) {
  uint64_t st = seed;
  for (size_t i = 0; i < nn->nlayer; i++) {
    const nn_layer *l = &nn->L[i];
    real *p = nn->params + l->poff;
    switch (l->s.kind) {
      case PSFWI_NN_DENSE:
      case PSFWI_NN_CONV1D:
      case PSFWI_NN_CONV2D:
      case PSFWI_NN_CONVT1D:
      case PSFWI_NN_CONVT2D: {
        double fan_in, fan_out;
        const double kk = (double)(l->kh * l->kw);
        if (l->s.kind == PSFWI_NN_CONVT1D || l->s.kind == PSFWI_NN_CONVT2D) {
          /* each output sees ic kh kw / (sh sw) inputs on average */
          fan_in = (double)l->ic * kk / (double)(l->sh * l->sw);
          fan_out = (double)l->oc * kk;
        } else {
          fan_in = (double)l->ic * kk;
          fan_out = (double)l->oc * (l->s.kind == PSFWI_NN_DENSE ? 1.0 : kk);
        }
        if (l->s.init == PSFWI_NN_INIT_HE) {
          const double sd = sqrt(2.0 / fan_in);
          for (size_t k = 0; k < l->nweight; k++) p[k] = (real)(sd * normal01(&st));
        } else {
          const double lim = sqrt(6.0 / (fan_in + fan_out));
          for (size_t k = 0; k < l->nweight; k++) p[k] = (real)(lim * (2.0 * uniform01(&st) - 1.0));
        }
        for (size_t k = l->nweight; k < l->pcount; k++) p[k] = 0;
        break;
      }
      case PSFWI_NN_BATCHNORM:
      case PSFWI_NN_LAYERNORM:
        for (size_t c = 0; c < l->ic; c++) p[c] = 1, p[l->ic + c] = 0;
        if (l->nbuf) {
          real *b = nn->buffers + l->boff;
          for (size_t c = 0; c < l->ic; c++) b[c] = 0, b[l->ic + c] = 1;
        }
        break;
      default: break;
    }
  }
  nn->drop_state = (uint64_t)psfwi_mix64(seed ^ 0xd1b54a32d192ed03ULL);
}

uint64_t psfwi_nn_dropout_state(const psfwi_nn *nn) { return nn->drop_state; }

void psfwi_nn_set_threads(psfwi_nn *nn, int nthreads) {
  nn->nthreads = nthreads > 1 ? nthreads : 1;
}
int psfwi_nn_threads(const psfwi_nn *nn) { return nn->nthreads; }
void psfwi_nn_set_dropout_state(psfwi_nn *nn, uint64_t state) { nn->drop_state = state; }

/* ---- Arena -------------------------------------------------------------- */

#define NN_ALIGN 64

static size_t take(size_t *top, size_t bytes) {
  const size_t at = *top;
  *top += (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
  return at;
}

int psfwi_nn_set_batch(psfwi_nn *nn, size_t max_batch, psfwi_error *err) {
  if (max_batch < 1 || max_batch > ((size_t)1 << 32))
    return psfwi_fail(err, PSFWI_EINVAL, "nn: max_batch = %zu must be in [1, 2^32]", max_batch);
  const size_t B = max_batch, R = sizeof(real);
  size_t top = 0, scratch = 0;
  const size_t a_x = take(&top, B * nn->in_size * R);
  const size_t a_gin = take(&top, B * nn->in_size * R);
  const size_t a_y = take(&top, B * nn->out_size * R);
  for (size_t i = 0; i < nn->nlayer; i++) {
    nn_layer *l = &nn->L[i];
    const size_t n = B * l->osz;
    l->a_out = take(&top, n * R);
    l->a_grad = take(&top, n * R);
    l->a_panel = l->a_stat = l->a_mask = 0;
    switch (l->s.kind) {
      case PSFWI_NN_DENSE:
      case PSFWI_NN_CONV1D:
      case PSFWI_NN_CONV2D: {
        const size_t panel = l->kdim * B * l->oh * l->ow;
        if (!l->direct) {
          l->a_panel = take(&top, panel * R);
          if (panel > scratch) scratch = panel;
        }
        break;
      }
      case PSFWI_NN_CONVT1D:
      case PSFWI_NN_CONVT2D: {
        const size_t panel = l->kdim * B * l->ih * l->iw;
        if (panel > scratch) scratch = panel;
        break;
      }
      case PSFWI_NN_BATCHNORM: l->a_stat = take(&top, 2 * l->ic * R); break;
      case PSFWI_NN_LAYERNORM: l->a_stat = take(&top, 2 * B * R); break;
      case PSFWI_NN_DROPOUT: l->a_mask = take(&top, n); break;
      default: break;
    }
  }
  const size_t a_s = take(&top, scratch * R);
  char detail[160];
  snprintf(detail, sizeof detail, "%zu layers, batch %zu", nn->nlayer, B);
  int rc = psfwi_mem_check((double)top, "nn arena", detail, err);
  if (rc) return rc;
  free(nn->arena);
  nn->arena = NULL;
  nn->max_batch = 0;
  nn->arena_bytes = 0;
  nn->have_forward = 0;
  char *a = aligned_alloc(NN_ALIGN, top > 0 ? top : NN_ALIGN);
  if (a == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "nn arena: out of memory (%s)", detail);
  nn->arena = a;
  nn->arena_bytes = top;
  nn->max_batch = B;
  nn->xcb = (real *)(void *)(a + a_x);
  nn->gin = (real *)(void *)(a + a_gin);
  nn->yout = (real *)(void *)(a + a_y);
  nn->scratch = (real *)(void *)(a + a_s);
  for (size_t i = 0; i < nn->nlayer; i++) {
    nn_layer *l = &nn->L[i];
    l->out = (real *)(void *)(a + l->a_out);
    l->grad = (real *)(void *)(a + l->a_grad);
    l->panel = l->direct ? NULL : (real *)(void *)(a + l->a_panel);
    l->stat = (real *)(void *)(a + l->a_stat);
    l->mask = (unsigned char *)(a + l->a_mask);
  }
  return PSFWI_OK;
}

size_t psfwi_nn_arena_bytes(const psfwi_nn *nn) { return nn->arena_bytes; }

/* ---- Forward and backward ----------------------------------------------- */

/* (b, c, hw) <-> (c, b, hw) for B samples of C channels of n values. */
static void to_cb(const real *src, real *dst, size_t B, size_t C, size_t n) {
  if (B == 1 || C == 1) {
    if (dst != src) memcpy(dst, src, B * C * n * sizeof *dst);
    return;
  }
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      memcpy(dst + (c * B + b) * n, src + (b * C + c) * n, n * sizeof *dst);
}

static void from_cb(const real *src, real *dst, size_t B, size_t C, size_t n) {
  if (B == 1 || C == 1) {
    if (dst != src) memcpy(dst, src, B * C * n * sizeof *dst);
    return;
  }
  for (size_t b = 0; b < B; b++)
    for (size_t c = 0; c < C; c++)
      memcpy(dst + (b * C + c) * n, src + (c * B + b) * n, n * sizeof *dst);
}

static const real *input_of(const psfwi_nn *nn, int j) { return j < 0 ? nn->xcb : nn->L[j].out; }

int nn_run_forward(psfwi_nn *nn, size_t first, size_t last, size_t B, int train, psfwi_error *err) {
  nn->have_forward = 0;
  if (train) {
    for (size_t i = first; i <= last; i++) {
      const nn_layer *l = &nn->L[i];
      if (l->s.kind == PSFWI_NN_BATCHNORM && B * l->ih * l->iw < 2)
        return psfwi_fail(err, PSFWI_EINVAL,
                          "layer %zu (batchnorm): training needs more than one value per channel "
                          "(batch %zu x %zu x %zu)",
                          i, B, l->ih, l->iw);
    }
  }
  for (size_t i = first; i <= last; i++) {
    nn_layer *l = &nn->L[i];
    const real *in = input_of(nn, (int)i - 1);
    switch (l->s.kind) {
      case PSFWI_NN_DENSE:
      case PSFWI_NN_CONV1D:
      case PSFWI_NN_CONV2D: nn_conv_forward(nn, l, in, B); break;
      case PSFWI_NN_CONVT1D:
      case PSFWI_NN_CONVT2D: nn_convt_forward(nn, l, in, B); break;
      default:
        nn_misc_forward(nn, l, in, l->s.kind == PSFWI_NN_ADD ? input_of(nn, l->s.from) : NULL, B,
                        train);
        break;
    }
  }
  nn->batch = B;
  nn->train = train != 0;
  nn->have_forward = first == 0 && last + 1 == nn->nlayer;
  return PSFWI_OK;
}

const psfwi_nn_real *psfwi_nn_forward(psfwi_nn *nn, const psfwi_nn_real *x, size_t batch, int train,
                                      psfwi_error *err) {
  nn->have_forward = 0;
  if (nn->arena == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "nn forward: call psfwi_nn_set_batch first");
    return NULL;
  }
  if (batch < 1 || x == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "nn forward: batch = %zu must be >= 1 (and x not NULL)", batch);
    return NULL;
  }
  if (batch > nn->max_batch) {
    psfwi_fail(err, PSFWI_ERANGE, "nn forward: batch = %zu is larger than planned (%zu)", batch,
               nn->max_batch);
    return NULL;
  }
  const size_t B = batch;
  to_cb(x, nn->xcb, B, nn->in_c, nn->in_h * nn->in_w);
  if (nn_run_forward(nn, 0, nn->nlayer - 1, B, train, err) != PSFWI_OK) return NULL;
  const nn_layer *last = &nn->L[nn->nlayer - 1];
  from_cb(last->out, nn->yout, B, last->oc, last->oh * last->ow);
  return nn->yout;
}

void nn_run_backward(psfwi_nn *nn, size_t first, size_t last, int all) {
  const size_t B = nn->batch;
  for (size_t ii = last + 1; ii-- > first;) {
    nn_layer *l = &nn->L[ii];
    const int want_gin = l->need_gin || all;
    if (!want_gin && l->pcount == 0) continue; /* nothing upstream needs it */
    const real *in = input_of(nn, (int)ii - 1);
    real *gx = want_gin ? (ii == 0 ? nn->gin : nn->L[ii - 1].grad) : NULL;
    const int acc = nn->ginit[ii];
    switch (l->s.kind) {
      case PSFWI_NN_DENSE:
      case PSFWI_NN_CONV1D:
      case PSFWI_NN_CONV2D: nn_conv_backward(nn, l, in, B, gx, acc); break;
      case PSFWI_NN_CONVT1D:
      case PSFWI_NN_CONVT2D: nn_convt_backward(nn, l, in, B, gx, acc); break;
      case PSFWI_NN_ADD: {
        const int f = l->s.from;
        /* output f's gradient is needed when a layer up to f has parameters */
        const int want_skip = all || (f >= 0 && (nn->L[f].need_gin || nn->L[f].pcount > 0));
        real *gs = want_skip ? (f < 0 ? nn->gin : nn->L[f].grad) : NULL;
        nn_misc_backward(nn, l, in, B, gx, acc, gs, nn->ginit[f + 1]);
        if (gs) nn->ginit[f + 1] = 1;
        break;
      }
      default: nn_misc_backward(nn, l, in, B, gx, acc, NULL, 0); break;
    }
    if (gx) nn->ginit[ii] = 1;
  }
}

int psfwi_nn_backward(psfwi_nn *nn, const psfwi_nn_real *dy, psfwi_nn_real *dx, psfwi_error *err) {
  if (!nn->have_forward)
    return psfwi_fail(err, PSFWI_EINVAL, "nn backward: no forward pass to go back through");
  if (dy == NULL) return psfwi_fail(err, PSFWI_EINVAL, "nn backward: dy is NULL");
  const size_t B = nn->batch, n = nn->nlayer;
  nn_layer *last = &nn->L[n - 1];
  memset(nn->ginit, 0, n + 1);
  to_cb(dy, last->grad, B, last->oc, last->oh * last->ow);
  nn->ginit[n] = 1;
  nn_run_backward(nn, 0, n - 1, dx != NULL);
  if (dx != NULL) {
    if (!nn->ginit[0]) memset(nn->gin, 0, B * nn->in_size * sizeof *nn->gin);
    from_cb(nn->gin, dx, B, nn->in_c, nn->in_h * nn->in_w);
  }
  return PSFWI_OK;
}

void psfwi_nn_zero_grad(psfwi_nn *nn) { memset(nn->grads, 0, nn->nparam * sizeof *nn->grads); }

void psfwi_nn_set_blas_threads(int nthreads) {
  if (nthreads >= 1) openblas_set_num_threads(nthreads);
}
