/* Network architectures: the default hourglass and the INI description
 * (psfwi_learn.h). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_learn.h"

void psfwi_arch_free(psfwi_arch *a) {
  if (a == NULL) return;
  free(a->layers);
  a->layers = NULL;
  a->nlayer = 0;
}

void psfwi_hourglass_defaults(psfwi_hourglass_opts *o) {
  o->base = 64;
  o->levels = 2;
  o->k = 3;
  o->norm = 1;
  o->act = PSFWI_NN_RELU;
  o->dropout = 0;
}

/* Append a layer (capacity checked by the caller's count). */
static psfwi_nn_layer *push(psfwi_arch *a, int kind) {
  psfwi_nn_layer *l = &a->layers[a->nlayer++];
  psfwi_nn_layer_init(l, kind);
  return l;
}

/* conv (or transposed conv) + norm + activation; returns the index of the
 * block's last layer. */
static int block(psfwi_arch *a, int kind, size_t out, size_t k, size_t stride, size_t pad,
                 const psfwi_hourglass_opts *o) {
  psfwi_nn_layer *c = push(a, kind);
  c->out = out;
  c->k = k;
  c->stride = stride;
  c->pad = pad;
  c->act = o->norm ? PSFWI_NN_LINEAR : o->act;
  c->bias = o->norm ? 0 : 1; /* a bias before a normalisation is redundant */
  if (o->norm) {
    psfwi_nn_layer *n = push(a, o->norm == 1 ? PSFWI_NN_BATCHNORM : PSFWI_NN_LAYERNORM);
    n->act = o->act;
  }
  return (int)a->nlayer - 1;
}

int psfwi_arch_hourglass(const psfwi_hourglass_opts *o, size_t in_c, size_t out_c, psfwi_arch *a,
                         psfwi_error *err) {
  memset(a, 0, sizeof *a);
  if (o->base < 1 || o->base > 4096)
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: base = %zu channels, expected 1..4096",
                      o->base);
  if (o->levels < 1 || o->levels > 6)
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: levels = %zu, expected 1..6", o->levels);
  if (o->k < 1 || o->k % 2 == 0 || o->k > 31)
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: kernel = %zu, expected an odd 1..31", o->k);
  if (o->norm < 0 || o->norm > 2)
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: norm = %d, expected 0, 1 or 2", o->norm);
  if (!(o->dropout >= 0 && o->dropout < 1))
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: dropout = %g, expected [0, 1)", o->dropout);
  if (in_c < 1 || out_c < 1)
    return psfwi_fail(err, PSFWI_ERANGE, "hourglass: %zu input and %zu output channels", in_c,
                      out_c);
  a->layers = calloc(8 * o->levels + 8, sizeof *a->layers);
  if (a->layers == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "hourglass: out of memory");
  a->in_c = in_c;
  a->width_multiple = (size_t)1 << o->levels;
  const size_t pad = o->k / 2;
  int skip[8];
  size_t ch = o->base;
  skip[0] = block(a, PSFWI_NN_CONV1D, ch, o->k, 1, pad, o);
  for (size_t l = 1; l <= o->levels; l++) {
    ch *= 2;
    skip[l] = block(a, PSFWI_NN_CONV1D, ch, o->k, 2, pad, o);
  }
  if (o->dropout > 0) push(a, PSFWI_NN_DROPOUT)->rate = o->dropout;
  for (size_t l = o->levels; l >= 1; l--) {
    ch /= 2;
    /* (L - 1) 2 - 2 pad + (k + 1) = 2 L for pad = k / 2: exact doubling */
    block(a, PSFWI_NN_CONVT1D, ch, o->k + 1, 2, pad, o);
    push(a, PSFWI_NN_ADD)->from = skip[l - 1];
  }
  psfwi_nn_layer *head = push(a, PSFWI_NN_CONV1D);
  head->out = out_c;
  head->k = 1;
  head->act = PSFWI_NN_LINEAR;
  head->init = PSFWI_NN_INIT_GLOROT;
  return PSFWI_OK;
}

size_t psfwi_arch_padded_width(const psfwi_arch *a, size_t width) {
  const size_t m = a->width_multiple ? a->width_multiple : 1;
  return (width + m - 1) / m * m;
}

psfwi_nn *psfwi_arch_build(const psfwi_arch *a, size_t width, size_t max_batch, psfwi_error *err) {
  psfwi_nn *nn =
      psfwi_nn_create(a->in_c, 1, psfwi_arch_padded_width(a, width), a->layers, a->nlayer, err);
  if (nn == NULL) return NULL;
  if (psfwi_nn_set_batch(nn, max_batch, err) != PSFWI_OK) {
    psfwi_nn_destroy(nn);
    return NULL;
  }
  return nn;
}

/* ---- INI text ---------------------------------------------------------------- */

