/* A bounded, read-only pre-check of NetCDF headers, run before a file is
 * handed to libnetcdf: corrupt classic headers crash libnetcdf itself (its
 * name hash maps), overrun name buffers or make it allocate gigabytes.
 * Walks the CDF-1 / CDF-2 / CDF-5 header (netCDF classic format
 * specification) checking every count, name, type, dimension id and offset
 * against the bytes the file really has; netCDF-4 (HDF5) files pass through
 * to libhdf5's own checks. Also holds the NCX error text, the checked open
 * and the close-once helper of io_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"

/* psfwi never needs a NetCDF-3 header larger than this; it bounds the read. */
#define HEADER_MAX ((size_t)16 << 20)

enum { TAG_DIMENSION = 0x0A, TAG_VARIABLE = 0x0B, TAG_ATTRIBUTE = 0x0C };

/* The header being walked: the first `len` bytes of a file of `fsize`. */
typedef struct hdr {
  const unsigned char *buf;
  size_t len, pos;
  uint64_t fsize;
  int version; /* 1 (classic), 2 (64-bit offset) or 5 (64-bit data) */
  const char *path;
  psfwi_error *err;
} hdr;

/* A name inside the header, for the duplicate check. */
typedef struct name_ref {
  const unsigned char *p;
  size_t n;
} name_ref;

