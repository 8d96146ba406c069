/* NetCDF network files (psfwi_io.h): a trained network's architecture,
 * parameters, normalisation and training history in one file. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h"
#include "psfwi_io.h"

void psfwi_netfile_destroy(psfwi_netfile *nf) {
  if (nf == NULL) return;
  free(nf->architecture);
  free(nf->acquisition);
  free(nf->params);
  free(nf->buffers);
  free(nf->feature_mean);
  free(nf->feature_std);
  for (size_t k = 0; nf->col_names && k < nf->ncol; k++) free(nf->col_names[k]);
  for (size_t k = 0; nf->col_units && k < nf->ncol; k++) free(nf->col_units[k]);
  free(nf->col_names);
  free(nf->col_units);
  free(nf->history);
  free(nf);
}

static int put_text(int nc, int var, const char *name, const char *value) {
  return nc_put_att_text(nc, var, name, strlen(value), value);
}

/* A 1-D float variable of n values on a new dimension (n = 0: a dimension of
 * 1 and no data, as netCDF-4 wants no zero-length fixed dimensions). */
static int def_vec(int nc, const char *name, const char *dim, size_t n, nc_type type,
                   const char *long_name, int *var) {
  int d;
  int st = nc_def_dim(nc, dim, n ? n : 1, &d);
  if (!st) st = nc_def_var(nc, name, type, 1, &d, var);
  if (!st) st = put_text(nc, *var, "long_name", long_name);
  if (!st) st = nc_put_att_ulonglong(nc, *var, "count", NC_UINT64, 1, &(unsigned long long){n});
  return st;
}

