/* INI configuration validated against a schema (inih does the parsing). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "psfwi_config.h"

struct psfwi_config {
  const psfwi_config_key *schema;
  size_t nkeys;
  char **value;  /* nkeys texts, NULL when unset */
  char **origin; /* where each value came from: "FILE:LINE", "--set", "default" */
  char *path;    /* the file loaded last (NULL: none) */
};

psfwi_config *psfwi_config_create(const psfwi_config_key *schema, size_t nkeys, psfwi_error *err) {
  psfwi_config *c = calloc(1, sizeof *c);
  if (c == NULL) goto nomem;
  c->schema = schema;
  c->nkeys = nkeys;
  c->value = calloc(nkeys, sizeof *c->value);
  c->origin = calloc(nkeys, sizeof *c->origin);
  if (c->value == NULL || c->origin == NULL) goto nomem;
  for (size_t i = 0; i < nkeys; i++)
    if (schema[i].def != NULL &&
        psfwi_config_put(c, schema[i].section, schema[i].key, schema[i].def, "default", err))
      goto fail;
  return c;
nomem:
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a configuration");
fail:
  psfwi_config_destroy(c);
  return NULL;
}

void psfwi_config_destroy(psfwi_config *c) {
  if (c == NULL) return;
  for (size_t i = 0; c->value && i < c->nkeys; i++) free(c->value[i]);
  for (size_t i = 0; c->origin && i < c->nkeys; i++) free(c->origin[i]);
  free(c->value);
  free(c->origin);
  free(c->path);
  free(c);
}

static long find_key(const psfwi_config *c, const char *section, const char *key) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (strcmp(c->schema[i].section, section) == 0 && strcmp(c->schema[i].key, key) == 0)
      return (long)i;
  return -1;
}

static int section_known(const psfwi_config *c, const char *section) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (strcmp(c->schema[i].section, section) == 0) return 1;
  return 0;
}

/* "a, b, c": the distinct sections, or the keys of one section. */
static void list_names(const psfwi_config *c, const char *section, char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; i < c->nkeys; i++) {
    const char *name = section ? c->schema[i].key : c->schema[i].section;
    if (section && strcmp(c->schema[i].section, section) != 0) continue;
    int seen = 0;
    for (size_t j = 0; j < i && !section; j++) seen |= strcmp(c->schema[j].section, name) == 0;
    if (seen) continue;
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
  }
}

static int bool_word(const char *v, int *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off",
                                                                              "0"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) return *out = 1, 1;
    if (strcasecmp(v, no[i]) == 0) return *out = 0, 1;
  }
  return 0;
}

static int choice_ok(const char *choices, const char *v) {
  const size_t n = strlen(v);
  const char *p = choices;
  while (p && *p) {
    const char *bar = strchr(p, '|');
    const size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, v, n) == 0) return 1;
    p = bar ? bar + 1 : NULL;
  }
  return 0;
}

/* Check one value against its schema entry; message without location. */
static int check_value(const psfwi_config_key *k, const char *v, psfwi_error *err) {
  char *end;
  switch (k->type) {
    case PSFWI_CFG_STRING:
    case PSFWI_CFG_PATH:
    case PSFWI_CFG_PATHS:
      if (v[0] == '\0') return psfwi_fail(err, PSFWI_EINVAL, "expected a non-empty value");
      return PSFWI_OK;
    case PSFWI_CFG_INT: {
      errno = 0;
      const long x = strtol(v, &end, 10);
      if (errno || end == v || *end != '\0')
        return psfwi_fail(err, PSFWI_EINVAL, "expected an integer in [%.15g, %.15g]", k->min,
                          k->max);
      if ((double)x < k->min || (double)x > k->max)
        return psfwi_fail(err, PSFWI_ERANGE, "'%s' is out of range; allowed [%.15g, %.15g]", v,
                          k->min, k->max);
      return PSFWI_OK;
    }
    case PSFWI_CFG_DOUBLE: {
      errno = 0;
      const double x = strtod(v, &end);
      if (errno || end == v || *end != '\0' || !isfinite(x))
        return psfwi_fail(err, PSFWI_EINVAL, "expected a finite number in [%g, %g]", k->min,
                          k->max);
      if (x < k->min || x > k->max)
        return psfwi_fail(err, PSFWI_ERANGE, "'%s' is out of range; allowed [%g, %g]", v, k->min,
                          k->max);
      return PSFWI_OK;
    }
    case PSFWI_CFG_BOOL: {
      int b;
      if (!bool_word(v, &b))
        return psfwi_fail(err, PSFWI_EINVAL, "expected true or false (yes/no, on/off, 1/0)");
      return PSFWI_OK;
    }
    case PSFWI_CFG_CHOICE:
      if (!choice_ok(k->choices, v))
        return psfwi_fail(err, PSFWI_EINVAL, "expected one of %s", k->choices);
      return PSFWI_OK;
    case PSFWI_CFG_RANGE: {
      double a, b;
      size_t n;
      return psfwi_parse_range(v, &a, &b, &n, err);
    }
  }
  return psfwi_fail(err, PSFWI_EINTERNAL, "unknown key type");
}