static int bad(hdr *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int bad(hdr *h, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return psfwi_fail(h->err, PSFWI_EFORMAT, "'%s': corrupt NetCDF CDF-%d header: %s", h->path,
                    h->version, what);
}

/* Are n more bytes there? A header past the end of the file is corrupt;
 * one past HEADER_MAX (but inside the file) is refused as too large. */
static int need(hdr *h, uint64_t n, const char *what, size_t index) {
  if (n <= (uint64_t)(h->len - h->pos)) return PSFWI_OK;
  if (n > h->fsize - (uint64_t)h->pos)
    return bad(h, "%s %zu at byte %zu needs %llu bytes; the file ends at byte %llu", what, index,
               h->pos, (unsigned long long)n, (unsigned long long)h->fsize);
  return bad(h, "%s %zu at byte %zu: header larger than the %zu MiB psfwi reads", what, index,
             h->pos, HEADER_MAX >> 20);
}

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* A big-endian field of n bytes (4 or 8). */
static int get(hdr *h, int n, uint64_t *v, const char *what, size_t index) {
  if (need(h, (uint64_t)n, what, index) != PSFWI_OK) return PSFWI_EFORMAT;
  *v = be(h->buf + h->pos, n);
  h->pos += (size_t)n;
  return PSFWI_OK;
}

/* NON_NEG: a 32-bit (CDF-1/2) or 64-bit (CDF-5) count, sign bit clear. */
static int get_count(hdr *h, uint64_t *v, const char *what, size_t index) {
  const int n = h->version == 5 ? 8 : 4;
  if (get(h, n, v, what, index) != PSFWI_OK) return PSFWI_EFORMAT;
  if (*v >> (8 * n - 1))
    return bad(h, "%s %zu at byte %zu is negative (%lld); expected >= 0", what, index,
               h->pos - (size_t)n,
               n == 4 ? (long long)(int32_t)(uint32_t)*v : (long long)(int64_t)*v);
  return PSFWI_OK;
}

/* name = nelems namestring, padded to 4 bytes: 1..NC_MAX_NAME bytes, no NUL. */
static int get_name(hdr *h, name_ref *ref, const char *what, size_t index) {
  uint64_t n;
  const size_t at = h->pos;
  if (get_count(h, &n, what, index) != PSFWI_OK) return PSFWI_EFORMAT;
  if (n < 1 || n > NC_MAX_NAME)
    return bad(h, "%s %zu at byte %zu has a name of %llu bytes; expected 1..%d", what, index, at,
               (unsigned long long)n, NC_MAX_NAME);
  if (need(h, (n + 3) & ~(uint64_t)3, what, index) != PSFWI_OK) return PSFWI_EFORMAT;
  ref->p = h->buf + h->pos;
  ref->n = (size_t)n;
  if (memchr(ref->p, '\0', ref->n) != NULL)
    return bad(h, "%s %zu at byte %zu has a NUL byte inside its name", what, index, at);
  h->pos += (size_t)((n + 3) & ~(uint64_t)3);
  return PSFWI_OK;
}

/* ABSENT (0, 0) or (tag, nelems) with nelems items of at least `min_item`
 * bytes each still fitting in the file. */
static int get_list(hdr *h, uint32_t tag, uint64_t min_item, uint64_t *count, const char *what) {
  uint64_t t;
  const size_t at = h->pos;
  if (get(h, 4, &t, what, 0) != PSFWI_OK || get_count(h, count, what, 0) != PSFWI_OK)
    return PSFWI_EFORMAT;
  if (t == 0 && *count == 0) return PSFWI_OK;
  if (t != tag)
    return bad(h,
               "the %s list at byte %zu has tag 0x%llx and %llu items; expected 0x%x or "
               "ABSENT (0, 0)",
               what, at, (unsigned long long)t, (unsigned long long)*count, (unsigned)tag);
  const uint64_t left = h->fsize - (uint64_t)h->pos;
  if (*count > left / min_item)
    return bad(h,
               "the %s list at byte %zu claims %llu items; the %llu bytes left in the file "
               "hold at most %llu",
               what, at, (unsigned long long)*count, (unsigned long long)left,
               (unsigned long long)(left / min_item));
  return PSFWI_OK;
}

static int cmp_name(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  const size_t n = x->n < y->n ? x->n : y->n;
  const int c = memcmp(x->p, y->p, n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Sorts names in place; refuses two equal ones (libnetcdf's hash maps do
 * not expect them). */
static int unique(hdr *h, name_ref *names, size_t n, const char *what) {
  if (n < 2) return PSFWI_OK;
  qsort(names, n, sizeof *names, cmp_name);
  for (size_t i = 1; i < n; i++)
    if (cmp_name(&names[i - 1], &names[i]) == 0)
      return bad(h, "two %ss are named '%.*s'", what, (int)names[i].n, (const char *)names[i].p);
  return PSFWI_OK;
}

static size_t type_size(uint64_t t) {
  static const size_t size[12] = {0, 1, 1, 2, 4, 4, 8, 1, 2, 4, 8, 8};
  return t < 12 ? size[t] : 0;
}

static int check_type(hdr *h, uint64_t t, const char *what, size_t index) {
  const uint64_t max = h->version == 5 ? 11 : 6;
  if (t < 1 || t > max)
    return bad(h, "%s %zu has type %llu; expected 1..%llu for CDF-%d", what, index,
               (unsigned long long)t, (unsigned long long)max, h->version);
  return PSFWI_OK;
}

/* att_list: names, types and padded values inside the file. */
static int check_atts(hdr *h, const char *what) {
  uint64_t natt;
  if (get_list(h, TAG_ATTRIBUTE, 16, &natt, what) != PSFWI_OK) return PSFWI_EFORMAT;
  if (natt == 0) return PSFWI_OK;
  name_ref *names = malloc((size_t)natt * sizeof *names);
  if (names == NULL) return psfwi_fail(h->err, PSFWI_ENOMEM, "'%s': out of memory", h->path);
  int st = PSFWI_OK;
  for (size_t i = 0; i < natt && st == PSFWI_OK; i++) {
    uint64_t type, n;
    st = get_name(h, &names[i], what, i);
    if (st == PSFWI_OK) st = get(h, 4, &type, what, i);
    if (st == PSFWI_OK) st = check_type(h, type, what, i);
    if (st == PSFWI_OK) st = get_count(h, &n, what, i);
    if (st != PSFWI_OK) break;
    const size_t ts = type_size(type);
    if (n > (h->fsize - (uint64_t)h->pos) / ts) {
      st = bad(h, "%s %zu ('%.*s') claims %llu values of %zu bytes; the file ends at byte %llu",
               what, i, (int)names[i].n, (const char *)names[i].p, (unsigned long long)n, ts,
               (unsigned long long)h->fsize);
      break;
    }
    const uint64_t bytes = (n * ts + 3) & ~(uint64_t)3;
    st = need(h, bytes, what, i);
    if (st == PSFWI_OK) h->pos += (size_t)bytes;
  }
  if (st == PSFWI_OK) st = unique(h, names, (size_t)natt, what);
  free(names);
  return st;
}

typedef struct var_info {
  uint64_t begin, bytes; /* bytes of one record (record variables) or in all */
  int record;
  size_t index;
} var_info;

static int walk(hdr *h) {
  int st = PSFWI_OK;
  uint64_t *dimlen = NULL;
  name_ref *dnames = NULL, *vnames = NULL;
  var_info *vars = NULL;
  uint64_t numrecs, ndims, nvars;
  const int wide = h->version == 5 ? 8 : 4;
  h->pos = 4;
  if (get(h, wide, &numrecs, "numrecs", 0) != PSFWI_OK) return PSFWI_EFORMAT;
  const int streaming = numrecs == (wide == 8 ? UINT64_MAX : UINT32_MAX);
  if (!streaming && numrecs >> (8 * wide - 1)) return bad(h, "numrecs is negative; expected >= 0");

  /* dim_list: each dimension is at least a count, 4 name bytes and a length. */
  if (get_list(h, TAG_DIMENSION, (uint64_t)(2 * wide + 4), &ndims, "dimension") != PSFWI_OK)
    return PSFWI_EFORMAT;
  dimlen = malloc((size_t)(ndims + 1) * sizeof *dimlen);
  dnames = malloc((size_t)(ndims + 1) * sizeof *dnames);
  if (dimlen == NULL || dnames == NULL) goto nomem;
  size_t nrecdim = 0;
  for (size_t i = 0; i < ndims; i++) {
    if ((st = get_name(h, &dnames[i], "dimension", i)) != PSFWI_OK) goto done;
    if ((st = get_count(h, &dimlen[i], "dimension", i)) != PSFWI_OK) goto done;
    if (dimlen[i] == 0 && ++nrecdim > 1) {
      st = bad(h, "dimension %zu ('%.*s') is a second unlimited dimension; CDF-%d allows one", i,
               (int)dnames[i].n, (const char *)dnames[i].p, h->version);
      goto done;
    }
  }
  name_ref *dsorted = malloc((size_t)(ndims + 1) * sizeof *dsorted);
  if (dsorted == NULL) goto nomem;
  if (ndims) memcpy(dsorted, dnames, (size_t)ndims * sizeof *dsorted);
  st = unique(h, dsorted, (size_t)ndims, "dimension");
  free(dsorted);
  if (st != PSFWI_OK) goto done;

  if ((st = check_atts(h, "global attribute")) != PSFWI_OK) goto done;

  /* var_list: name, dimension ids, attributes, type, vsize, begin. */
  if ((st = get_list(h, TAG_VARIABLE, 32, &nvars, "variable")) != PSFWI_OK) goto done;
  vars = malloc((size_t)(nvars + 1) * sizeof *vars);
  vnames = malloc((size_t)(nvars + 1) * sizeof *vnames);
  if (vars == NULL || vnames == NULL) goto nomem;
  for (size_t v = 0; v < nvars; v++) {
    uint64_t nd, type, vsize, begin;
    name_ref *nm = &vnames[v];
    if ((st = get_name(h, nm, "variable", v)) != PSFWI_OK) goto done;
    if ((st = get_count(h, &nd, "variable", v)) != PSFWI_OK) goto done;
    if (nd > NC_MAX_VAR_DIMS || nd > (h->fsize - (uint64_t)h->pos) / (uint64_t)wide) {
      st = bad(h,
               "variable %zu ('%.*s') claims %llu dimensions; expected at most %d that fit in "
               "the file",
               v, (int)nm->n, (const char *)nm->p, (unsigned long long)nd, NC_MAX_VAR_DIMS);
      goto done;
    }
    var_info *vi = &vars[v];
    vi->index = v;
    vi->record = 0;
    uint64_t elems = 1;
    int overflow = 0;
    for (size_t k = 0; k < nd; k++) {
      uint64_t id;
      if ((st = get_count(h, &id, "dimension id of variable", v)) != PSFWI_OK) goto done;
      if (id >= ndims) {
        st = bad(h,
                 "variable %zu ('%.*s') dimension %zu has id %llu; expected < %llu (the "
                 "number of dimensions)",
                 v, (int)nm->n, (const char *)nm->p, k, (unsigned long long)id,
                 (unsigned long long)ndims);
        goto done;
      }
      if (dimlen[id] == 0) {
        if (k != 0) {
          st = bad(h,
                   "variable %zu ('%.*s') uses the unlimited dimension '%.*s' as its dimension "
                   "%zu; it must be the first",
                   v, (int)nm->n, (const char *)nm->p, (int)dnames[id].n,
                   (const char *)dnames[id].p, k);
          goto done;
        }
        vi->record = 1;
      } else if (elems > UINT64_MAX / dimlen[id]) {
        overflow = 1;
      } else {
        elems *= dimlen[id];
      }
    }
    char owner[64];
    snprintf(owner, sizeof owner, "attribute of variable %zu:", v);
    if ((st = check_atts(h, owner)) != PSFWI_OK) goto done;
    if ((st = get(h, 4, &type, "type of variable", v)) != PSFWI_OK) goto done;
    if ((st = check_type(h, type, "variable", v)) != PSFWI_OK) goto done;
    if ((st = get(h, wide, &vsize, "vsize of variable", v)) != PSFWI_OK) goto done;
    if ((st = get(h, h->version == 1 ? 4 : 8, &begin, "begin of variable", v)) != PSFWI_OK)
      goto done;
    if (overflow || elems > UINT64_MAX / type_size(type)) {
      st = bad(h, "variable %zu ('%.*s'): the product of its dimension lengths overflows", v,
               (int)nm->n, (const char *)nm->p);
      goto done;
    }
    (void)vsize; /* unreliable for large variables; the size is recomputed */
    vi->bytes = elems * type_size(type);
    vi->begin = begin;
  }
  {
    name_ref *vsorted = malloc((size_t)(nvars + 1) * sizeof *vsorted);
    if (vsorted == NULL) goto nomem;
    if (nvars) memcpy(vsorted, vnames, (size_t)nvars * sizeof *vsorted);
    st = unique(h, vsorted, (size_t)nvars, "variable");
    free(vsorted);
    if (st != PSFWI_OK) goto done;
  }

  /* Data start after the header and inside the file; the records that
   * numrecs claims fit in what the file holds after the first of them. */
  const uint64_t header_end = h->pos;
  uint64_t rec_bytes = 0, rec_begin = UINT64_MAX;
  for (size_t v = 0; v < nvars; v++) {
    const var_info *vi = &vars[v];
    const name_ref *nm = &vnames[v];
    if (vi->begin < header_end || vi->begin > h->fsize) {
      st = bad(h,
               "variable %zu ('%.*s') begins at byte %llu; expected between the end of the "
               "header (%llu) and the end of the file (%llu)",
               v, (int)nm->n, (const char *)nm->p, (unsigned long long)vi->begin,
               (unsigned long long)header_end, (unsigned long long)h->fsize);
      goto done;
    }
    if (vi->record) {
      rec_bytes = rec_bytes + vi->bytes < rec_bytes ? UINT64_MAX : rec_bytes + vi->bytes;
      if (vi->begin < rec_begin) rec_begin = vi->begin;
    } else if (vi->bytes > h->fsize - vi->begin) {
      st = bad(h,
               "variable %zu ('%.*s') holds %llu bytes from byte %llu; the file ends at byte "
               "%llu",
               v, (int)nm->n, (const char *)nm->p, (unsigned long long)vi->bytes,
               (unsigned long long)vi->begin, (unsigned long long)h->fsize);
      goto done;
    }
  }
  if (!streaming && numrecs > 0 && rec_bytes > 0 &&
      numrecs - 1 > (h->fsize - rec_begin) / rec_bytes) {
    st = bad(h, "numrecs is %llu records of %llu bytes from byte %llu; the file ends at byte %llu",
             (unsigned long long)numrecs, (unsigned long long)rec_bytes,
             (unsigned long long)rec_begin, (unsigned long long)h->fsize);
    goto done;
  }
  goto done;
nomem:
  st = psfwi_fail(h->err, PSFWI_ENOMEM, "'%s': out of memory checking the header", h->path);
done:
  free(dimlen);
  free(dnames);
  free(vnames);
  free(vars);
  return st;
}

/* The HDF5 signature, at 0 or in a user block of 512, 1024, 2048... bytes. */
static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

static int is_hdf5(FILE *f, uint64_t fsize) {
  unsigned char sig[8];
  for (uint64_t at = 0; at + 8 <= fsize; at = at ? 2 * at : 512) {
    if (at > (uint64_t)LONG_MAX || fseek(f, (long)at, SEEK_SET) != 0) return 0;
    if (fread(sig, 1, 8, f) != 8) return 0;
    if (memcmp(sig, hdf5_sig, 8) == 0) return 1;
  }
  return 0;
}

/* what: the words for a failed open ("cannot open the state file"). */
static int check_header(const char *path, const char *what, psfwi_error *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return psfwi_fail(err, PSFWI_EIO, "'%s': %s: %s", path, what, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    const int e = errno;
    fclose(f);
    if (e == 0 || S_ISDIR(sb.st_mode))
      return psfwi_fail(err, PSFWI_EIO, "'%s': not a regular file; expected a NetCDF file", path);
    return psfwi_fail(err, PSFWI_EIO, "'%s': cannot stat: %s", path, strerror(e));
  }
  const uint64_t fsize = (uint64_t)sb.st_size;
  unsigned char magic[4] = {0, 0, 0, 0};
  const size_t got = fread(magic, 1, 4, f);
  const int version = got == 4 && magic[0] == 'C' && magic[1] == 'D' && magic[2] == 'F' &&
                              (magic[3] == 1 || magic[3] == 2 || magic[3] == 5)
                          ? magic[3]
                          : 0;
  if (version == 0) {
    const int hdf5 = is_hdf5(f, fsize);
    fclose(f);
    if (hdf5) return PSFWI_OK;
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': not a NetCDF file (%llu bytes starting %02x %02x %02x %02x); "
                      "expected 'CDF' 1, 2 or 5 (NetCDF-3) or the HDF5 signature (netCDF-4)",
                      path, (unsigned long long)fsize, magic[0], magic[1], magic[2], magic[3]);
  }
  const size_t len = fsize < HEADER_MAX ? (size_t)fsize : HEADER_MAX;
  unsigned char *buf = malloc(len);
  if (buf == NULL) {
    fclose(f);
    return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory reading the header", path);
  }
  memcpy(buf, magic, 4);
  const size_t more = fread(buf + 4, 1, len - 4, f);
  const int rerr = ferror(f);
  fclose(f);
  if (rerr || more != len - 4) {
    free(buf);
    return psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the header", path);
  }
  hdr h = {.buf = buf, .len = len, .fsize = fsize, .version = version, .path = path, .err = err};
  const int st = walk(&h);
  free(buf);
  return st;
}

/* ---- The probe: libnetcdf and libhdf5 read the file in a child process --------
 * Mutated netCDF-4 files crash libhdf5 itself (a free of an uninitialised
 * pointer in H5G__link_release_table, a 48-byte write past the caller's
 * buffer in H5Dread for a dataspace larger than its dimensions, a wild copy
 * in H5HG_read of a corrupt dimension list: docs/RELIABILITY.md), and no
 * header walk can foresee them. So before psfwi opens a file, a forked
 * child does everything psfwi's readers may do with it (open, inquire every
 * dimension, variable and attribute, read every attribute and every
 * variable in slabs of at most PROBE_SLAB bytes, close) under a memory and
 * a time limit. A child killed by a signal (a crash, the CPU limit) or out
 * of memory means the file is refused; a child that finishes, with or
 * without NetCDF errors, lets the caller open the file and report those
 * errors itself. The parent's library state is never touched by a corrupt
 * file. Costs a fork and a second read of the file (docs/RELIABILITY.md). */
#define PROBE_SLAB    ((size_t)16 << 20)
#define PROBE_ROW     ((size_t)512 << 20)
#define PROBE_GUARD   ((size_t)4096)
#define PROBE_SECONDS 60
#define PROBE_MEMORY  ((rlim_t)1 << 30)

#if defined(__SANITIZE_ADDRESS__)
#define PROBE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROBE_UNDER_ASAN 1
#endif
#endif

/* The child's work; returns 0 when every call succeeded. */
static int probe_read(const char *path) {
  int nc, ndims, nvars, ngatts, unlim, bad = 0;
  if (nc_open(path, NC_NOWRITE, &nc) != NC_NOERR) return 1;
  if (nc_inq(nc, &ndims, &nvars, &ngatts, &unlim) != NC_NOERR) return 1;
  char name[PSFWI_NC_NAME_BUF];
  for (int d = 0; d < ndims; d++) {
    size_t len;
    bad |= nc_inq_dim(nc, d, name, &len) != NC_NOERR;
  }
  /* every read gets a guard after the bytes it asked for: a library that
   * writes past them (a dataspace larger than its dimensions) is caught */
  unsigned char *buf = malloc(PROBE_SLAB + PROBE_GUARD);
  if (buf == NULL) return 1;
  for (int v = -1; v < nvars; v++) { /* -1: the global attributes */
    int natts = ngatts, nd = 0, dims[NC_MAX_VAR_DIMS];
    nc_type type = NC_NAT;
    if (v >= 0 && nc_inq_var(nc, v, name, &type, &nd, dims, &natts) != NC_NOERR) {
      bad = 1;
      continue;
    }
    for (int a = 0; a < natts; a++) {
      nc_type at;
      size_t alen;
      if (nc_inq_attname(nc, v, a, name) != NC_NOERR ||
          nc_inq_att(nc, v, name, &at, &alen) != NC_NOERR) {
        bad = 1;
        continue;
      }
      if (alen > PROBE_SLAB / 8) return 2; /* an attribute of > 2M values: not psfwi's */
      if (at == NC_CHAR)
        bad |= nc_get_att_text(nc, v, name, (char *)buf) != NC_NOERR;
      else if (at >= NC_BYTE && at <= NC_DOUBLE)
        bad |= nc_get_att_double(nc, v, name, (double *)(void *)buf) != NC_NOERR;
    }
    if (v < 0 || nd < 0 || nd > NC_MAX_VAR_DIMS || type == NC_CHAR || type < NC_BYTE ||
        type > NC_UINT64)
      continue;
    size_t len[NC_MAX_VAR_DIMS], start[NC_MAX_VAR_DIMS], count[NC_MAX_VAR_DIMS];
    size_t inner = 1; /* values per index of the first dimension */
    for (int i = 0; i < nd; i++) {
      if (nc_inq_dimlen(nc, dims[i], &len[i]) != NC_NOERR) return 1;
      if (i > 0) inner = len[i] != 0 && inner > SIZE_MAX / len[i] ? SIZE_MAX : inner * len[i];
    }
    /* one index of the first dimension at least (a model of 64 M cells) */
    if (nd > 0 && inner > PROBE_ROW / 8) return 2;
    if (nd > 0 && inner > PROBE_SLAB / 8) {
      unsigned char *big = realloc(buf, inner * 8 + PROBE_GUARD);
      if (big == NULL) return 3;
      buf = big;
    }
    const size_t step =
        nd > 0 && inner <= PROBE_SLAB / 8 ? (PROBE_SLAB / 8) / (inner ? inner : 1) : 1;
    /* at most the first PROBE_ROW / 8 values of a variable (64 Mi, what
     * psfwi info reads of one; by then the library's paths for the variable
     * have run): a file with a huge unwritten variable made the probe
     * convert 1e10 fill values, 4 s and past the deadline under
     * AddressSanitizer */
    const size_t rows_max = inner == 0 ? 1 : (PROBE_ROW / 8 + inner - 1) / inner;
    const size_t n0 = nd > 0 ? (len[0] < rows_max ? len[0] : rows_max) : 1;
    for (size_t i0 = 0; i0 < n0; i0 += step) {
      for (int i = 0; i < nd; i++) {
        start[i] = 0;
        count[i] = len[i];
      }
      if (nd > 0) {
        start[0] = i0;
        count[0] = n0 - i0 < step ? n0 - i0 : step;
      }
      size_t nval = 1;
      for (int i = 0; i < nd; i++) nval *= count[i];
      memset(buf + nval * 8, 0xA5, PROBE_GUARD);
      if (nc_get_vara_double(nc, v, start, count, (double *)(void *)buf) != NC_NOERR) {
        bad = 1;
        break;
      }
      for (size_t k = 0; k < PROBE_GUARD; k++)
        if (buf[nval * 8 + k] != 0xA5) return 4;
    }
  }
  free(buf);
  bad |= nc_close(nc) != NC_NOERR;
  return bad;
}

/* A sanitizer's death callback (libFuzzer installs one): the child must
 * not run it (it would report the library's crash as the parent's). */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* Seconds the probe may take: PROBE_SECONDS plus 1 s per 10 MB of file, or
 * PSFWI_NC_PROBE_SECONDS (the fuzz targets use a fraction of a second). */
static double probe_deadline(const char *path) {
  const char *env = getenv("PSFWI_NC_PROBE_SECONDS");
  if (env != NULL) {
    const double v = atof(env);
    if (v > 0.0) return v;
  }
  struct stat sb;
  const double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e7 : 0.0;
  return PROBE_SECONDS + mb;
}

/* PSFWI_OK when the file can be handed to libnetcdf in this process. */
static int probe_run(const char *path, psfwi_error *err) {
  const double deadline = probe_deadline(path);
  fflush(NULL);
  const pid_t pid = fork();
  if (pid < 0) return PSFWI_OK; /* no process to spare: read as before */
  if (pid == 0) {
    /* crashes end the child plainly: no inherited handlers or callbacks */
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM, SIGXCPU};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
    const rlim_t cpu_s = (rlim_t)deadline + 1;
    const struct rlimit cpu = {cpu_s, cpu_s};
    (void)setrlimit(RLIMIT_CPU, &cpu);
#ifndef PROBE_UNDER_ASAN
    const struct rlimit mem = {PROBE_MEMORY, PROBE_MEMORY};
    (void)setrlimit(RLIMIT_AS, &mem);
#endif
    const int r = probe_read(path);
    _exit(r == 2 || r == 4 ? r : 0);
  }
  /* wait at most the deadline (wall clock), then kill */
  int status = 0;
  pid_t w = 0;
  const double t0 = psfwi_seconds();
  for (;;) {
    w = waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (psfwi_seconds() - t0 > deadline) {
      kill(pid, SIGKILL);
      do {
        w = waitpid(pid, &status, 0);
      } while (w < 0 && errno == EINTR);
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "'%s': the NetCDF/HDF5 library took more than %.3g s to read it: the "
                        "file is corrupt (or far larger than it looks); psfwi does not open it",
                        path, deadline);
    }
    const struct timespec nap = {0, 200000}; /* 0.2 ms */
    nanosleep(&nap, NULL);
  }
  if (w != pid) return PSFWI_OK;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return PSFWI_OK;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': the NetCDF/HDF5 library wrote past the values it was asked for "
                      "(a variable's stored shape differs from its dimensions): the file is "
                      "corrupt; psfwi does not open it",
                      path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': holds a variable or attribute larger than psfwi reads "
                      "(more than %zu MiB per index of its first dimension); not a psfwi file?",
                      path, PROBE_ROW >> 20);
  if (WIFSIGNALED(status))
    return psfwi_fail(
        err, PSFWI_EFORMAT,
        "'%s': the NetCDF/HDF5 library %s while reading it (signal %d%s): the "
        "file is corrupt; psfwi does not open it",
        path,
        WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGALRM ? "took too long" : "crashed",
        WTERMSIG(status),
        WTERMSIG(status) == SIGSEGV   ? ", SIGSEGV"
        : WTERMSIG(status) == SIGABRT ? ", SIGABRT"
        : WTERMSIG(status) == SIGBUS  ? ", SIGBUS"
                                      : "");
  /* any other exit (out of memory under the limit, an abort by a sanitizer) */
  return psfwi_fail(err, PSFWI_EFORMAT,
                    "'%s': the NetCDF/HDF5 library failed while reading it (exit status %d; "
                    "it ran out of %llu MiB or crashed): the file is corrupt; psfwi does not "
                    "open it",
                    path, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    (unsigned long long)(PROBE_MEMORY >> 20));
}