int psfwi_nc_write_network(const char *path, const psfwi_netfile *nf, const psfwi_meta *meta,
                           psfwi_error *err) {
  char tmp[4096];
  int nc = -1, vpar, vbuf, vmean, vstd, dep = -1, *vh = NULL;
  if (nf->architecture == NULL || nf->acquisition == NULL || nf->nparam == 0 || nf->nchan == 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "'%s': a network file needs an architecture, an "
                      "acquisition, parameters and channels",
                      path);
  for (size_t i = 0; i < nf->nparam; i++)
    if (!isfinite(nf->params[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "'%s': parameter %zu is not finite", path, i);
  if (!(nf->vmin > 0 && nf->vmax > nf->vmin && isfinite(nf->vmax)))
    return psfwi_fail(err, PSFWI_ERANGE, "'%s': velocity range %g..%g m/s", path, nf->vmin,
                      nf->vmax);
  vh = calloc(nf->ncol + 1, sizeof *vh);
  if (vh == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  psfwi_tmp_path(path, tmp, sizeof tmp);
  if (psfwi_nc_create_mem_(path, (nf->nparam + nf->nbuffer) * sizeof(float) + 65536, &nc, err) !=
      PSFWI_OK)
    goto fail;
  NCX(def_vec(nc, "params", "param", nf->nparam, NC_FLOAT, "network parameters (flat)", &vpar),
      "defining params");
  NCX(nc_def_var_deflate(nc, vpar, 1, 1, 1), "setting compression");
  NCX(def_vec(nc, "buffers", "buffer", nf->nbuffer, NC_FLOAT,
              "non-trainable buffers (batch-norm running statistics)", &vbuf),
      "defining buffers");
  NCX(def_vec(nc, "feature_mean", "channel", nf->nchan, NC_FLOAT, "mean of each input channel",
              &vmean),
      "defining feature_mean");
  {
    int dch;
    NCX(nc_inq_dimid(nc, "channel", &dch), "defining feature_std");
    NCX(nc_def_var(nc, "feature_std", NC_FLOAT, 1, &dch, &vstd), "defining feature_std");
    NCX(put_text(nc, vstd, "long_name", "standard deviation of each input channel"),
        "defining feature_std");
  }
  if (nf->ncol > 0) {
    NCX(nc_def_dim(nc, "epoch", nf->nepoch ? nf->nepoch : NC_UNLIMITED, &dep), "defining epoch");
    for (size_t k = 0; k < nf->ncol; k++) {
      NCX(nc_def_var(nc, nf->col_names[k], NC_DOUBLE, 1, &dep, &vh[k]),
          "defining a history column");
      NCX(put_text(nc, vh[k], "units", nf->col_units ? nf->col_units[k] : "1"),
          "writing an attribute");
    }
  }
  NCX(psfwi_nc_put_globals_(nc, meta, "psfwi neural network"), "writing global attributes");
  NCX(put_text(nc, NC_GLOBAL, "psfwi_architecture", nf->architecture), "writing the architecture");
  NCX(put_text(nc, NC_GLOBAL, "psfwi_acquisition", nf->acquisition), "writing the acquisition");
  NCX(nc_put_att_double(nc, NC_GLOBAL, "vmin", NC_DOUBLE, 1, &nf->vmin), "writing vmin");
  NCX(nc_put_att_double(nc, NC_GLOBAL, "vmax", NC_DOUBLE, 1, &nf->vmax), "writing vmax");
  NCX(nc_enddef(nc), "leaving define mode");
  NCX(nc_put_var_float(nc, vpar, nf->params), "writing params");
  if (nf->nbuffer) NCX(nc_put_var_float(nc, vbuf, nf->buffers), "writing buffers");
  NCX(nc_put_var_float(nc, vmean, nf->feature_mean), "writing feature_mean");
  NCX(nc_put_var_float(nc, vstd, nf->feature_std), "writing feature_std");
  if (nf->nepoch > 0) {
    double *col = malloc(nf->nepoch * sizeof *col);
    if (col == NULL) {
      psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
      goto fail;
    }
    for (size_t k = 0; k < nf->ncol; k++) {
      for (size_t e = 0; e < nf->nepoch; e++) col[e] = nf->history[e * nf->ncol + k];
      const int st = nc_put_var_double(nc, vh[k], col);
      if (st != NC_NOERR) {
        free(col);
        NCX(st, "writing the history");
      }
    }
    free(col);
  }
  free(vh);
  vh = NULL;
  if (psfwi_nc_finish_mem_(nc, path, tmp, err) != PSFWI_OK) {
    nc = -1;
    goto fail;
  }
  return psfwi_commit_file(tmp, path, err);
fail:
  free(vh);
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

/* A global text attribute, malloc'ed; NULL with EFORMAT when absent. */
static char *get_text(int nc, const char *path, const char *name, psfwi_error *err) {
  size_t len;
  nc_type t;
  if (nc_inq_att(nc, NC_GLOBAL, name, &t, &len) != NC_NOERR || t != NC_CHAR) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': text attribute %s is missing; not a psfwi network file",
               path, name);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    return NULL;
  }
  if (nc_get_att_text(nc, NC_GLOBAL, name, s) != NC_NOERR) {
    free(s);
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': cannot read attribute %s", path, name);
    return NULL;
  }
  s[len] = '\0';
  return s;
}

/* Read float vector `name` on dimension `dim` into *out (malloc'ed, *n). */
static int get_vec(int nc, const char *path, const char *name, const char *dim, int optional,
                   float **out, size_t *n, psfwi_error *err) {
  int var, d;
  *out = NULL;
  *n = 0;
  if (optional && nc_inq_varid(nc, name, &var) != NC_NOERR) return PSFWI_OK;
  const char *dn[1] = {dim};
  if (psfwi_nc_expect_var_(nc, path, name, 1, dn, &var, err) != PSFWI_OK) return err->status;
  unsigned long long count = 0;
  size_t len;
  if (nc_inq_dimid(nc, dim, &d) != NC_NOERR || nc_inq_dimlen(nc, d, &len) != NC_NOERR)
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': dimension %s is unreadable", path, dim);
  if (nc_get_att_ulonglong(nc, var, "count", &count) == NC_NOERR) {
    if (count > len)
      return psfwi_fail(err, PSFWI_EFORMAT, "'%s': %s count %llu exceeds its dimension (%zu)", path,
                        name, count, len);
    len = (size_t)count;
  }
  if (len > ((size_t)1 << 31))
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': %s has %zu values; at most 2^31 expected", path,
                      name, len);
  float *v = malloc((len ? len : 1) * sizeof *v);
  if (v == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for %s", path, name);
  if (len && nc_get_vara_float(nc, var, (size_t[]){0}, &len, v) != NC_NOERR) {
    free(v);
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': cannot read %s", path, name);
  }
  for (size_t i = 0; i < len; i++)
    if (!isfinite(v[i])) {
      free(v);
      return psfwi_fail(err, PSFWI_ENONFINITE, "'%s': %s[%zu] is not finite", path, name, i);
    }
  *out = v;
  *n = len;
  return PSFWI_OK;
}

psfwi_netfile *psfwi_nc_read_network(const char *path, psfwi_error *err) {
  int nc = -1;
  psfwi_netfile *nf = calloc(1, sizeof *nf);
  if (nf == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    return NULL;
  }
  if (psfwi_nc_open_checked_(path, NULL, &nc, err) != PSFWI_OK) goto fail;
  if ((nf->architecture = get_text(nc, path, "psfwi_architecture", err)) == NULL) goto fail;
  if ((nf->acquisition = get_text(nc, path, "psfwi_acquisition", err)) == NULL) goto fail;
  if (nc_get_att_double(nc, NC_GLOBAL, "vmin", &nf->vmin) != NC_NOERR ||
      nc_get_att_double(nc, NC_GLOBAL, "vmax", &nf->vmax) != NC_NOERR ||
      !(nf->vmin > 0 && nf->vmax > nf->vmin && isfinite(nf->vmax))) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': attributes vmin and vmax (m/s, 0 < vmin < vmax) are "
               "missing or wrong",
               path);
    goto fail;
  }
  size_t nstd;
  if (get_vec(nc, path, "params", "param", 0, &nf->params, &nf->nparam, err) ||
      get_vec(nc, path, "buffers", "buffer", 0, &nf->buffers, &nf->nbuffer, err) ||
      get_vec(nc, path, "feature_mean", "channel", 0, &nf->feature_mean, &nf->nchan, err) ||
      get_vec(nc, path, "feature_std", "channel", 0, &nf->feature_std, &nstd, err))
    goto fail;
  if (nstd != nf->nchan || nf->nparam == 0) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': %zu parameters, %zu channel means and %zu deviations",
               path, nf->nparam, nf->nchan, nstd);
    goto fail;
  }
  for (size_t c = 0; c < nstd; c++)
    if (!(nf->feature_std[c] > 0)) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': feature_std[%zu] = %g; expected > 0", path, c,
                 (double)nf->feature_std[c]);
      goto fail;
    }
  /* History: every double variable on the single dimension "epoch". */
  int dep;
  if (nc_inq_dimid(nc, "epoch", &dep) == NC_NOERR) {
    int nvar;
    NCX(nc_inq_dimlen(nc, dep, &nf->nepoch), "reading the epoch dimension");
    NCX(nc_inq_nvars(nc, &nvar), "counting variables");
    if (nf->nepoch > 10000000) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': %zu epochs", path, nf->nepoch);
      goto fail;
    }
    nf->col_names = calloc((size_t)nvar + 1, sizeof *nf->col_names);
    nf->col_units = calloc((size_t)nvar + 1, sizeof *nf->col_units);
    nf->history = malloc(((size_t)nvar * nf->nepoch + 1) * sizeof *nf->history);
    double *col = malloc((nf->nepoch + 1) * sizeof *col);
    if (!nf->col_names || !nf->col_units || !nf->history || !col) {
      free(col);
      psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
      goto fail;
    }
    for (int v = 0; v < nvar; v++) {
      int nd, d;
      nc_type t;
      char name[PSFWI_NC_NAME_BUF] = "";
      if (nc_inq_var(nc, v, name, &t, &nd, NULL, NULL) != NC_NOERR || nd != 1 || t != NC_DOUBLE)
        continue;
      if (nc_inq_vardimid(nc, v, &d) != NC_NOERR || d != dep) continue;
      if (nf->nepoch && nc_get_var_double(nc, v, col) != NC_NOERR) {
        free(col);
        psfwi_fail(err, PSFWI_EFORMAT, "'%s': cannot read history column %s", path, name);
        goto fail;
      }
      const size_t k = nf->ncol++;
      nf->col_names[k] = strdup(name);
      char units[64] = "1";
      size_t ulen;
      if (nc_inq_attlen(nc, v, "units", &ulen) == NC_NOERR && ulen < sizeof units &&
          nc_get_att_text(nc, v, "units", units) == NC_NOERR)
        units[ulen] = '\0';
      nf->col_units[k] = strdup(units);
      if (!nf->col_names[k] || !nf->col_units[k]) {
        free(col);
        psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
        goto fail;
      }
      for (size_t e = 0; e < nf->nepoch; e++) nf->history[e * (size_t)nvar + k] = col[e];
    }
    free(col);
    /* compact from stride nvar to stride ncol */
    for (size_t e = 0; e < nf->nepoch; e++)
      for (size_t k = 0; k < nf->ncol; k++)
        nf->history[e * nf->ncol + k] = nf->history[e * (size_t)nvar + k];
  }
  psfwi_nc_close_(nc, path, NULL);
  return nf;
fail:
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  psfwi_netfile_destroy(nf);
  return NULL;
}
