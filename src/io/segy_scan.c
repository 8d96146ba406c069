/* The geometry of a SEG-Y file of shot gathers, read from its trace headers
 * only (psfwi data info; the survey-data issue), with notes on headers
 * that look wrong. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "segy_internal.h"

void psfwi_segy_scan_free(psfwi_segy_scan *s) {
  if (s == NULL) return;
  free(s->record);
  free(s->offset);
  free(s->sx);
  free(s->sz);
  free(s->rx);
  free(s->rz);
  free(s->notes);
  memset(s, 0, sizeof *s);
}

/* Append a note (at most a few kB of them; counted beyond that). */
static void note(psfwi_segy_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(psfwi_segy_scan *s, const char *fmt, ...) {
  s->nnotes++;
  const size_t used = s->notes ? strlen(s->notes) : 0;
  if (used > 3000) return;
  char line[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  char *n = realloc(s->notes, used + strlen(line) + 2);
  if (n == NULL) return;
  s->notes = n;
  memcpy(n + used, line, strlen(line));
  n[used + strlen(line)] = '\n';
  n[used + strlen(line) + 1] = '\0';
}

int psfwi_segy_scan_file(const char *path, psfwi_segy_scan *s, psfwi_error *err) {
  memset(s, 0, sizeof *s);
  psfwi_segy_in in;
  if (psfwi_segy_open_in(path, &in, err) != PSFWI_OK) return err->status;
  const size_t n = (size_t)in.ntr;
  s->ntrace = n;
  s->ns = (size_t)in.ns;
  s->format = in.fmt;
  int32_t v = 0;
  segy_get_bfield(in.bin, SEGY_BIN_INTERVAL, &v);
  int32_t interval = psfwi_segy_u16(v);
  if (interval == 0) {
    segy_get_field(in.th0, SEGY_TR_SAMPLE_INTER, &v);
    interval = psfwi_segy_u16(v);
    if (interval != 0)
      note(s, "no sample interval in the binary header: %d us from trace 0", interval);
  }
  s->dt = interval / 1e6;
  s->record = malloc(n * sizeof *s->record);
  s->offset = malloc(n * sizeof *s->offset);
  s->sx = malloc(n * sizeof *s->sx);
  s->sz = malloc(n * sizeof *s->sz);
  s->rx = malloc(n * sizeof *s->rx);
  s->rz = malloc(n * sizeof *s->rz);
  int st = PSFWI_OK;
  if (!s->record || !s->offset || !s->sx || !s->sz || !s->rx || !s->rz)
    st =
        psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for the headers of %zu traces", path, n);
  char th[SEGY_TRACE_HEADER_SIZE];
  size_t zero_scalar = 0, bad_offset = 0, count_diff = 0, inter_diff = 0;
  for (size_t k = 0; k < n && st == PSFWI_OK; k++) {
    int rc = segy_traceheader(in.fp, (int)k, th, in.trace0, in.bsize);
    if (rc != SEGY_OK) {
      st = psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the header of trace %zu: %s", path, k,
                      psfwi_segy_text(rc));
      break;
    }
    const psfwi_segy_words w = psfwi_segy_read_words(th);
    const int32_t fr = w.record, off = w.offset, count = w.count, inter = w.interval,
                  cs = w.coord_scalar, es = w.elev_scalar, sx = w.sx, gx = w.gx, sd = w.sdepth,
                  ge = w.gelev;
    if (psfwi_segy_scalar_check(path, (int)k, 71, cs, err) != PSFWI_OK ||
        psfwi_segy_scalar_check(path, (int)k, 69, es, err) != PSFWI_OK) {
      st = err->status;
      break;
    }
    zero_scalar += cs == 0;
    count_diff += count != 0 && psfwi_segy_u16(count) != in.ns;
    inter_diff += inter != 0 && psfwi_segy_u16(inter) != interval;
    s->record[k] = fr;
    s->offset[k] = off;
    s->sx[k] = psfwi_segy_scaled(sx, cs);
    s->rx[k] = psfwi_segy_scaled(gx, cs);
    s->sz[k] = psfwi_segy_scaled(sd, es);
    s->rz[k] = 0.0 - psfwi_segy_scaled(ge, es);
    if (off != 0 && fabs(fabs((double)off) - fabs(s->rx[k] - s->sx[k])) > 1.0) {
      if (bad_offset < 3)
        note(s, "trace %zu: offset %d m (byte 37) but |GroupX - SourceX| = %.3f m", k, (int)off,
             fabs(s->rx[k] - s->sx[k]));
      bad_offset++;
    }
  }
  segy_close(in.fp);
  if (st != PSFWI_OK) {
    psfwi_segy_scan_free(s);
    return st;
  }
  if (s->dt <= 0)
    note(s, "no sample interval (binary byte 3217, trace byte 117): psfwi cannot use the file");
  if (zero_scalar > 0)
    note(s, "%zu trace(s) with coordinate scalar 0 (byte 71): read as 1 (coordinates in m)",
         zero_scalar);
  if (bad_offset > 3) note(s, "... %zu traces in all with such an offset", bad_offset);
  if (count_diff > 0)
    note(s, "%zu trace(s) whose sample count (byte 115) differs from the file's %zu", count_diff,
         s->ns);
  if (inter_diff > 0)
    note(s, "%zu trace(s) whose sample interval (byte 117) differs from the file's", inter_diff);
  return PSFWI_OK;
}