/* ---- Probe results remembered for the process ------------------------------
 * A command often opens the same file several times (a model read, then
 * described; a gather's metadata, then its traces), and each open would fork
 * a probe. The verdict of the last PROBE_MEMO files is kept, keyed by what
 * identifies the file's content: device, inode, size, modification and
 * change times, and an FNV-1a hash of every byte (read here; cheaper than the
 * probe, which reads the file through libhdf5). A file rewritten in place, a
 * new file on a reused inode within the clock's resolution, or one whose
 * bytes changed gets a probe of its own. A failed nc_open is remembered with
 * the verdict when the failure is the file's (a netCDF format error): the
 * same content is refused with the same answer without opening it again
 * (libhdf5 can keep a failed file open and hand its corrupt state to the
 * next open of the same file, defect 6 in docs/RELIABILITY.md; a command's
 * second reader of a corrupt file used to cost another probe and open).
 * Other failures (out of memory, I/O errors) forget the file, so the next
 * open is probed again by a child that inherits that state. */
#define PROBE_MEMO 8
typedef struct probe_memo {
  int used, status;
  /* nc_open of this content failed in this process with a format error
   * (open_ncs, open_errno): later opens are refused with the same answer
   * without calling libnetcdf again */
  int open_failed, open_ncs, open_errno;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtim, ctim;
  uint64_t hash;
  char msg[sizeof(((psfwi_error *)0)->msg)];
} probe_memo;
static probe_memo memo[PROBE_MEMO];
static size_t memo_next;

