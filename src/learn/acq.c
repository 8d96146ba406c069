/* The acquisition a network or a data set was made for: names of the modes,
 * the text stored in files (psfwi_acquisition), its parse, and the
 * field-by-field comparison. One table of fields drives all three. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_learn.h"

static const char *const mode_names[] = {"whole", "profile"};
static const char *const parts_names[] = {"reim", "ampphase"};

const char *psfwi_learn_mode_name(int mode) {
  return mode >= 0 && mode < 2 ? mode_names[mode] : "unknown";
}

const char *psfwi_learn_parts_name(int parts) {
  return parts >= 0 && parts < 2 ? parts_names[parts] : "unknown";
}

int psfwi_learn_mode_parse(const char *name, int *mode, psfwi_error *err) {
  for (int i = 0; i < 2; i++)
    if (name != NULL && strcmp(name, mode_names[i]) == 0) {
      *mode = i;
      return PSFWI_OK;
    }
  return psfwi_fail(err, PSFWI_EINVAL, "feature mode '%s'; expected whole or profile",
                    name ? name : "(null)");
}

int psfwi_learn_parts_parse(const char *name, int *parts, psfwi_error *err) {
  for (int i = 0; i < 2; i++)
    if (name != NULL && strcmp(name, parts_names[i]) == 0) {
      *parts = i;
      return PSFWI_OK;
    }
  return psfwi_fail(err, PSFWI_EINVAL, "feature parts '%s'; expected reim or ampphase",
                    name ? name : "(null)");
}

size_t psfwi_learn_channels(const psfwi_learn_acq *a) {
  const size_t groups = a->mode == PSFWI_LEARN_WHOLE ? a->nshot : a->noffset;
  return groups * a->nfreq * 2;
}

/* ---- The table of fields ------------------------------------------------- */
enum kind { K_MODE, K_PARTS, K_SIZE, K_REAL, K_FREQ, K_HASH };
enum when { ALWAYS, WHOLE_ONLY, PROFILE_ONLY }; /* compared in which mode */

typedef struct field {
  const char *key;   /* in the text */
  const char *label; /* in messages */
  const char *unit;  /* "" when none */
  enum kind kind;
  size_t off;
  enum when when;
} field;

#define F(key, label, unit, kind, member, when) \
  { key, label, unit, kind, offsetof(psfwi_learn_acq, member), when }
/* The order of the text and of the comparison (the first difference is
 * the one reported). */
static const field fields[] = {
    F("mode", "feature mode", "", K_MODE, mode, ALWAYS),
    F("parts", "feature parts", "", K_PARTS, parts, ALWAYS),
    F("nfreq", "number of frequencies", "", K_SIZE, nfreq, ALWAYS),
    F("freq", "frequency", "Hz", K_FREQ, freq, ALWAYS),
    F("nt", "number of samples per trace nt", "", K_SIZE, nt, ALWAYS),
    F("dt", "sample interval dt", "s", K_REAL, dt, ALWAYS),
    F("f_peak", "Ricker peak frequency", "Hz", K_REAL, f_peak, ALWAYS),
    F("dx", "model spacing dx", "m", K_REAL, dx, ALWAYS),
    F("dz", "model spacing dz", "m", K_REAL, dz, ALWAYS),
    F("nz", "number of depth samples nz", "", K_SIZE, nz, ALWAYS),
    F("z0", "depth of the first model row z0", "m", K_REAL, z0, ALWAYS),
    F("nshot", "number of shots", "", K_SIZE, nshot, WHOLE_ONLY),
    F("nrec", "number of receivers per shot", "", K_SIZE, nrec, WHOLE_ONLY),
    F("source_z", "source depth", "m", K_REAL, source_z, WHOLE_ONLY),
    F("receiver_z", "receiver depth", "m", K_REAL, receiver_z, WHOLE_ONLY),
    F("offset_min", "first offset bin offset_min", "m", K_REAL, offset_min, PROFILE_ONLY),
    F("offset_step", "offset bin width offset_step", "m", K_REAL, offset_step, PROFILE_ONLY),
    F("noffset", "number of offset bins", "", K_SIZE, noffset, PROFILE_ONLY),
    F("geometry_hash", "source and receiver geometry (hash)", "", K_HASH, geometry_hash,
      WHOLE_ONLY),
};
#undef F
enum { NFIELDS = sizeof fields / sizeof fields[0] };

#define AT(a, f, type)  ((type *)(void *)((char *)(a) + (f)->off))
#define CAT(a, f, type) ((const type *)(const void *)((const char *)(a) + (f)->off))

static int real_differs(double x, double y) {
  if (x == y) return 0;
  if (!isfinite(x) || !isfinite(y)) return 1;
  return fabs(x - y) > 1e-6 * fmax(fabs(x), fabs(y));
}