/* The fields of a layer as text: one table for the writer and the parser. */
enum field_type { F_SIZE, F_DOUBLE, F_INT };
static const struct field {
  const char *key;
  enum field_type type;
  size_t offset;
} fields[] = {
    {"alpha", F_DOUBLE, offsetof(psfwi_nn_layer, alpha)},
    {"out", F_SIZE, offsetof(psfwi_nn_layer, out)},
    {"k", F_SIZE, offsetof(psfwi_nn_layer, k)},
    {"stride", F_SIZE, offsetof(psfwi_nn_layer, stride)},
    {"pad", F_SIZE, offsetof(psfwi_nn_layer, pad)},
    {"output_pad", F_SIZE, offsetof(psfwi_nn_layer, output_pad)},
    {"factor", F_SIZE, offsetof(psfwi_nn_layer, factor)},
    {"eps", F_DOUBLE, offsetof(psfwi_nn_layer, eps)},
    {"momentum", F_DOUBLE, offsetof(psfwi_nn_layer, momentum)},
    {"rate", F_DOUBLE, offsetof(psfwi_nn_layer, rate)},
    {"from", F_INT, offsetof(psfwi_nn_layer, from)},
    {"h0", F_SIZE, offsetof(psfwi_nn_layer, h0)},
    {"w0", F_SIZE, offsetof(psfwi_nn_layer, w0)},
    {"out_h", F_SIZE, offsetof(psfwi_nn_layer, out_h)},
    {"out_w", F_SIZE, offsetof(psfwi_nn_layer, out_w)},
    {"out_c", F_SIZE, offsetof(psfwi_nn_layer, out_c)},
    {"bias", F_INT, offsetof(psfwi_nn_layer, bias)},
};
#define NFIELD (sizeof fields / sizeof fields[0])

/* A growing text buffer. */
typedef struct tbuf {
  char *s;
  size_t len, cap;
  int failed;
} tbuf;

static void tprintf(tbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#include <stdarg.h>
static void tprintf(tbuf *b, const char *fmt, ...) {
  if (b->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if (b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    const size_t cap = 2 * (b->cap + (size_t)n) + 256;
    char *s = realloc(b->s, cap);
    if (s == NULL) {
      b->failed = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

char *psfwi_arch_text(const psfwi_arch *a) {
  tbuf b = {0};
  tprintf(&b, "[input]\nchannels = %zu\nwidth_multiple = %zu\n", a->in_c, a->width_multiple);
  for (size_t i = 0; i < a->nlayer; i++) {
    const psfwi_nn_layer *l = &a->layers[i];
    psfwi_nn_layer d;
    psfwi_nn_layer_init(&d, l->kind);
    tprintf(&b, "[layer]\nkind = %s\n", psfwi_nn_kind_name(l->kind));
    if (l->act != d.act) tprintf(&b, "act = %s\n", psfwi_nn_act_name(l->act));
    if (l->init != d.init)
      tprintf(&b, "init = %s\n", l->init == PSFWI_NN_INIT_GLOROT ? "glorot" : "he");
    for (size_t f = 0; f < NFIELD; f++) {
      const char *p = (const char *)l + fields[f].offset;
      const char *q = (const char *)&d + fields[f].offset;
      const size_t sz = fields[f].type == F_SIZE     ? sizeof(size_t)
                        : fields[f].type == F_DOUBLE ? sizeof(double)
                                                     : sizeof(int);
      if (memcmp(p, q, sz) == 0) continue; /* the kind's default (NaN "unset" included) */
      switch (fields[f].type) {
        case F_SIZE:
          if (*(const size_t *)p != *(const size_t *)q)
            tprintf(&b, "%s = %zu\n", fields[f].key, *(const size_t *)p);
          break;
        case F_DOUBLE:
          if (*(const double *)p != *(const double *)q)
            tprintf(&b, "%s = %.17g\n", fields[f].key, *(const double *)p);
          break;
        case F_INT:
          if (*(const int *)p != *(const int *)q)
            tprintf(&b, "%s = %d\n", fields[f].key, *(const int *)p);
          break;
      }
    }
  }
  if (b.failed) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

static int parse_number(const char *origin, size_t line, const char *key, const char *v,
                        enum field_type type, void *out, psfwi_error *err) {
  char *end;
  errno = 0;
  if (type == F_DOUBLE) {
    const double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x))
      return psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: %s = '%s': expected a finite number", origin,
                        line, key, v);
    *(double *)out = x;
    return PSFWI_OK;
  }
  const long long x = strtoll(v, &end, 10);
  if (end == v || *end || errno)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: %s = '%s': expected an integer", origin, line,
                      key, v);
  if (type == F_SIZE) {
    if (x < 0 || x > 1000000000LL)
      return psfwi_fail(err, PSFWI_ERANGE, "%s:%zu: %s = %lld: expected 0..1e9", origin, line, key,
                        x);
    *(size_t *)out = (size_t)x;
  } else {
    if (x < -1 || x > 1000000000LL)
      return psfwi_fail(err, PSFWI_ERANGE, "%s:%zu: %s = %lld: expected -1..1e9", origin, line, key,
                        x);
    *(int *)out = (int)x;
  }
  return PSFWI_OK;
}

/* One "key = value" of a [layer] section. kind_seen: the kind must come first
 * (it sets the defaults). */
static int layer_key(psfwi_nn_layer *l, int *kind_seen, const char *origin, size_t line,
                     const char *key, const char *v, psfwi_error *err) {
  if (strcmp(key, "kind") == 0) {
    if (*kind_seen)
      return psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: kind given twice in one [layer]", origin,
                        line);
    int kind;
    if (psfwi_nn_kind_parse(v, &kind, err) != PSFWI_OK)
      return psfwi_error_prefix(err, "%s:%zu: ", origin, line);
    psfwi_nn_layer_init(l, kind);
    *kind_seen = 1;
    return PSFWI_OK;
  }
  if (!*kind_seen)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: %s before kind: a [layer] starts with kind",
                      origin, line, key);
  if (strcmp(key, "act") == 0) {
    if (psfwi_nn_act_parse(v, &l->act, err) != PSFWI_OK)
      return psfwi_error_prefix(err, "%s:%zu: ", origin, line);
    return PSFWI_OK;
  }
  if (strcmp(key, "init") == 0) {
    if (strcmp(v, "he") == 0)
      l->init = PSFWI_NN_INIT_HE;
    else if (strcmp(v, "glorot") == 0)
      l->init = PSFWI_NN_INIT_GLOROT;
    else
      return psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: init = '%s': expected he or glorot", origin,
                        line, v);
    return PSFWI_OK;
  }
  for (size_t f = 0; f < NFIELD; f++)
    if (strcmp(key, fields[f].key) == 0)
      return parse_number(origin, line, key, v, fields[f].type, (char *)l + fields[f].offset, err);
  return psfwi_fail(err, PSFWI_EFORMAT,
                    "%s:%zu: unknown key '%s' in [layer] (expected kind, act, init, alpha, out, "
                    "k, stride, pad, output_pad, factor, eps, momentum, rate, from, h0, w0, "
                    "out_h, out_w, out_c, bias)",
                    origin, line, key);
}

