/* Private to src/io: what the SEG-Y model (segy.c) and shot-gather
 * (segy_gather.c) readers and writers share. Small helpers are static
 * inline; opening and checking a file's layout lives in segy.c. */
#ifndef PSFWI_SEGY_INTERNAL_H
#define PSFWI_SEGY_INTERNAL_H

#include <segyio/segy.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "psfwi_io.h"

/* Text for segyio's status codes (SEGY_ERROR, numbered from 0). */
static inline const char *psfwi_segy_text(int rc) {
  static const char *const text[] = {
      [SEGY_OK] = "ok",
      [SEGY_FOPEN_ERROR] = "cannot open",
      [SEGY_FSEEK_ERROR] = "seek failed",
      [SEGY_FREAD_ERROR] = "read failed (truncated file?)",
      [SEGY_FWRITE_ERROR] = "write failed",
      [SEGY_INVALID_FIELD] = "invalid header field",
      [SEGY_INVALID_SORTING] = "invalid sorting",
      [SEGY_MISSING_LINE_INDEX] = "missing line index",
      [SEGY_INVALID_OFFSETS] = "invalid offsets",
      [SEGY_TRACE_SIZE_MISMATCH] = "file size does not match whole traces",
      [SEGY_INVALID_ARGS] = "invalid arguments",
      [SEGY_MMAP_ERROR] = "mmap failed",
      [SEGY_MMAP_INVALID] = "invalid mmap",
      [SEGY_READONLY] = "file is read-only",
      [SEGY_NOTFOUND] = "not found",
  };
  const int n = (int)(sizeof text / sizeof text[0]);
  return rc >= 0 && rc < n && text[rc] != NULL ? text[rc] : "segyio error";
}

/* 2-byte header words that SEG-Y defines as counts: segyio 1.8 returns them
 * signed, so 40000 samples read back as -25536. Undo that. */
static inline int32_t psfwi_segy_u16(int32_t v) { return v < 0 ? v + 65536 : v; }

/* The geometry words of a trace header that the gather reader and the scan
 * read: FIELD_RECORD (9), offset (37), sample count (115) and interval
 * (117), coordinate (71) and elevation (69) scalars, SourceX (73), GroupX
 * (81), source depth (49), receiver group elevation (41), as stored. */
typedef struct psfwi_segy_words {
  int32_t record, offset, count, interval, coord_scalar, elev_scalar, sx, gx, sdepth, gelev;
} psfwi_segy_words;
static inline psfwi_segy_words psfwi_segy_read_words(const char *th) {
  psfwi_segy_words w = {0};
  segy_get_field(th, SEGY_TR_FIELD_RECORD, &w.record);
  segy_get_field(th, SEGY_TR_OFFSET, &w.offset);
  segy_get_field(th, SEGY_TR_SAMPLE_COUNT, &w.count);
  segy_get_field(th, SEGY_TR_SAMPLE_INTER, &w.interval);
  segy_get_field(th, SEGY_TR_SOURCE_GROUP_SCALAR, &w.coord_scalar);
  segy_get_field(th, SEGY_TR_ELEV_SCALAR, &w.elev_scalar);
  segy_get_field(th, SEGY_TR_SOURCE_X, &w.sx);
  segy_get_field(th, SEGY_TR_GROUP_X, &w.gx);
  segy_get_field(th, SEGY_TR_SOURCE_DEPTH, &w.sdepth);
  segy_get_field(th, SEGY_TR_RECV_GROUP_ELEV, &w.gelev);
  return w;
}

/* The SEG-Y standard's scalars (coordinate byte 71, elevation byte 69, time
 * byte 215) are 1, 10, 100, ... 10000 to multiply and -10 ... -10000 to
 * divide; 0 means 1. Anything beyond +-10000 (e.g. -32768, which would give
 * coordinates in units of 0.03 mm) is no standard meaning: PSFWI_EFORMAT
 * naming the file, trace (from 0), byte and value. */
static inline int psfwi_segy_scalar_check(const char *path, int trace, int byte, int32_t scalar,
                                          psfwi_error *err) {
  if (scalar >= -10000 && scalar <= 10000) return PSFWI_OK;
  return psfwi_fail(err, PSFWI_EFORMAT,
                    "'%s': trace %d has scalar %d in byte %d; the SEG-Y standard allows 0 (= 1) "
                    "and +-1 to +-10000 (positive: multiply, negative: divide)",
                    path, trace, (int)scalar, byte);
}

