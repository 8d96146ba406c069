/* Resumable-run state files: named flat arrays (bytes, float32, float64) in
 * one netCDF-4 file, written to a temporary name and renamed, so that a run
 * killed at any moment leaves either the previous state or the new one. */
#define _POSIX_C_SOURCE 200809L
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h"
#include "psfwi_io.h"

static nc_type nc_type_of(psfwi_state_type t) {
  return t == PSFWI_STATE_U8 ? NC_UBYTE : t == PSFWI_STATE_F32 ? NC_FLOAT : NC_DOUBLE;
}

static size_t type_size(psfwi_state_type t) {
  return t == PSFWI_STATE_U8 ? 1 : t == PSFWI_STATE_F32 ? sizeof(float) : sizeof(double);
}

int psfwi_state_write(const char *path, const char *kind, const psfwi_state_item *items,
                      size_t nitems, const psfwi_meta *meta, psfwi_error *err) {
  char tmp[4096];
  int nc = -1;
  int *var = NULL;
  if (psfwi_tmp_path(path, tmp, sizeof tmp) == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': path too long", path);
  size_t bytes = 0;
  for (size_t i = 0; i < nitems; i++) bytes += items[i].n * type_size(items[i].type);
  if (psfwi_nc_create_mem_(path, bytes, &nc, err) != PSFWI_OK) goto fail;
  var = calloc(nitems + 1, sizeof *var);
  if (var == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  for (size_t i = 0; i < nitems; i++) {
    char dname[PSFWI_NC_NAME_BUF];
    int dim;
    snprintf(dname, sizeof dname, "%s_n", items[i].name);
    /* netCDF-4 allows zero-length fixed dimensions only as unlimited; keep >= 1 */
    NCX(nc_def_dim(nc, dname, items[i].n ? items[i].n : 1, &dim), "defining a dimension");
    NCX(nc_def_var(nc, items[i].name, nc_type_of(items[i].type), 1, &dim, &var[i]),
        "defining a variable");
    unsigned long long n = items[i].n;
    NCX(nc_put_att_ulonglong(nc, var[i], "count", NC_UINT64, 1, &n), "writing an attribute");
  }
  const char *title = meta && meta->title ? meta->title : "psfwi resumable run state";
  NCX(nc_put_att_text(nc, NC_GLOBAL, "title", strlen(title), title), "writing attributes");
  NCX(nc_put_att_text(nc, NC_GLOBAL, "source", strlen("psfwi " PSFWI_VERSION_STRING),
                      "psfwi " PSFWI_VERSION_STRING),
      "writing attributes");
  NCX(nc_put_att_text(nc, NC_GLOBAL, "psfwi_state", strlen(kind), kind), "writing attributes");
  if (meta && meta->history)
    NCX(nc_put_att_text(nc, NC_GLOBAL, "history", strlen(meta->history), meta->history),
        "writing attributes");
  if (meta && meta->config)
    NCX(nc_put_att_text(nc, NC_GLOBAL, "psfwi_config", strlen(meta->config), meta->config),
        "writing attributes");
  NCX(nc_enddef(nc), "leaving define mode");
  for (size_t i = 0; i < nitems; i++) {
    if (items[i].n == 0) continue;
    size_t start = 0, count = items[i].n;
    NCX(nc_put_vara(nc, var[i], &start, &count, items[i].data), "writing a variable");
  }
  free(var);
  var = NULL;
  const int st = psfwi_nc_finish_mem_(nc, path, tmp, err);
  nc = -1;
  if (st != PSFWI_OK) goto fail;
  return psfwi_commit_file(tmp, path, err);
fail:
  free(var);
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

void psfwi_state_free(psfwi_state_item *items, size_t nitems) {
  if (items == NULL) return;
  for (size_t i = 0; i < nitems; i++) {
    free((char *)items[i].name);
    free(items[i].data);
  }
  free(items);
}

int psfwi_state_read(const char *path, const char *kind, psfwi_state_item **items_out,
                     size_t *nitems_out, psfwi_error *err) {
  int nc = -1, nvars = 0;
  psfwi_state_item *items = NULL;
  size_t nitems = 0;
  *items_out = NULL;
  *nitems_out = 0;
  if (psfwi_nc_open_checked_(path, "cannot open the state file", &nc, err) != PSFWI_OK) goto fail;
  size_t klen = 0;
  char kbuf[64] = "";
  if (nc_inq_attlen(nc, NC_GLOBAL, "psfwi_state", &klen) != NC_NOERR || klen >= sizeof kbuf ||
      nc_get_att_text(nc, NC_GLOBAL, "psfwi_state", kbuf) != NC_NOERR) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': not a psfwi state file (no psfwi_state attribute)", path);
    goto fail;
  }
  kbuf[klen] = '\0';
  if (strcmp(kbuf, kind) != 0) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': a state file of a '%s' run, expected '%s'", path, kbuf,
               kind);
    goto fail;
  }
  NCX(nc_inq_nvars(nc, &nvars), "listing variables");
  items = calloc((size_t)nvars + 1, sizeof *items);
  if (items == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  for (int v = 0; v < nvars; v++) {
    char name[PSFWI_NC_NAME_BUF];
    nc_type t;
    int nd, dim;
    NCX(nc_inq_var(nc, v, name, &t, &nd, NULL, NULL), "reading a variable");
    unsigned long long n = 0;
    if (nd != 1 || nc_get_att_ulonglong(nc, v, "count", &n) != NC_NOERR ||
        (t != NC_UBYTE && t != NC_FLOAT && t != NC_DOUBLE)) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' is not a state array", path, name);
      goto fail;
    }
    size_t dlen;
    NCX(nc_inq_vardimid(nc, v, &dim), "reading a variable");
    NCX(nc_inq_dimlen(nc, dim, &dlen), "reading a dimension");
    if (dlen != (n ? n : 1)) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' holds %zu values, its count says %llu",
                 path, name, dlen, n);
      goto fail;
    }
    psfwi_state_item *it = &items[nitems++];
    it->type = t == NC_UBYTE ? PSFWI_STATE_U8 : t == NC_FLOAT ? PSFWI_STATE_F32 : PSFWI_STATE_F64;
    it->n = (size_t)n;
    it->name = strdup(name);
    it->data = malloc(it->n * type_size(it->type) + 1);
    if (it->name == NULL || it->data == NULL) {
      psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
      goto fail;
    }
    if (it->n) {
      size_t start = 0, count = it->n;
      NCX(nc_get_vara(nc, v, &start, &count, it->data), "reading a variable");
    }
  }
  psfwi_nc_close_(nc, path, NULL);
  *items_out = items;
  *nitems_out = nitems;
  return PSFWI_OK;
