/* Time series from a text file: one value per line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"

int psfwi_text_read_series(const char *path, float **values, size_t *n, psfwi_error *err) {
  *values = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (f == NULL) return psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 1024, count = 0;
  float *v = malloc(cap * sizeof *v);
  char line[512];
  int lineno = 0, st = PSFWI_OK;
  if (v == NULL) st = psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  while (st == PSFWI_OK && fgets(line, sizeof line, f) != NULL) {
    lineno++;
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0') continue;
    char *end;
    errno = 0;
    const double x = strtod(p, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (end == p || *end != '\0' || errno != 0) {
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s:%d: expected one number per line", path, lineno);
      break;
    }
    if (!isfinite(x) || fabs(x) > 3.4e38) {
      st = psfwi_fail(err, PSFWI_ENONFINITE, "%s:%d: value is not a finite float", path, lineno);
      break;
    }
    if (count == cap) {
      float *bigger = realloc(v, 2 * cap * sizeof *v);
      if (bigger == NULL) {
        st = psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
        break;
      }
      v = bigger;
      cap *= 2;
    }
    v[count++] = (float)x;
  }
  fclose(f);
  if (st == PSFWI_OK && count == 0)
    st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': no samples; expected one number per line", path);
  if (st != PSFWI_OK) {
    free(v);
    return st;
  }
  *values = v;
  *n = count;
  return PSFWI_OK;
}

int psfwi_text_read_file(const char *path, size_t max_bytes, char **text, psfwi_error *err) {
  *text = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  int st = buf ? PSFWI_OK : psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  while (st == PSFWI_OK) {
    if (len == cap) {
      if (cap >= max_bytes) {
        st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': larger than %zu bytes", path, max_bytes);
        break;
      }
      cap = 2 * cap > max_bytes ? max_bytes : 2 * cap;
      char *b = realloc(buf, cap + 1);
      if (b == NULL) {
        st = psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
        break;
      }
      buf = b;
    }
    const size_t got = fread(buf + len, 1, cap - len, f);
    if (got == 0) {
      if (ferror(f)) st = psfwi_fail(err, PSFWI_EIO, "cannot read '%s'", path);
      break;
    }
    len += got;
  }
  fclose(f);
  if (st == PSFWI_OK && memchr(buf, '\0', len) != NULL)
    st = psfwi_fail(err, PSFWI_EFORMAT, "'%s': a NUL byte; expected a text file", path);
  if (st != PSFWI_OK) {
    free(buf);
    return st;
  }
  buf[len] = '\0';
  *text = buf;
  return PSFWI_OK;
}

int psfwi_text_write_series(const char *path, const float *values, size_t n, const char *comment,
                            psfwi_error *err) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(values[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "'%s': sample %zu to write is not finite", path, i);
  if (psfwi_make_parent_folders(path, err) != PSFWI_OK) return err->status;
  char tmp[4096];
  if (psfwi_tmp_path(path, tmp, sizeof tmp) == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': path too long", path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) return psfwi_fail(err, PSFWI_EIO, "cannot create '%s': %s", tmp, strerror(errno));
  int bad = 0;
  if (comment != NULL) { /* every line of it as a '#' line */
    const char *p = comment;
    while (*p) {
      const char *e = strchr(p, '\n');
      const size_t len = e ? (size_t)(e - p) : strlen(p);
      bad |= fprintf(f, "# %.*s\n", (int)len, p) < 0;
      p += len + (e != NULL);
    }
  }
  for (size_t i = 0; i < n; i++) bad |= fprintf(f, "%.9g\n", (double)values[i]) < 0;
  const int e1 = ferror(f) || bad ? errno : 0;
  if (fclose(f) != 0 || e1 != 0 || bad) {
    const int e = e1 ? e1 : errno;
    remove(tmp);
    return psfwi_fail(err, PSFWI_EIO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
  }
  return psfwi_commit_file(tmp, path, err);
}