/* A writer's failure: remove the temporary tmp and name the real cause (the
 * saved errno, e.g. "No space left on device", when there is one, else
 * segyio's code rc). */
static inline int psfwi_segy_write_failed(const char *path, const char *tmp, int rc, int saved,
                                          psfwi_error *err) {
  remove(tmp);
  return psfwi_fail(err, PSFWI_EIO, "cannot write '%s': %s", path,
                    saved != 0 ? strerror(saved) : psfwi_segy_text(rc));
}

/* Value of a header coordinate with its SEG-Y scalar applied (negative:
 * divide, positive: multiply, 0: as is). */
static inline double psfwi_segy_scaled(double v, int32_t scalar) {
  if (scalar > 0) return v * (double)scalar;
  if (scalar < 0) return v / -(double)scalar;
  return v;
}

/* Fill the 3200-byte textual header t (plus a terminating '\0', so t holds
 * SEGY_TEXT_HEADER_SIZE + 1 bytes) with 40 cards of 80 columns,
 * "C 1 text ...", lines[i] (NULL: blank) cut at 80 columns. segyio converts
 * it to EBCDIC when writing. */
static inline void psfwi_segy_cards(char *t, const char *const lines[40]) {
  char line[128];
  memset(t, ' ', SEGY_TEXT_HEADER_SIZE);
  t[SEGY_TEXT_HEADER_SIZE] = '\0';
  for (int i = 0; i < 40; i++) {
    int n = snprintf(line, sizeof line, "C%2d %s", i + 1, lines[i] ? lines[i] : "");
    if (n > 80) n = 80;
    memcpy(t + 80 * i, line, (size_t)n);
  }
}

/* An open SEG-Y file whose layout has been checked. */
typedef struct psfwi_segy_in {
  segy_file *fp;
  char bin[SEGY_BINARY_HEADER_SIZE]; /* the binary header */
  char th0[SEGY_TRACE_HEADER_SIZE];  /* the first trace header */
  int fmt;                           /* 1 (IBM float) or 5 (IEEE float) */
  long trace0;                       /* byte offset of the first trace */
  int ns;                            /* samples per trace */
  int bsize;                         /* bytes of samples per trace */
  int ntr;                           /* traces, >= 1, filling the file exactly */
} psfwi_segy_in;

/* Open path for reading and check: at least the file headers and one trace
 * header; big-endian format 1 or 5 (little-endian and other formats are
 * PSFWI_EUNSUPPORTED by name); 0..1000 extended textual headers present;
 * the sample count (binary header byte 3221, else the first trace's byte
 * 115); whole traces filling the file. On failure nothing stays open and
 * err names the file. Close with segy_close(in->fp). */
int psfwi_segy_open_in(const char *path, psfwi_segy_in *in, psfwi_error *err);

/* A SEG-Y file being written (the model and gather writers): a hidden
 * temporary beside the output, renamed over it once whole. */
typedef struct psfwi_segy_out {
  char tmp[4096];
  segy_file *fp;
  float *trace; /* ns samples: the caller fills it, psfwi_segy_out_trace writes it */
  size_t ns;
  int rc; /* segyio status: SEGY_OK until a write fails */
} psfwi_segy_out;

/* Create the temporary for path and write the textual header text (see
 * psfwi_segy_cards) and the binary header bin, in which this sets what
 * psfwi's writers share (job, line and reel 1; interval and ns; IEEE
 * floats; metres; revision 1.0; fixed-length traces; no extended headers)
 * over what the caller set. On failure nothing is left behind and err says
 * why; on success finish with psfwi_segy_out_close. */
int psfwi_segy_out_open(psfwi_segy_out *o, const char *path, size_t ns, const char *text, char *bin,
                        int32_t interval, psfwi_error *err);
/* Write o->trace (native floats; converted in place) as trace k (from 0)
 * with header th; nothing once a write has failed. */
void psfwi_segy_out_trace(psfwi_segy_out *o, size_t k, const char *th);
/* Close, then rename over path, or remove the temporary and report the real
 * cause of the first failure (e.g. "No space left on device"). */
int psfwi_segy_out_close(psfwi_segy_out *o, const char *path, psfwi_error *err);

#endif