fail:
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  psfwi_state_free(items, nitems);
  return err ? err->status : PSFWI_EIO;
}

const psfwi_state_item *psfwi_state_find(const psfwi_state_item *items, size_t nitems,
                                         const char *name, psfwi_state_type type, size_t n,
                                         const char *path, psfwi_error *err) {
  for (size_t i = 0; i < nitems; i++) {
    if (strcmp(items[i].name, name) != 0) continue;
    if (items[i].type != type || (n != (size_t)-1 && items[i].n != n)) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': state variable '%s' has %zu values of type %d, expected %zu of type %d",
                 path, name, items[i].n, (int)items[i].type, n, (int)type);
      return NULL;
    }
    return &items[i];
  }
  psfwi_fail(err, PSFWI_EFORMAT, "'%s': state variable '%s' is missing", path, name);
  return NULL;
}

int psfwi_state_config_differs(const psfwi_state_item *items, size_t nitems, const char *config) {
  const char *now = config ? config : "";
  for (size_t i = 0; i < nitems; i++)
    if (strcmp(items[i].name, "config") == 0 && items[i].type == PSFWI_STATE_U8)
      return items[i].n != strlen(now) || memcmp(items[i].data, now, items[i].n) != 0;
  return 0; /* absent in older state files: no check */
}