static char *dup_str(const char *s) {
  const size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int psfwi_config_put(psfwi_config *c, const char *section, const char *key, const char *value,
                     const char *origin, psfwi_error *err) {
  char known[1024];
  if (!section_known(c, section)) {
    list_names(c, NULL, known, sizeof known);
    return psfwi_fail(err, PSFWI_EKEY, "%s: unknown section [%s]; known sections: %s", origin,
                      section, known);
  }
  const long i = find_key(c, section, key);
  if (i < 0) {
    list_names(c, section, known, sizeof known);
    return psfwi_fail(err, PSFWI_EKEY, "%s: unknown key '%s' in [%s]; allowed keys: %s", origin,
                      key, section, known);
  }
  const psfwi_config_key *k = &c->schema[i];
  if (check_value(k, value, err) != PSFWI_OK)
    return psfwi_error_prefix(err, "%s: [%s] %s = '%s'", origin, section, key, value);
  char *v = dup_str(value), *o = dup_str(origin);
  if (v == NULL || o == NULL) {
    free(v);
    free(o);
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  }
  free(c->value[i]);
  free(c->origin[i]);
  c->value[i] = v;
  c->origin[i] = o;
  return PSFWI_OK;
}

/* ---- Loading a file: a line-counting reader around fgets ------------------
 * inih reads lines of at most INI_MAX_LINE - 1 characters (a longer one
 * would come back as two lines) and takes an indented line as the
 * continuation of the key above it. Both are refused here with their line
 * number, as is a key given twice in the same file. */
struct load_ctx {
  psfwi_config *c;
  FILE *f;
  const char *path;
  char dir[4096]; /* folder of the file, for relative paths ("" = none) */
  int line;
  int indented;  /* the line just read starts with blank space */
  int too_long;  /* line number of a line inih cannot take whole (0: none) */
  int *key_line; /* per schema key: line of this file that set it (0: not set) */
  psfwi_error *err;
  int failed;
};

static char *reader(char *str, int num, void *stream) {
  struct load_ctx *ctx = stream;
  if (ctx->too_long) return NULL;
  char *r = fgets(str, num, ctx->f);
  if (r == NULL) return NULL;
  ctx->line++;
  const size_t n = strlen(r);
  if (n > 0 && r[n - 1] != '\n' && !feof(ctx->f)) {
    ctx->too_long = ctx->line;
    return NULL;
  }
  ctx->indented = (r[0] == ' ' || r[0] == '\t');
  return r;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  struct load_ctx *ctx = user;
  if (ctx->failed) return 1;
  char origin[4200], resolved[8400];
  snprintf(origin, sizeof origin, "%s:%d", ctx->path, ctx->line);
  if (ctx->indented) {
    ctx->failed = 1;
    psfwi_fail(ctx->err, PSFWI_EFORMAT,
               "%s: indented line; write one 'key = value' per line starting in the first "
               "column (an indented line would continue the value of '%s' in [%s])",
               origin, name, section);
    return 0;
  }
  const long i = find_key(ctx->c, section, name);
  if (i >= 0 && ctx->key_line[i] != 0) {
    ctx->failed = 1;
    psfwi_fail(ctx->err, PSFWI_EKEY, "%s: [%s] %s is given twice (lines %d and %d); keep one",
               origin, section, name, ctx->key_line[i], ctx->line);
    return 0;
  }
  if (i >= 0 && ctx->c->schema[i].type == PSFWI_CFG_PATH && value[0] != '\0' && value[0] != '/' &&
      ctx->dir[0]) {
    snprintf(resolved, sizeof resolved, "%s/%s", ctx->dir, value);
    value = resolved;
  } else if (i >= 0 && ctx->c->schema[i].type == PSFWI_CFG_PATHS && ctx->dir[0]) {
    /* each element of the comma list on its own */
    size_t n = 0;
    resolved[0] = '\0';
    for (const char *p = value; *p && n < sizeof resolved;) {
      while (*p == ' ') p++;
      const char *e = strchr(p, ',');
      const size_t len = e ? (size_t)(e - p) : strlen(p);
      const int rel = len > 0 && p[0] != '/';
      const int w = snprintf(resolved + n, sizeof resolved - n, "%s%s%s%.*s", n ? "," : "",
                             rel ? ctx->dir : "", rel ? "/" : "", (int)len, p);
      if (w < 0) break;
      n += (size_t)w;
      p += len;
      if (*p == ',') p++;
    }
    if (n >= sizeof resolved) {
      ctx->failed = 1;
      psfwi_fail(ctx->err, PSFWI_EINVAL, "%s: [%s] %s: the list of paths is too long", origin,
                 section, name);
      return 0;
    }
    value = resolved;
  }
  if (psfwi_config_put(ctx->c, section, name, value, origin, ctx->err) != PSFWI_OK) {
    ctx->failed = 1;
    return 0;
  }
  ctx->key_line[i] = ctx->line;
  return 1;
}

int psfwi_config_load(psfwi_config *c, const char *path, psfwi_error *err) {
  struct load_ctx ctx = {.c = c, .path = path, .err = err};
  ctx.key_line = calloc(c->nkeys + 1, sizeof *ctx.key_line);
  if (ctx.key_line == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  ctx.f = fopen(path, "r");
  if (ctx.f == NULL) {
    free(ctx.key_line);
    return psfwi_fail(err, PSFWI_EIO, "cannot open config '%s': %s", path, strerror(errno));
  }
  const char *slash = strrchr(path, '/');
  if (slash != NULL) {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof ctx.dir) n = sizeof ctx.dir - 1;
    memcpy(ctx.dir, path, n);
    ctx.dir[n] = '\0';
    if (n == 0) strcpy(ctx.dir, "/");
  }
  const int r = ini_parse_stream(reader, &ctx, handler, &ctx);
  fclose(ctx.f);
  free(ctx.key_line);
  if (ctx.failed) return err ? err->status : PSFWI_EINVAL;
  if (ctx.too_long)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s:%d: line longer than %d characters; shorten it (a relative path, "
                      "say, or --set section.key=value)",
                      path, ctx.too_long, INI_MAX_LINE - 2);
  if (r != 0)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s:%d: syntax error; expected '[section]', 'key = value' or a ; comment",
                      path, r);
  free(c->path);
  c->path = dup_str(path);
  return PSFWI_OK;
}