/* 0 and the key of path's content, or -1 when the file cannot be read. */
static int memo_key(const char *path, probe_memo *k) {
  struct stat sb;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  if (fstat(fileno(f), &sb) != 0) {
    fclose(f);
    return -1;
  }
  uint64_t h = 14695981039346656037ULL;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ULL;
  const int bad = ferror(f);
  fclose(f);
  if (bad) return -1;
  k->dev = sb.st_dev;
  k->ino = sb.st_ino;
  k->size = sb.st_size;
  k->mtim = sb.st_mtim;
  k->ctim = sb.st_ctim;
  k->hash = h;
  return 0;
}

static int memo_same(const probe_memo *a, const probe_memo *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
         a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec &&
         a->hash == b->hash;
}

static void memo_forget(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) return;
  for (size_t i = 0; i < PROBE_MEMO; i++)
    if (memo[i].dev == sb.st_dev && memo[i].ino == sb.st_ino) memo[i].used = 0;
}

/* Probes run and nc_open calls made by psfwi_nc_open_checked_ (the tests
 * check that a remembered file costs neither). */
static size_t count_probes, count_opens;

void psfwi_nc_open_counts_(size_t *probes, size_t *opens) {
  *probes = count_probes;
  *opens = count_opens;
}

/* The probe's verdict on path (PSFWI_OK: libnetcdf may open it here), from
 * the memo when its content was seen; *entry: the memo slot of that content
 * (NULL when the file cannot be keyed or probing is off). */