int psfwi_arch_parse(const char *text, const char *origin, psfwi_arch *a, psfwi_error *err) {
  memset(a, 0, sizeof *a);
  a->width_multiple = 1;
  size_t cap = 0;
  for (const char *p = text; (p = strchr(p, '[')) != NULL; p++) cap++; /* >= sections */
  if (cap == 0)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s: no [layer] section: nothing to build", origin);
  a->layers = calloc(cap, sizeof *a->layers);
  char *copy = malloc(strlen(text) + 1);
  if (a->layers == NULL || copy == NULL) {
    free(copy);
    psfwi_arch_free(a);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", origin);
  }
  strcpy(copy, text);
  int st = PSFWI_OK, section = 0 /* 1 input, 2 layer */, kind_seen = 0, have_in = 0;
  size_t line = 0;
  for (char *save = NULL, *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    line++;
    char *c = strpbrk(ln, ";#");
    if (c) *c = '\0';
    char *s = trim(ln);
    if (*s == '\0') continue;
    if (*s == '[') {
      if (section == 2 && !kind_seen) {
        st = psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: the [layer] before has no kind", origin, line);
        break;
      }
      if (strcmp(s, "[input]") == 0) {
        section = 1;
      } else if (strcmp(s, "[layer]") == 0) {
        section = 2;
        kind_seen = 0;
        a->nlayer++;
      } else {
        st = psfwi_fail(err, PSFWI_EFORMAT,
                        "%s:%zu: unknown section %s (expected [input] or "
                        "[layer])",
                        origin, line, s);
        break;
      }
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL || section == 0) {
      st = psfwi_fail(err, PSFWI_EFORMAT,
                      "%s:%zu: '%s': expected key = value inside [input] or "
                      "[layer]",
                      origin, line, s);
      break;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (section == 1) {
      size_t v = 0;
      if (strcmp(key, "channels") == 0 || strcmp(key, "width_multiple") == 0) {
        st = parse_number(origin, line, key, val, F_SIZE, &v, err);
        if (st) break;
        if (v < 1) {
          st = psfwi_fail(err, PSFWI_ERANGE, "%s:%zu: %s = 0: expected >= 1", origin, line, key);
          break;
        }
        if (key[0] == 'c') {
          a->in_c = v;
          have_in = 1;
        } else {
          a->width_multiple = v;
        }
      } else {
        st = psfwi_fail(err, PSFWI_EFORMAT,
                        "%s:%zu: unknown key '%s' in [input] (expected channels, width_multiple)",
                        origin, line, key);
        break;
      }
    } else {
      st = layer_key(&a->layers[a->nlayer - 1], &kind_seen, origin, line, key, val, err);
      if (st) break;
    }
  }
  if (st == PSFWI_OK && section == 2 && !kind_seen)
    st = psfwi_fail(err, PSFWI_EFORMAT, "%s: the last [layer] has no kind", origin);
  if (st == PSFWI_OK && a->nlayer == 0)
    st = psfwi_fail(err, PSFWI_EFORMAT, "%s: no [layer] section: nothing to build", origin);
  if (st == PSFWI_OK && !have_in)
    st = psfwi_fail(err, PSFWI_EFORMAT, "%s: [input] channels is missing", origin);
  free(copy);
  if (st != PSFWI_OK) psfwi_arch_free(a);
  return st;
}