int psfwi_config_set(psfwi_config *c, const char *assignment, psfwi_error *err) {
  char buf[1024];
  if (strlen(assignment) >= sizeof buf)
    return psfwi_fail(err, PSFWI_EINVAL, "--set: assignment too long");
  strcpy(buf, assignment);
  char *eq = strchr(buf, '=');
  char *dot = strchr(buf, '.');
  if (eq == NULL || dot == NULL || dot > eq || dot == buf || dot + 1 == eq)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "--set '%s': expected section.key=value, e.g. time.duration=2.0", assignment);
  *dot = '\0';
  *eq = '\0';
  return psfwi_config_put(c, buf, dot + 1, eq + 1, "--set", err);
}

static const char *get(const psfwi_config *c, const char *section, const char *key,
                       psfwi_config_type *type) {
  const long i = find_key(c, section, key);
  if (i < 0) {
    fprintf(stderr, "psfwi: internal error: config key [%s] %s is not in the schema\n", section,
            key);
    return NULL;
  }
  if (type) *type = c->schema[i].type;
  return c->value[i];
}

const char *psfwi_config_path(const psfwi_config *c) { return c->path; }

int psfwi_config_is_set(const psfwi_config *c, const char *section, const char *key) {
  return get(c, section, key, NULL) != NULL;
}