/* A field's value as text for messages (reals with their unit). */
static void value_text(const psfwi_learn_acq *a, const field *f, size_t k, char *buf, size_t len) {
  switch (f->kind) {
    case K_MODE: snprintf(buf, len, "%s", psfwi_learn_mode_name(*CAT(a, f, int))); break;
    case K_PARTS: snprintf(buf, len, "%s", psfwi_learn_parts_name(*CAT(a, f, int))); break;
    case K_SIZE: snprintf(buf, len, "%zu", *CAT(a, f, size_t)); break;
    case K_REAL:
      snprintf(buf, len, "%.9g%s%s", *CAT(a, f, double), f->unit[0] ? " " : "", f->unit);
      break;
    case K_FREQ: snprintf(buf, len, "%.9g Hz", CAT(a, f, double)[k]); break;
    case K_HASH: snprintf(buf, len, "0x%016" PRIx64, *CAT(a, f, uint64_t)); break;
  }
}

/* The first differing field: its index (NFIELDS when none) and, for the
 * frequencies, which one. */
static size_t first_difference(const psfwi_learn_acq *a, const psfwi_learn_acq *b, size_t *k) {
  *k = 0;
  for (size_t i = 0; i < NFIELDS; i++) {
    const field *f = &fields[i];
    if ((f->when == WHOLE_ONLY && a->mode != PSFWI_LEARN_WHOLE) ||
        (f->when == PROFILE_ONLY && a->mode != PSFWI_LEARN_PROFILE))
      continue;
    switch (f->kind) {
      case K_MODE:
      case K_PARTS:
        if (*CAT(a, f, int) != *CAT(b, f, int)) return i;
        break;
      case K_SIZE:
        if (*CAT(a, f, size_t) != *CAT(b, f, size_t)) return i;
        break;
      case K_REAL:
        if (real_differs(*CAT(a, f, double), *CAT(b, f, double))) return i;
        break;
      case K_FREQ: /* nfreq was compared first */
        for (size_t j = 0; j < a->nfreq && j < PSFWI_LEARN_MAX_FREQ; j++)
          if (real_differs(CAT(a, f, double)[j], CAT(b, f, double)[j])) {
            *k = j;
            return i;
          }
        break;
      case K_HASH:
        if (*CAT(a, f, uint64_t) != *CAT(b, f, uint64_t)) return i;
        break;
    }
  }
  return NFIELDS;
}

/* possessive: "<prefix>: <b>'s label = vb differs from <a>'s va<tail>";
 * else "<b> has label = vb where <a> has va". */
static int describe_difference(const psfwi_learn_acq *a, const psfwi_learn_acq *b, int possessive,
                               const char *prefix, const char *name_a, const char *name_b,
                               const char *tail, psfwi_error *err) {
  size_t k;
  const size_t i = first_difference(a, b, &k);
  if (i == NFIELDS) return PSFWI_OK;
  const field *f = &fields[i];
  char va[96], vb[96], label[96];
  value_text(a, f, k, va, sizeof va);
  value_text(b, f, k, vb, sizeof vb);
  if (f->kind == K_FREQ)
    snprintf(label, sizeof label, "%s %zu", f->label, k + 1);
  else
    snprintf(label, sizeof label, "%s", f->label);
  if (possessive)
    return psfwi_fail(err, PSFWI_EINVAL, "%s%s%s's %s = %s differs from %s's %s%s",
                      prefix ? prefix : "", prefix ? ": " : "", name_b, label, vb, name_a, va,
                      tail ? tail : "");
  return psfwi_fail(err, PSFWI_EINVAL, "%s has %s = %s where %s has %s", name_b, label, vb, name_a,
                    va);
}

int psfwi_learn_acq_compare(const psfwi_learn_acq *net, const psfwi_learn_acq *data,
                            const char *what, psfwi_error *err) {
  return describe_difference(net, data, 1, what, "the network", "the data",
                             " (it was trained for another acquisition)", err);
}

int psfwi_learn_acq_diff(const psfwi_learn_acq *a, const psfwi_learn_acq *b, const char *name_a,
                         const char *name_b, psfwi_error *err) {
  return describe_difference(a, b, 0, NULL, name_a, name_b, NULL, err);
}

