/* Survey geometry from CSV: one receiver per line,
 *   shot,source_x,source_z,receiver_x,receiver_z      (metres, z down)
 * with an optional header line (the first line that is not a comment, if
 * its first field is not a number), '#' comments (whole lines or the rest
 * of a line) and blank lines. Shots are numbered 0, 1, 2, ... in order, the
 * lines of a shot are contiguous and repeat the same source position, and
 * every shot has the same number of receivers. Errors name FILE:LINE. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "psfwi_io.h"

typedef struct row {
  size_t shot;
  double sx, sz, rx, rz;
} row;

/* Parse one field (a finite number) ending at ',' or the end of the line. */
static int field(char **p, double *out) {
  char *s = *p, *end;
  while (*s == ' ' || *s == '\t') s++;
  errno = 0;
  *out = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(*out)) return -1;
  while (*end == ' ' || *end == '\t') end++;
  *p = end;
  return 0;
}

psfwi_survey *psfwi_csv_read_survey(const char *path, psfwi_error *err) {
  static const char *names[5] = {"shot", "source_x", "source_z", "receiver_x", "receiver_z"};
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  char *line = NULL;
  size_t cap = 0, lineno = 0, nrows = 0, rows_cap = 0;
  row *rows = NULL;
  psfwi_survey *s = NULL;
  int seen_data = 0, status = PSFWI_OK;
  size_t nrec = 0, count = 0, shot_line = 0; /* receivers of the current shot */
  ssize_t len;
  errno = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if ((size_t)len != strlen(line)) {
      status = psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: line holds a NUL byte (not a text file?)",
                          path, lineno);
      goto done;
    }
    char *hash = strchr(line, '#');
    if (hash != NULL) *hash = '\0';
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p == '\0') continue;
    double v[5];
    int k;
    for (k = 0; k < 5; k++) {
      if (k > 0) {
        if (*p != ',') break;
        p++;
      }
      if (field(&p, &v[k]) != 0) break;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (k == 0 && !seen_data) { /* a header line: its first field is not a number */
      seen_data = 1;
      continue;
    }
    seen_data = 1;
    if (k < 5) {
      status = psfwi_fail(err, PSFWI_EFORMAT,
                          "%s:%zu: field %d (%s) is missing or not a finite number; expected "
                          "shot,source_x,source_z,receiver_x,receiver_z in metres",
                          path, lineno, k + 1, names[k]);
      goto done;
    }
    if (*p != '\0') {
      status = psfwi_fail(err, PSFWI_EFORMAT,
                          "%s:%zu: unexpected text after 5 fields: '%.40s'; expected "
                          "shot,source_x,source_z,receiver_x,receiver_z",
                          path, lineno, p);
      goto done;
    }
    if (v[0] < 0.0 || v[0] != floor(v[0]) || v[0] > 1e9) {
      status =
          psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: shot number %g is not a non-negative integer",
                     path, lineno, v[0]);
      goto done;
    }
    const size_t shot = (size_t)v[0];
    if (nrows == 0 && shot != 0) {
      status =
          psfwi_fail(err, PSFWI_EFORMAT, "%s:%zu: the first shot is %zu; shots are numbered from 0",
                     path, lineno, shot);
      goto done;
    }
    if (nrows > 0 && shot != rows[nrows - 1].shot && shot != rows[nrows - 1].shot + 1) {
      status = psfwi_fail(err, PSFWI_EFORMAT,
                          "%s:%zu: shot %zu follows shot %zu; shots must be numbered 0, 1, 2, ... "
                          "with the lines of each shot together",
                          path, lineno, shot, rows[nrows - 1].shot);
      goto done;
    }
    if (nrows > 0 && shot == rows[nrows - 1].shot) {
      const row *r = &rows[nrows - 1];
      if (v[1] != r->sx || v[2] != r->sz) {
        status = psfwi_fail(err, PSFWI_EFORMAT,
                            "%s:%zu: shot %zu's source is at (%g, %g) m here but at (%g, %g) m "
                            "on line %zu",
                            path, lineno, shot, v[1], v[2], r->sx, r->sz, shot_line);
        goto done;
      }
      count++;
    } else {
      if (nrows > 0) { /* a shot ended: compare its receiver count */
        if (shot == 1)
          nrec = count;
        else if (count != nrec) {
          status = psfwi_fail(err, PSFWI_EFORMAT,
                              "%s:%zu: shot %zu has %zu receivers but shot 0 has %zu; every shot "
                              "needs the same number",
                              path, shot_line, rows[nrows - 1].shot, count, nrec);
          goto done;
        }
      }
      count = 1;
      shot_line = lineno;
    }
    if (nrows == rows_cap) {
      const size_t nc = rows_cap ? 2 * rows_cap : 256;
      row *nr = realloc(rows, nc * sizeof *nr);
      if (nr == NULL) {
        status = psfwi_fail(err, PSFWI_ENOMEM, "%s:%zu: out of memory", path, lineno);
        goto done;
      }
      rows = nr;
      rows_cap = nc;
    }
    rows[nrows++] = (row){shot, v[1], v[2], v[3], v[4]};
    errno = 0;
  }
  if (ferror(f)) {
    status =
        psfwi_fail(err, PSFWI_EIO, "%s:%zu: read error: %s", path, lineno + 1, strerror(errno));
    goto done;
  }
  if (nrows == 0) {
    status = psfwi_fail(err, PSFWI_EFORMAT,
                        "%s: no receiver lines; expected "
                        "shot,source_x,source_z,receiver_x,receiver_z",
                        path);
    goto done;
  }
  const size_t nshot = rows[nrows - 1].shot + 1;
  if (nshot == 1) nrec = count;
  if (count != nrec) {
    status = psfwi_fail(err, PSFWI_EFORMAT,
                        "%s:%zu: shot %zu has %zu receivers but shot 0 has %zu; every shot needs "
                        "the same number",
                        path, shot_line, nshot - 1, count, nrec);
    goto done;
  }
  s = psfwi_survey_create(nshot, nrec, err);
  if (s == NULL) {
    status = err ? err->status : PSFWI_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < nrows; i++) {
    const row *r = &rows[i];
    const size_t ir = i % nrec;
    s->sx[r->shot] = r->sx;
    s->sz[r->shot] = r->sz;
    s->rx[r->shot * nrec + ir] = r->rx;
    s->rz[r->shot * nrec + ir] = r->rz;
  }
done:
  free(line);
  free(rows);
  fclose(f);
  if (status != PSFWI_OK) {
    psfwi_survey_destroy(s);
    return NULL;
  }
  return s;
}