const char *psfwi_config_string(const psfwi_config *c, const char *section, const char *key) {
  return get(c, section, key, NULL);
}

double psfwi_config_double(const psfwi_config *c, const char *section, const char *key) {
  const char *v = get(c, section, key, NULL);
  return v ? strtod(v, NULL) : NAN;
}

long psfwi_config_int(const psfwi_config *c, const char *section, const char *key) {
  const char *v = get(c, section, key, NULL);
  return v ? strtol(v, NULL, 10) : 0;
}

int psfwi_config_bool(const psfwi_config *c, const char *section, const char *key) {
  const char *v = get(c, section, key, NULL);
  int b = 0;
  if (v) bool_word(v, &b);
  return b;
}

const char *psfwi_config_require(const psfwi_config *c, const char *section, const char *key,
                                 psfwi_error *err) {
  const char *v = get(c, section, key, NULL);
  if (v == NULL) {
    const long i = find_key(c, section, key);
    psfwi_fail(err, PSFWI_EKEY, "missing required key '%s' in [%s] (%s)", key, section,
               i >= 0 && c->schema[i].help ? c->schema[i].help : "");
  }
  return v;
}

void psfwi_config_dump(const psfwi_config *c, void *outp, int show_help) {
  FILE *out = outp;
  const char *last = "";
  for (size_t i = 0; i < c->nkeys; i++) {
    const psfwi_config_key *k = &c->schema[i];
    if (!show_help && c->value[i] == NULL) continue;
    if (strcmp(k->section, last) != 0) {
      fprintf(out, "%s[%s]\n", last[0] ? "\n" : "", k->section);
      last = k->section;
    }
    if (show_help) {
      fprintf(out, "; %s", k->help ? k->help : "");
      if (k->type == PSFWI_CFG_CHOICE) fprintf(out, " (%s)", k->choices);
      if (k->type == PSFWI_CFG_INT || k->type == PSFWI_CFG_DOUBLE)
        fprintf(out, " [%g, %g]", k->min, k->max);
      fprintf(out, "\n%s%s = %s\n", c->value[i] ? "" : ";", k->key, c->value[i] ? c->value[i] : "");
    } else {
      fprintf(out, "%s = %s\n", k->key, c->value[i]);
    }
  }
}

int psfwi_config_given(const psfwi_config *c, const char *section, const char *key) {
  const long i = find_key(c, section, key);
  return i >= 0 && c->value[i] != NULL && c->origin[i] != NULL &&
         strcmp(c->origin[i], "default") != 0;
}

/* ---- Defaults from INI text (e.g. the configuration stored in a file) ---- */
struct text_ctx {
  psfwi_config *c;
  const char *section, *origin;
  psfwi_error *err;
  int failed;
};

static int text_handler(void *user, const char *section, const char *name, const char *value) {
  struct text_ctx *ctx = user;
  if (ctx->failed || strcmp(section, ctx->section) != 0) return 1;
  if (find_key(ctx->c, section, name) < 0 || psfwi_config_given(ctx->c, section, name)) return 1;
  if (psfwi_config_put(ctx->c, section, name, value, ctx->origin, ctx->err) != PSFWI_OK) {
    ctx->failed = 1;
    return 0;
  }
  return 1;
}

int psfwi_config_defaults_from_text(psfwi_config *c, const char *text, const char *section,
                                    const char *origin, psfwi_error *err) {
  struct text_ctx ctx = {.c = c, .section = section, .origin = origin, .err = err};
  const int r = ini_parse_string(text, text_handler, &ctx);
  if (ctx.failed) return err ? err->status : PSFWI_EINVAL;
  if (r != 0)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s: line %d of the stored configuration is not INI",
                      origin, r);
  return PSFWI_OK;
}
