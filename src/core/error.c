#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "psfwi_core.h"

const char *psfwi_strerror(int status) {
  switch (status) {
#define PSFWI_X_CASE(name, value, text) \
  case value: return text;
    PSFWI_STATUS_LIST(PSFWI_X_CASE)
#undef PSFWI_X_CASE
    default: return "unknown status";
  }
}

int psfwi_fail(psfwi_error *err, int status, const char *fmt, ...) {
  if (err != NULL) {
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return status;
}

int psfwi_error_prefix(psfwi_error *err, const char *fmt, ...) {
  if (err == NULL) return PSFWI_EINTERNAL;
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char old[sizeof err->msg];
  memcpy(old, err->msg, sizeof old);
  /* Truncation of an over-long message is acceptable; build it by hand. */
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  err->msg[n] = ':';
  err->msg[n + 1] = ' ';
  size_t rest = sizeof err->msg - (n + 2) - 1, m = strlen(old);
  if (m > rest) m = rest;
  memcpy(err->msg + n + 2, old, m);
  err->msg[n + 2 + m] = '\0';
  return err->status;
}

void psfwi_error_clear(psfwi_error *err) {
  if (err != NULL) {
    err->status = PSFWI_OK;
    err->msg[0] = '\0';
  }
}

unsigned long long psfwi_fnv1a(const void *data, size_t len) {
  const unsigned char *p = data;
  unsigned long long h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void psfwi_first_error_init(psfwi_first_error *fe) {
  fe->err.status = PSFWI_OK;
  fe->err.msg[0] = '\0';
  fe->failed = 0;
}

void psfwi_first_error_record(psfwi_first_error *fe, const psfwi_error *e) {
#pragma omp critical(psfwi_first_error)
  {
    if (fe->err.status == PSFWI_OK) fe->err = *e;
#pragma omp atomic write
    fe->failed = 1;
  }
}

int psfwi_first_error_failed(const psfwi_first_error *fe) {
  int f;
#pragma omp atomic read
  f = fe->failed;
  return f;
}

unsigned long long psfwi_mix64(unsigned long long z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

unsigned long long psfwi_splitmix64(unsigned long long *state) {
  *state += 0x9E3779B97F4A7C15ULL;
  return psfwi_mix64(*state);
}

double psfwi_normal_draw(unsigned long long *state) {
  const double u1 = ((double)(psfwi_splitmix64(state) >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = (double)(psfwi_splitmix64(state) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