static int probe(const char *path, psfwi_error *err, probe_memo **entry) {
  *entry = NULL;
  const char *env = getenv("PSFWI_NC_PROBE");
  if (env != NULL && strcmp(env, "0") == 0) return PSFWI_OK; /* documented opt-out */
  probe_memo k = {0};
  const int keyed = memo_key(path, &k) == 0;
  for (size_t i = 0; keyed && i < PROBE_MEMO; i++)
    if (memo[i].used && memo_same(&memo[i], &k)) {
      *entry = &memo[i];
      return memo[i].status == PSFWI_OK ? PSFWI_OK
                                        : psfwi_fail(err, memo[i].status, "%s", memo[i].msg);
    }
  psfwi_error e = {0};
  count_probes++;
  const int st = probe_run(path, &e);
  if (keyed) {
    k.used = 1;
    k.status = st;
    memcpy(k.msg, e.msg, sizeof k.msg);
    memo[memo_next] = k;
    *entry = &memo[memo_next];
    memo_next = (memo_next + 1) % PROBE_MEMO;
  }
  return st == PSFWI_OK ? PSFWI_OK : psfwi_fail(err, st, "%s", e.msg);
}

/* A failed nc_open that says something about the file itself (a netCDF
 * error code, not a system error, out of memory or an I/O error that a
 * retry could get past). */