/* ---- Text ------------------------------------------------------------------ */
char *psfwi_learn_acq_text(const psfwi_learn_acq *a) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (out == NULL) return NULL;
  for (size_t i = 0; i < NFIELDS; i++) {
    const field *f = &fields[i];
    fprintf(out, "%s = ", f->key);
    switch (f->kind) {
      case K_MODE: fprintf(out, "%s", psfwi_learn_mode_name(*CAT(a, f, int))); break;
      case K_PARTS: fprintf(out, "%s", psfwi_learn_parts_name(*CAT(a, f, int))); break;
      case K_SIZE: fprintf(out, "%zu", *CAT(a, f, size_t)); break;
      case K_REAL: fprintf(out, "%.17g", *CAT(a, f, double)); break;
      case K_FREQ:
        for (size_t j = 0; j < a->nfreq && j < PSFWI_LEARN_MAX_FREQ; j++)
          fprintf(out, "%s%.17g", j ? ", " : "", CAT(a, f, double)[j]);
        break;
      case K_HASH: fprintf(out, "0x%016" PRIx64, *CAT(a, f, uint64_t)); break;
    }
    fputc('\n', out);
  }
  if (fclose(out) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
  return s;
}

static int parse_real(const char *text, double *v) {
  char *end;
  errno = 0;
  *v = strtod(text, &end);
  return errno == 0 && end != text && *trim(end) == '\0' && isfinite(*v);
}

static int parse_size(const char *text, size_t *v) {
  if (*text < '0' || *text > '9') return 0;
  char *end;
  errno = 0;
  const unsigned long long x = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || x > (unsigned long long)SIZE_MAX) return 0;
  *v = (size_t)x;
  return 1;
}

static int parse_value(psfwi_learn_acq *a, const field *f, char *value, size_t *nfreq_seen) {
  switch (f->kind) {
    case K_MODE: return psfwi_learn_mode_parse(value, AT(a, f, int), NULL) == PSFWI_OK;
    case K_PARTS: return psfwi_learn_parts_parse(value, AT(a, f, int), NULL) == PSFWI_OK;
    case K_SIZE: return parse_size(value, AT(a, f, size_t));
    case K_REAL: return parse_real(value, AT(a, f, double));
    case K_HASH: {
      if (strncmp(value, "0x", 2) != 0 || value[2] == '\0') return 0;
      char *end;
      errno = 0;
      const unsigned long long x = strtoull(value + 2, &end, 16);
      if (errno != 0 || *end != '\0' || value[2] == '-' || value[2] == '+') return 0;
      *AT(a, f, uint64_t) = (uint64_t)x;
      return 1;
    }
    case K_FREQ: {
      size_t n = 0;
      for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok != NULL;
           tok = strtok_r(NULL, ",", &save)) {
        if (n >= PSFWI_LEARN_MAX_FREQ || !parse_real(trim(tok), &AT(a, f, double)[n])) return 0;
        n++;
      }
      *nfreq_seen = n;
      return n > 0;
    }
  }
  return 0;
}

int psfwi_learn_acq_parse(const char *text, const char *origin, psfwi_learn_acq *a,
                          psfwi_error *err) {
  if (origin == NULL) origin = "acquisition";
  if (text == NULL) return psfwi_fail(err, PSFWI_EFORMAT, "%s: no acquisition text", origin);
  char *copy = strdup(text);
  if (copy == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", origin);
  psfwi_learn_acq r;
  memset(&r, 0, sizeof r);
  int seen[NFIELDS] = {0};
  size_t nfreq_seen = 0;
  int st = PSFWI_OK;
  size_t lineno = 0;
  for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL && st == PSFWI_OK;
       line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *l = trim(line);
    if (*l == '\0' || *l == '#') continue;
    char *eq = strchr(l, '=');
    if (eq == NULL) {
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: acquisition line %zu '%s' is not 'key = value'",
                      origin, lineno, l);
      break;
    }
    *eq = '\0';
    char *key = trim(l), *value = trim(eq + 1);
    size_t i = 0;
    while (i < NFIELDS && strcmp(fields[i].key, key) != 0) i++;
    if (i == NFIELDS)
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: acquisition key '%s' is unknown", origin, key);
    else if (seen[i])
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: acquisition key '%s' is given twice", origin, key);
    else if (!parse_value(&r, &fields[i], value, &nfreq_seen))
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: acquisition key %s = '%s' is malformed", origin, key,
                      value);
    else
      seen[i] = 1;
  }
  free(copy);
  if (st != PSFWI_OK) return st;
  for (size_t i = 0; i < NFIELDS; i++)
    if (!seen[i])
      return psfwi_fail(err, PSFWI_EFORMAT, "%s: acquisition key '%s' is missing", origin,
                        fields[i].key);
  if (r.nfreq < 1 || r.nfreq > PSFWI_LEARN_MAX_FREQ || r.nfreq != nfreq_seen)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s: acquisition key nfreq = %zu does not match the %zu frequencies of "
                      "'freq' (1 to %d)",
                      origin, r.nfreq, nfreq_seen, PSFWI_LEARN_MAX_FREQ);
  *a = r;
  return PSFWI_OK;
}
