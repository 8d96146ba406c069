/* Resource limits: how much memory a run may take, checked before the large
 * allocations (shot gathers, wavefield storage, histories) so that a run
 * that cannot fit says what it would need instead of thrashing or dying. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "psfwi_core.h"

/* Where the limit comes from, for the message. */
static double limit_and_source(const char **source) {
  double lim = 0.0;
  *source = "physical memory";
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) lim = (double)pages * (double)page;
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (lim == 0.0 || (double)rl.rlim_cur < lim)) {
    lim = (double)rl.rlim_cur;
    *source = "address-space limit (ulimit -v)";
  }
  const char *env = getenv("PSFWI_MEM_LIMIT_MB");
  if (env != NULL && env[0] != '\0') {
    char *end;
    errno = 0;
    const double mb = strtod(env, &end);
    if (errno == 0 && *end == '\0' && mb > 0.0 && isfinite(mb) &&
        (lim == 0.0 || mb * 1048576.0 < lim)) {
      lim = mb * 1048576.0;
      *source = "PSFWI_MEM_LIMIT_MB";
    }
  }
  return lim;
}

double psfwi_mem_limit(void) {
  const char *source;
  return limit_and_source(&source);
}

const char *psfwi_bytes_text(double bytes, char *buf, size_t len) {
  if (bytes >= 1073741824.0)
    snprintf(buf, len, "%.1f GiB", bytes / 1073741824.0);
  else if (bytes >= 1048576.0)
    snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
  else
    snprintf(buf, len, "%.0f KiB", ceil(bytes / 1024.0));
  return buf;
}

int psfwi_mem_check(double bytes, const char *what, const char *detail, psfwi_error *err) {
  const char *source;
  const double lim = limit_and_source(&source);
  if (lim <= 0.0 || bytes <= lim) return PSFWI_OK;
  char need[32], have[32];
  return psfwi_fail(err, PSFWI_ENOMEM, "%s would need %s of memory%s%s%s; the limit is %s (%s)",
                    what, psfwi_bytes_text(bytes, need, sizeof need), detail ? " (" : "",
                    detail ? detail : "", detail ? ")" : "",
                    psfwi_bytes_text(lim, have, sizeof have), source);
}