static int open_failure_is_the_file(int ncs, int sys_errno) {
  if (ncs >= 0 || ncs == NC_ENOMEM) return 0;
  switch (sys_errno) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EIO:
    case EROFS:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EINTR:
    case EAGAIN: return 0;
    default: return 1;
  }
}

int psfwi_nc_check_header_(const char *path, psfwi_error *err) {
  return check_header(path, "cannot open", err);
}

int psfwi_nc_open_checked_(const char *path, const char *what, int *ncid, psfwi_error *err) {
  *ncid = -1;
  if (what == NULL) what = "cannot open as NetCDF";
  probe_memo *entry = NULL;
  int st = check_header(path, what, err);
  if (st == PSFWI_OK) st = probe(path, err, &entry);
  if (st != PSFWI_OK) return st;
  if (entry != NULL && entry->open_failed)
    return psfwi_nc_fail_(err, path, what, entry->open_ncs, entry->open_errno);
  errno = 0;
  count_opens++;
  const int ncs = nc_open(path, NC_NOWRITE, ncid);
  const int e = errno;
  if (ncs != NC_NOERR) {
    *ncid = -1;
    /* libhdf5 can keep a file it failed on open and hand its corrupt state
     * to the next open of it (defect 6, docs/RELIABILITY.md): the same
     * content is refused from the memo from now on, without a second open;
     * after a failure that a retry could get past, the content is
     * forgotten, so that the next open probes it again. */
    if (entry != NULL && open_failure_is_the_file(ncs, e)) {
      entry->open_failed = 1;
      entry->open_ncs = ncs;
      entry->open_errno = e;
    } else {
      memo_forget(path);
    }
    return psfwi_nc_fail_(err, path, what, ncs, e);
  }
  return PSFWI_OK;
}

int psfwi_nc_fail_(psfwi_error *err, const char *path, const char *what, int ncstatus,
                   int sys_errno) {
  const int sys = ncstatus < 0 && (sys_errno == ENOSPC || sys_errno == EDQUOT ||
                                   sys_errno == EFBIG || sys_errno == EIO || sys_errno == EROFS);
  if (sys)
    return psfwi_fail(err, PSFWI_EIO, "'%s': %s: %s (%s)", path, what, strerror(sys_errno),
                      nc_strerror(ncstatus));
  return psfwi_fail(err, PSFWI_EIO, "'%s': %s: %s", path, what, nc_strerror(ncstatus));
}

int psfwi_nc_close_(int ncid, const char *path, psfwi_error *err) {
  errno = 0;
  const int st = nc_close(ncid);
  const int e = errno;
  if (st == NC_NOERR) return PSFWI_OK;
  /* The id survives a failed nc_close; nc_abort releases it (no retry). */
  (void)nc_abort(ncid);
  if (err == NULL) return PSFWI_EIO;
  return psfwi_nc_fail_(err, path, "closing the file", st, e);
}
