#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

const char *cli_history = "";

int cli_error(const psfwi_error *err) {
  fprintf(stderr, "psfwi: error: %s\n", err->msg[0] ? err->msg : psfwi_strerror(err->status));
  return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "psfwi %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'psfwi %s -h')\n", cmd);
  return 2;
}

int cli_double(const char *opt, const char *text, double min, double max, double *out,
               psfwi_error *err) {
  char *end;
  errno = 0;
  const double v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !isfinite(v))
    return psfwi_fail(err, PSFWI_EINVAL, "option %s: '%s' is not a number", opt, text);
  if (v < min || v > max)
    return psfwi_fail(err, PSFWI_ERANGE, "option %s: '%s' is out of range; allowed [%g, %g]", opt,
                      text, min, max);
  *out = v;
  return PSFWI_OK;
}

int cli_band(const char *what, const char *text, double *lo, double *hi, psfwi_error *err) {
  char *end = NULL;
  const double l = strtod(text, &end);
  double h = NAN;
  if (end != text && *end == ':') {
    const char *t = end + 1;
    h = strtod(t, &end);
    if (end == t || *end != '\0') h = NAN;
  }
  if (!(l >= 0) || !(h >= 0) || !isfinite(l) || !isfinite(h) || (l == 0 && h == 0) ||
      (h > 0 && h <= l))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%s '%s': expected LOW:HIGH in Hz, LOW < HIGH, 0 for no corner (e.g. 3:12, "
                      "0:12, 3:0)",
                      what, text);
  *lo = l;
  *hi = h;
  return PSFWI_OK;
}

int cli_size(const char *opt, const char *text, size_t min, size_t max, size_t *out,
             psfwi_error *err) {
  char *end;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0')
    return psfwi_fail(err, PSFWI_EINVAL, "option %s: '%s' is not an integer", opt, text);
  if (v < (long long)min || (unsigned long long)v > max)
    return psfwi_fail(err, PSFWI_ERANGE, "option %s: '%s' is out of range; allowed [%zu, %zu]", opt,
                      text, min, max);
  *out = (size_t)v;
  return PSFWI_OK;
}

void cli_progress_start(cli_progress *p, const char *label, size_t total) {
  p->label = label;
  p->total = total ? total : 1;
  p->t0 = psfwi_seconds();
  p->t_last = p->t0;
  p->last_decile = -1;
}

void cli_progress_update(cli_progress *p, size_t done) {
  const double f = (double)done / (double)p->total;
  const double el = psfwi_seconds() - p->t0;
  const double eta = f > 0.0 ? el * (1.0 - f) / f : 0.0;
  if (isatty(STDERR_FILENO)) {
    char bar[31];
    const int fill = (int)(30.0 * f);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '=' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3.0f%%  %6.1f s, ETA %6.1f s", p->label, bar, 100.0 * f, el, eta);
    fflush(stderr);
  } else {
    const int decile = (int)(10.0 * f);
    if (decile != p->last_decile || el - (p->t_last - p->t0) >= 60.0) {
      p->last_decile = decile;
      p->t_last = p->t0 + el;
      fprintf(stderr, "%s: %3.0f%%  %.1f s elapsed, ETA %.1f s\n", p->label, 100.0 * f, el, eta);
    }
  }
}

void cli_progress_end(cli_progress *p) {
  if (isatty(STDERR_FILENO)) fprintf(stderr, "\n");
  const double el = psfwi_seconds() - p->t0;
  if (el < 1)
    fprintf(stderr, "%s: done in %.3f s\n", p->label, el);
  else if (el < 100)
    fprintf(stderr, "%s: done in %.2f s\n", p->label, el);
  else
    fprintf(stderr, "%s: done in %.0f s\n", p->label, el);
}

psfwi_meta cli_meta(const char *title) {
  psfwi_meta m = {.title = title, .history = cli_history, .config = NULL};
  return m;
}
