/* NetCDF (CF-1.8) files: velocity models, shot gathers, inversion histories
 * and a generic summary. Built as netCDF-4 in memory (nc_write.c says why),
 * written to "<path>.tmp.<pid>", then renamed into place. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"
#include "psfwi_io.h"

static int put_text(int nc, int var, const char *name, const char *value) {
  return nc_put_att_text(nc, var, name, strlen(value), value);
}

/* ISO-8601 UTC time followed by the command line. */
static void history_line(const psfwi_meta *meta, char *buf, size_t len) {
  char stamp[32];
  time_t now = time(NULL);
  struct tm tmv;
  gmtime_r(&now, &tmv);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  snprintf(buf, len, "%s: %s", stamp,
           meta && meta->history && meta->history[0] ? meta->history : "psfwi library call");
}

int psfwi_nc_put_globals_(int nc, const psfwi_meta *meta, const char *default_title) {
  char hist[4096];
  history_line(meta, hist, sizeof hist);
  int st = put_text(nc, NC_GLOBAL, "Conventions", "CF-1.8");
  if (!st) st = put_text(nc, NC_GLOBAL, "title", meta && meta->title ? meta->title : default_title);
  if (!st) st = put_text(nc, NC_GLOBAL, "source", "psfwi " PSFWI_VERSION_STRING);
  if (!st) st = put_text(nc, NC_GLOBAL, "history", hist);
  if (!st && meta && meta->config) st = put_text(nc, NC_GLOBAL, "psfwi_config", meta->config);
  return st;
}

/* Coordinate variables z(z) (positive down) and x(x), in metres. */
int psfwi_nc_def_coords_(int nc, int dim_z, int dim_x, int *vz, int *vx) {
  int st = nc_def_var(nc, "z", NC_DOUBLE, 1, &dim_z, vz);
  if (!st) st = put_text(nc, *vz, "units", "m");
  if (!st) st = put_text(nc, *vz, "positive", "down");
  if (!st) st = put_text(nc, *vz, "axis", "Z");
  if (!st) st = put_text(nc, *vz, "standard_name", "depth");
  if (!st) st = put_text(nc, *vz, "long_name", "depth below the surface");
  if (!st) st = nc_def_var(nc, "x", NC_DOUBLE, 1, &dim_x, vx);
  if (!st) st = put_text(nc, *vx, "units", "m");
  if (!st) st = put_text(nc, *vx, "axis", "X");
  if (!st) st = put_text(nc, *vx, "long_name", "horizontal distance");
  return st;
}

int psfwi_nc_put_coords_(int nc, int vz, int vx, const psfwi_grid *g) {
  double *buf = malloc((g->nx > g->nz ? g->nx : g->nz) * sizeof *buf);
  if (buf == NULL) return NC_ENOMEM;
  for (size_t i = 0; i < g->nz; i++) buf[i] = g->z0 + (double)i * g->dz;
  int st = nc_put_var_double(nc, vz, buf);
  for (size_t i = 0; i < g->nx; i++) buf[i] = g->x0 + (double)i * g->dx;
  if (!st) st = nc_put_var_double(nc, vx, buf);
  free(buf);
  return st;
}

static int def_vp(int nc, int ndims, const int *dims, int *var, const char *long_name) {
  int st = nc_def_var(nc, "vp", NC_FLOAT, ndims, dims, var);
  if (!st) st = put_text(nc, *var, "units", "m/s");
  if (!st) st = put_text(nc, *var, "long_name", long_name);
  if (!st) st = put_text(nc, *var, "coordinates", ndims == 3 ? "iteration z x" : "z x");
  return st;
}

int psfwi_nc_write_model(const char *path, const psfwi_model *m, const psfwi_meta *meta,
                         psfwi_error *err) {
  return psfwi_nc_write_model_extra(path, m, 0, NULL, meta, err);
}

int psfwi_nc_write_model_extra(const char *path, const psfwi_model *m, size_t nextra,
                               const psfwi_nc_model_field *extra, const psfwi_meta *meta,
                               psfwi_error *err) {
  char tmp[4096];
  int nc = -1, dims[2], vz, vx, vvp, vex[8];
  int st = psfwi_model_check(m, path, err);
  if (st != PSFWI_OK) return st;
  if (nextra > 8) return psfwi_fail(err, PSFWI_EINVAL, "'%s': at most 8 extra fields", path);
  const size_t n = psfwi_grid_size(&m->grid);
  for (size_t k = 0; k < nextra; k++)
    for (size_t i = 0; i < n; i++)
      if (!isfinite(extra[k].data[i]))
        return psfwi_fail(err, PSFWI_ENONFINITE,
                          "'%s': %s at z index %zu, x index %zu is not finite", path, extra[k].name,
                          i / m->grid.nx, i % m->grid.nx);
  psfwi_tmp_path(path, tmp, sizeof tmp);
  if (psfwi_nc_create_mem_(path, (1 + nextra) * n * sizeof(float), &nc, err) != PSFWI_OK) goto fail;
  NCX(nc_def_dim(nc, "z", m->grid.nz, &dims[0]), "defining dimension z");
  NCX(nc_def_dim(nc, "x", m->grid.nx, &dims[1]), "defining dimension x");
  NCX(psfwi_nc_def_coords_(nc, dims[0], dims[1], &vz, &vx), "defining coordinates");
  NCX(def_vp(nc, 2, dims, &vvp, "P-wave velocity"), "defining vp");
  NCX(nc_def_var_deflate(nc, vvp, 1, 1, 1), "setting compression of vp");
  for (size_t k = 0; k < nextra; k++) {
    NCX(nc_def_var(nc, extra[k].name, NC_FLOAT, 2, dims, &vex[k]), "defining an extra field");
    NCX(put_text(nc, vex[k], "units", extra[k].units), "writing an attribute");
    NCX(put_text(nc, vex[k], "long_name", extra[k].long_name), "writing an attribute");
    NCX(put_text(nc, vex[k], "coordinates", "z x"), "writing an attribute");
    NCX(nc_def_var_deflate(nc, vex[k], 1, 1, 1), "setting compression");
  }
  NCX(psfwi_nc_put_globals_(nc, meta, "psfwi velocity model"), "writing global attributes");
  NCX(nc_enddef(nc), "leaving define mode");
  NCX(psfwi_nc_put_coords_(nc, vz, vx, &m->grid), "writing coordinates");
  NCX(nc_put_var_float(nc, vvp, m->vp), "writing vp");
  for (size_t k = 0; k < nextra; k++)
    NCX(nc_put_var_float(nc, vex[k], extra[k].data), "writing an extra field");
  st = psfwi_nc_finish_mem_(nc, path, tmp, err);
  nc = -1;
  if (st != PSFWI_OK) goto fail;
  return psfwi_commit_file(tmp, path, err);
fail:
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

/* Read a 1-D coordinate variable: check units metres and even spacing. */
int psfwi_nc_read_axis_(int nc, const char *path, const char *name, size_t n, double *origin,
                        double *step, psfwi_error *err) {
  int var;
  *origin = 0.0;
  if (nc_inq_varid(nc, name, &var) != NC_NOERR)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': coordinate variable '%s' is missing; expected %s(%s) in metres", path,
                      name, name, name);
  /* n values are read into a buffer of n: the variable must be name(name) of
   * exactly that length, and n >= 1 (c[0] is the origin). */
  int nd = -1, dim = -1;
  size_t len = 0;
  char dname[PSFWI_NC_NAME_BUF] = "";
  if (nc_inq_varndims(nc, var, &nd) != NC_NOERR || nd != 1 ||
      nc_inq_vardimid(nc, var, &dim) != NC_NOERR || nc_inq_dim(nc, dim, dname, &len) != NC_NOERR ||
      strcmp(dname, name) != 0 || len != n)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': coordinate variable '%s' has %d dimension(s)%s%s%s; expected %s(%s) "
                      "of length %zu",
                      path, name, nd, nd == 1 ? " ('" : "", nd == 1 ? dname : "",
                      nd == 1 ? "')" : "", name, name, n);
  if (n < 1)
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': dimension '%s' is empty; expected >= 1 point",
                      path, name);
  char units[64] = "";
  size_t ulen = 0;
  if (nc_inq_attlen(nc, var, "units", &ulen) == NC_NOERR && ulen < sizeof units) {
    if (nc_get_att_text(nc, var, "units", units) != NC_NOERR) ulen = 0;
    units[ulen] = '\0';
    if (strcmp(units, "m") != 0 && strcmp(units, "metre") != 0 && strcmp(units, "meter") != 0 &&
        strcmp(units, "metres") != 0 && strcmp(units, "meters") != 0)
      return psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' has units '%s'; expected 'm'",
                        path, name, units);
  }
  double *c = malloc(n * sizeof *c);
  if (c == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  int st = nc_get_var_double(nc, var, c);
  if (st != NC_NOERR) {
    free(c);
    return psfwi_fail(err, PSFWI_EIO, "'%s': reading '%s': %s", path, name, nc_strerror(st));
  }
  *origin = c[0];
  *step = n > 1 ? (c[n - 1] - c[0]) / (double)(n - 1) : 1.0;
  for (size_t i = 1; i < n; i++) {
    const double expect = c[0] + (double)i * *step;
    if (!isfinite(c[i]) || fabs(c[i] - expect) > 1e-6 * fabs(*step) + 1e-9 * fabs(c[i])) {
      const double got = c[i];
      free(c);
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "'%s': coordinate '%s' is not evenly spaced at index %zu (%g m, expected "
                        "%g m)",
                        path, name, i, got, expect);
    }
  }
  free(c);
  if (!(*step > 0.0))
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': coordinate '%s' must increase (step %g m)", path,
                      name, *step);
  return PSFWI_OK;
}

/* Cells equal to the variable's _FillValue or one of its missing_value(s)
 * (else the NetCDF default fill of its type) are missing data, not
 * velocities: refuse the first one, naming its position. Values are
 * compared as float, the type the model holds. */
static int check_missing(int nc, int v, nc_type type, const char *path, const char *var,
                         const psfwi_model *m, psfwi_error *err) {
  enum { MAXMISS = 9 };
  float miss[MAXMISS];
  const char *miss_what[MAXMISS];
  size_t nmiss = 0;
  nc_type at;
  size_t len;
  double val[MAXMISS - 1];
  if (nc_inq_att(nc, v, "_FillValue", &at, &len) == NC_NOERR && len == 1 && at != NC_CHAR &&
      at != NC_STRING && nc_get_att_double(nc, v, "_FillValue", val) == NC_NOERR) {
    miss_what[nmiss] = "_FillValue";
    miss[nmiss++] = (float)val[0];
  } else {
    miss_what[nmiss] = "the NetCDF default _FillValue";
    miss[nmiss++] = type == NC_DOUBLE ? (float)NC_FILL_DOUBLE : NC_FILL_FLOAT;
  }
  if (nc_inq_att(nc, v, "missing_value", &at, &len) == NC_NOERR && len >= 1 && len <= MAXMISS - 1 &&
      at != NC_CHAR && at != NC_STRING &&
      nc_get_att_double(nc, v, "missing_value", val) == NC_NOERR)
    for (size_t i = 0; i < len; i++) {
      miss_what[nmiss] = "missing_value";
      miss[nmiss++] = (float)val[i];
    }
  const psfwi_grid *g = &m->grid;
  const size_t n = g->nx * g->nz;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < nmiss; k++)
      if (m->vp[i] == miss[k]) {
        const size_t iz = i / g->nx, ix = i % g->nx;
        return psfwi_fail(err, PSFWI_EFORMAT,
                          "'%s': %s(z = %g m, x = %g m) [iz = %zu, ix = %zu] is missing (%s %g)",
                          path, var, g->z0 + (double)iz * g->dz, g->x0 + (double)ix * g->dx, iz, ix,
                          miss_what[k], (double)miss[k]);
      }
  return PSFWI_OK;
}

psfwi_model *psfwi_nc_read_model(const char *path, const char *varname, psfwi_error *err) {
  const char *var = varname ? varname : "vp";
  int nc = -1, v, ndims, dimids[NC_MAX_VAR_DIMS];
  nc_type type;
  psfwi_model *m = NULL;
  if (psfwi_nc_open_checked_(path, NULL, &nc, err) != PSFWI_OK) goto fail;
  if (nc_inq_varid(nc, var, &v) != NC_NOERR) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': no variable '%s'; expected %s(z, x) in m/s", path, var,
               var);
    goto fail;
  }
  NCX(nc_inq_varndims(nc, v, &ndims), "inquiring the velocity variable");
  if (ndims < 0 || ndims > NC_MAX_VAR_DIMS) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' has %d dimensions; expected (z, x)", path,
               var, ndims);
    goto fail;
  }
  NCX(nc_inq_var(nc, v, NULL, &type, &ndims, dimids, NULL), "inquiring the velocity variable");
  char dz_name[PSFWI_NC_NAME_BUF] = "", dx_name[PSFWI_NC_NAME_BUF] = "";
  size_t nz = 0, nx = 0;
  if (ndims == 2) {
    NCX(nc_inq_dim(nc, dimids[0], dz_name, &nz), "inquiring dimension 0");
    NCX(nc_inq_dim(nc, dimids[1], dx_name, &nx), "inquiring dimension 1");
  }
  if (ndims != 2 || strcmp(dz_name, "z") != 0 || strcmp(dx_name, "x") != 0) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': variable '%s' has %d dimension(s)%s%s%s%s%s; expected (z, x)%s", path, var,
               ndims, ndims == 2 ? " (" : "", ndims == 2 ? dz_name : "", ndims == 2 ? ", " : "",
               ndims == 2 ? dx_name : "", ndims == 2 ? ")" : "",
               ndims == 3 ? " (for a history file, psfwi info shows its iterations)" : "");
    goto fail;
  }
  if (nz == 0 || nx == 0) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': variable '%s' is %zu x %zu (z x x): dimension '%s' is empty; expected >= 1 "
               "point",
               path, var, nz, nx, nz == 0 ? "z" : "x");
    goto fail;
  }
  if (type != NC_FLOAT && type != NC_DOUBLE) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' is not float or double", path, var);
    goto fail;
  }
  char units[64] = "";
  size_t ulen = 0;
  if (nc_inq_attlen(nc, v, "units", &ulen) == NC_NOERR && ulen < sizeof units) {
    nc_get_att_text(nc, v, "units", units);
    units[ulen] = '\0';
    if (strcmp(units, "m/s") != 0 && strcmp(units, "m s-1") != 0) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' has units '%s'; expected 'm/s'", path,
                 var, units);
      goto fail;
    }
  }
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = 1.0, .dz = 1.0};
  if (psfwi_nc_read_axis_(nc, path, "x", nx, &g.x0, &g.dx, err) != PSFWI_OK) goto fail;
  if (psfwi_nc_read_axis_(nc, path, "z", nz, &g.z0, &g.dz, err) != PSFWI_OK) goto fail;
  if (nx == 1) g.dx = g.dz;
  if (nz == 1) g.dz = g.dx;
  m = psfwi_model_create(&g, err);
  if (m == NULL) {
    psfwi_error_prefix(err, "'%s'", path);
    goto fail;
  }
  NCX(nc_get_var_float(nc, v, m->vp), "reading the velocity values");
  if (check_missing(nc, v, type, path, var, m, err) != PSFWI_OK) goto fail;
  psfwi_nc_close_(nc, path, NULL);
  nc = -1;
  char what[4200];
  snprintf(what, sizeof what, "'%s' variable '%s'", path, var);
  if (psfwi_model_check(m, what, err) != PSFWI_OK) goto fail;
  return m;
fail:
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  psfwi_model_destroy(m);
  return NULL;
}

/* ---- Shot gathers --------------------------------------------------------- */

psfwi_gather *psfwi_gather_create(const psfwi_survey *s, size_t nt, double dt, psfwi_error *err) {
  if (nt < 1 || !(dt > 0.0)) {
    psfwi_fail(err, PSFWI_ERANGE, "gather with %zu samples at %g s; expected >= 1 and > 0", nt, dt);
    return NULL;
  }
  psfwi_gather *g = calloc(1, sizeof *g);
  if (g == NULL) goto nomem;
  g->survey = psfwi_survey_create(s->nshot, s->nrec, err);
  if (g->survey == NULL) goto fail;
  memcpy(g->survey->sx, s->sx, s->nshot * sizeof *s->sx);
  memcpy(g->survey->sz, s->sz, s->nshot * sizeof *s->sz);
  memcpy(g->survey->rx, s->rx, s->nshot * s->nrec * sizeof *s->rx);
  memcpy(g->survey->rz, s->rz, s->nshot * s->nrec * sizeof *s->rz);
  g->nt = nt;
  g->dt = dt;
  g->data = calloc(s->nshot * s->nrec * nt, sizeof *g->data);
  g->wavelet = calloc(nt, sizeof *g->wavelet);
  if (g->data == NULL || g->wavelet == NULL) goto nomem;
  return g;
nomem:
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a gather of %zu x %zu x %zu samples", s->nshot,
             s->nrec, nt);
fail:
  psfwi_gather_destroy(g);
  return NULL;
}

void psfwi_gather_destroy(psfwi_gather *g) {
  if (g == NULL) return;
  psfwi_survey_destroy(g->survey);
  free(g->data);
  free(g->wavelet);
  free(g->live);
  free(g);
}

static int def_var(int nc, const char *name, nc_type type, int nd, const int *dims,
                   const char *units, const char *long_name, int *var) {
  int st = nc_def_var(nc, name, type, nd, dims, var);
  if (!st && units) st = put_text(nc, *var, "units", units);
  if (!st) st = put_text(nc, *var, "long_name", long_name);
  return st;
}

int psfwi_nc_write_gather(const char *path, const psfwi_gather *g, const psfwi_meta *meta,
                          psfwi_error *err) {
  char tmp[4096];
  int nc = -1, d[3], vt, vsx, vsz, vrx, vrz, vp, vw, vl = -1;
  const psfwi_survey *s = g->survey;
  const size_t n = s->nshot * s->nrec * g->nt;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(g->data[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "'%s': pressure sample %zu of trace %zu is not finite; not written", path,
                        i % g->nt, i / g->nt);
  psfwi_tmp_path(path, tmp, sizeof tmp);
  if (psfwi_nc_create_mem_(path, n * sizeof(float), &nc, err) != PSFWI_OK) goto fail;
  NCX(nc_def_dim(nc, "shot", s->nshot, &d[0]), "defining dimension shot");
  NCX(nc_def_dim(nc, "receiver", s->nrec, &d[1]), "defining dimension receiver");
  NCX(nc_def_dim(nc, "time", g->nt, &d[2]), "defining dimension time");
  NCX(def_var(nc, "time", NC_DOUBLE, 1, &d[2], "s", "time after source start", &vt),
      "defining time");
  NCX(put_text(nc, vt, "axis", "T"), "defining time");
  NCX(def_var(nc, "source_x", NC_DOUBLE, 1, &d[0], "m", "source horizontal position", &vsx),
      "defining source_x");
  NCX(def_var(nc, "source_z", NC_DOUBLE, 1, &d[0], "m", "source depth", &vsz), "defining source_z");
  NCX(put_text(nc, vsz, "positive", "down"), "defining source_z");
  NCX(def_var(nc, "receiver_x", NC_DOUBLE, 2, d, "m", "receiver horizontal position", &vrx),
      "defining receiver_x");
  NCX(def_var(nc, "receiver_z", NC_DOUBLE, 2, d, "m", "receiver depth", &vrz),
      "defining receiver_z");
  NCX(put_text(nc, vrz, "positive", "down"), "defining receiver_z");
  NCX(def_var(nc, "pressure", NC_FLOAT, 3, d, "1",
              "acoustic pressure for a unit-amplitude source wavelet", &vp),
      "defining pressure");
  NCX(put_text(nc, vp, "coordinates", "time source_x source_z receiver_x receiver_z"),
      "defining pressure");
  NCX(nc_def_var_deflate(nc, vp, 1, 1, 1), "setting compression of pressure");
  NCX(def_var(nc, "wavelet", NC_FLOAT, 1, &d[2], "1", "source wavelet f(t)", &vw),
      "defining wavelet");
  if (g->live != NULL) {
    /* irregular spreads: which traces pad a shot (psfwi_gather.live) */
    static const signed char flags[2] = {0, 1};
    NCX(def_var(nc, "trace_live", NC_BYTE, 2, d, NULL, "trace recorded (1) or padding (0)", &vl),
        "defining trace_live");
    NCX(nc_put_att_schar(nc, vl, "flag_values", NC_BYTE, 2, flags), "defining trace_live");
    NCX(put_text(nc, vl, "flag_meanings", "padding recorded"), "defining trace_live");
  }
  NCX(psfwi_nc_put_globals_(nc, meta, "psfwi shot gathers"), "writing global attributes");
  NCX(nc_put_att_double(nc, NC_GLOBAL, "sample_interval", NC_DOUBLE, 1, &g->dt),
      "writing sample_interval");
  NCX(nc_enddef(nc), "leaving define mode");
  double *t = malloc(g->nt * sizeof *t);
  if (t == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  for (size_t i = 0; i < g->nt; i++) t[i] = (double)i * g->dt;
  int st = nc_put_var_double(nc, vt, t);
  free(t);
  NCX(st, "writing time");
  NCX(nc_put_var_double(nc, vsx, s->sx), "writing source_x");
  NCX(nc_put_var_double(nc, vsz, s->sz), "writing source_z");
  NCX(nc_put_var_double(nc, vrx, s->rx), "writing receiver_x");
  NCX(nc_put_var_double(nc, vrz, s->rz), "writing receiver_z");
  NCX(nc_put_var_float(nc, vp, g->data), "writing pressure");
  NCX(nc_put_var_float(nc, vw, g->wavelet), "writing wavelet");
  if (vl >= 0) NCX(nc_put_var_uchar(nc, vl, g->live), "writing trace_live");
  st = psfwi_nc_finish_mem_(nc, path, tmp, err);
  nc = -1;
  if (st != PSFWI_OK) goto fail;
  return psfwi_commit_file(tmp, path, err);
fail:
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

/* Inquire a variable by name with the expected dimension names. */
int psfwi_nc_expect_var_(int nc, const char *path, const char *name, int nd, const char *const *dn,
                         int *var, psfwi_error *err) {
  int ndims, dims[NC_MAX_VAR_DIMS];
  if (nc_inq_varid(nc, name, var) != NC_NOERR)
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' is missing", path, name);
  if (nc_inq_varndims(nc, *var, &ndims) != NC_NOERR) ndims = -1;
  if (ndims != nd)
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' has %d dimensions; expected %d",
                      path, name, ndims, nd);
  if (nc_inq_vardimid(nc, *var, dims) != NC_NOERR)
    return psfwi_fail(err, PSFWI_EFORMAT, "'%s': cannot inquire the dimensions of '%s'", path,
                      name);
  for (int i = 0; i < nd; i++) {
    char dname[PSFWI_NC_NAME_BUF] = "";
    if (nc_inq_dimname(nc, dims[i], dname) != NC_NOERR)
      return psfwi_fail(err, PSFWI_EFORMAT, "'%s': cannot inquire dimension %d of variable '%s'",
                        path, i, name);
    if (strcmp(dname, dn[i]) != 0)
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "'%s': dimension %d of variable '%s' is '%s'; expected '%s'", path, i, name,
                        dname, dn[i]);
  }
  return PSFWI_OK;
}

psfwi_gather *psfwi_nc_read_gather(const char *path, psfwi_error *err) {
  int nc = -1, d[3], vt, vsx, vsz, vrx, vrz, vp, vw;
  psfwi_gather *g = NULL;
  double *t = NULL;
  static const char *const dn[3] = {"shot", "receiver", "time"};
  size_t n[3];
  if (psfwi_nc_open_checked_(path, NULL, &nc, err) != PSFWI_OK) goto fail;
  for (int i = 0; i < 3; i++) {
    if (nc_inq_dimid(nc, dn[i], &d[i]) != NC_NOERR) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': dimension '%s' is missing; not a psfwi shot file", path,
                 dn[i]);
      goto fail;
    }
    NCX(nc_inq_dimlen(nc, d[i], &n[i]), "inquiring a dimension length");
  }
  /* Sizes first: everything below allocates from them. */
  if (n[0] < 1 || n[1] < 1 || n[2] < 2) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': %zu shots x %zu receivers x %zu samples; expected at "
               "least 1 x 1 x 2",
               path, n[0], n[1], n[2]);
    goto fail;
  }
  if (n[0] > SIZE_MAX / sizeof(double) / n[1] || n[0] * n[1] > SIZE_MAX / sizeof(float) / n[2]) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': %zu shots x %zu receivers x %zu samples do not fit in "
               "memory",
               path, n[0], n[1], n[2]);
    goto fail;
  }
  if (psfwi_nc_expect_var_(nc, path, "pressure", 3, dn, &vp, err) ||
      psfwi_nc_expect_var_(nc, path, "time", 1, dn + 2, &vt, err) ||
      psfwi_nc_expect_var_(nc, path, "source_x", 1, dn, &vsx, err) ||
      psfwi_nc_expect_var_(nc, path, "source_z", 1, dn, &vsz, err) ||
      psfwi_nc_expect_var_(nc, path, "receiver_x", 2, dn, &vrx, err) ||
      psfwi_nc_expect_var_(nc, path, "receiver_z", 2, dn, &vrz, err) ||
      psfwi_nc_expect_var_(nc, path, "wavelet", 1, dn + 2, &vw, err))
    goto fail;
  t = malloc(n[2] * sizeof *t);
  if (t == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for %zu time samples", path, n[2]);
    goto fail;
  }
  NCX(nc_get_var_double(nc, vt, t), "reading time");
  const double dt = t[1] - t[0];
  for (size_t i = 0; i < n[2]; i++)
    if (!(fabs(t[i] - (double)i * dt) <= 1e-6 * dt)) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': time is not i * dt from 0 at sample %zu (%g s, dt = %g s)", path, i, t[i],
                 dt);
      goto fail;
    }
  if (!(dt > 0.0)) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': time step %g s; expected > 0", path, dt);
    goto fail;
  }
  psfwi_survey tmpl = {.nshot = n[0], .nrec = n[1]};
  psfwi_survey *s = psfwi_survey_create(n[0], n[1], err);
  if (s == NULL) goto fail;
  tmpl = *s;
  g = psfwi_gather_create(&tmpl, n[2], dt, err);
  psfwi_survey_destroy(s);
  if (g == NULL) goto fail;
  NCX(nc_get_var_double(nc, vsx, g->survey->sx), "reading source_x");
  NCX(nc_get_var_double(nc, vsz, g->survey->sz), "reading source_z");
  NCX(nc_get_var_double(nc, vrx, g->survey->rx), "reading receiver_x");
  NCX(nc_get_var_double(nc, vrz, g->survey->rz), "reading receiver_z");
  NCX(nc_get_var_float(nc, vp, g->data), "reading pressure");
  NCX(nc_get_var_float(nc, vw, g->wavelet), "reading wavelet");
  int vl;
  if (nc_inq_varid(nc, "trace_live", &vl) == NC_NOERR) {
    if (psfwi_nc_expect_var_(nc, path, "trace_live", 2, dn, &vl, err) != PSFWI_OK) goto fail;
    if ((g->live = malloc(n[0] * n[1])) == NULL) {
      psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
      goto fail;
    }
    NCX(nc_get_var_uchar(nc, vl, g->live), "reading trace_live");
    for (size_t i = 0; i < n[0] * n[1]; i++)
      if (g->live[i] > 1) {
        psfwi_fail(err, PSFWI_EFORMAT,
                   "'%s': trace_live of shot %zu, receiver %zu is %d; expected 0 (padding) or 1",
                   path, i / n[1], i % n[1], (int)g->live[i]);
        goto fail;
      }
  }
  psfwi_nc_close_(nc, path, NULL);
  nc = -1;
  free(t);
  t = NULL;
  const size_t total = n[0] * n[1] * n[2];
  for (size_t i = 0; i < total; i++)
    if (!isfinite(g->data[i])) {
      psfwi_fail(err, PSFWI_ENONFINITE,
                 "'%s': pressure at shot %zu, receiver %zu, sample %zu is not finite", path,
                 i / (n[1] * n[2]), (i / n[2]) % n[1], i % n[2]);
      goto fail;
    }
  return g;
fail:
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  free(t);
  psfwi_gather_destroy(g);
  return NULL;
}

/* ---- Inversion history ------------------------------------------------------ */

struct psfwi_history {
  char path[4096], tmp[4200];
  int nc, vvp, vit;
  int failed; /* an append failed: the file is discarded at close */
  int *vscalar;
  size_t nscalar, niter;
  psfwi_grid grid;
  int vvec[4]; /* per-frame vectors (psfwi_history_add_vector) */
  size_t nvec_len[4], nvec;
};

/* A file of 2-D frames along an unlimited dimension `fdim`: var(fdim, z, x)
 * plus per-frame scalars name(fdim). Histories number their frames with an
 * int variable iteration(iteration); snapshots use the scalar time(time). */
static psfwi_history *frames_create(const char *path, const psfwi_grid *g, const char *fdim,
                                    int numbered, const char *var, const char *var_units,
                                    const char *var_long, size_t nscalar,
                                    const char *const *scalar_names,
                                    const char *const *scalar_units, const psfwi_meta *meta,
                                    const char *default_title, psfwi_error *err) {
  psfwi_history *h = calloc(1, sizeof *h);
  int d[3], vz, vx;
  if (h == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    return NULL;
  }
  h->nc = -1;
  h->vit = -1;
  h->grid = *g;
  h->nscalar = nscalar;
  snprintf(h->path, sizeof h->path, "%s", path);
  psfwi_tmp_path(path, h->tmp, sizeof h->tmp);
  h->vscalar = calloc(nscalar + 1, sizeof *h->vscalar);
  if (h->vscalar == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  if (psfwi_nc_create_mem_(path, psfwi_grid_size(g) * sizeof(float), &h->nc, err) != PSFWI_OK)
    goto fail;
  NCX(nc_def_dim(h->nc, fdim, NC_UNLIMITED, &d[0]), "defining the unlimited dimension");
  NCX(nc_def_dim(h->nc, "z", g->nz, &d[1]), "defining dimension z");
  NCX(nc_def_dim(h->nc, "x", g->nx, &d[2]), "defining dimension x");
  if (numbered)
    NCX(def_var(h->nc, fdim, NC_INT, 1, d, NULL, "iteration number (0 = starting model)", &h->vit),
        "defining iteration");
  NCX(psfwi_nc_def_coords_(h->nc, d[1], d[2], &vz, &vx), "defining coordinates");
  NCX(def_var(h->nc, var, NC_FLOAT, 3, d, var_units, var_long, &h->vvp), "defining the frames");
  char coords[64];
  snprintf(coords, sizeof coords, "%s z x", fdim);
  NCX(put_text(h->nc, h->vvp, "coordinates", coords), "defining the frames");
  size_t chunk[3] = {1, g->nz, g->nx};
  NCX(nc_def_var_chunking(h->nc, h->vvp, NC_CHUNKED, chunk), "chunking the frames");
  NCX(nc_def_var_deflate(h->nc, h->vvp, 1, 1, 1), "setting compression of the frames");
  for (size_t i = 0; i < nscalar; i++)
    NCX(def_var(h->nc, scalar_names[i], NC_DOUBLE, 1, d,
                scalar_units && scalar_units[i] ? scalar_units[i] : "1", scalar_names[i],
                &h->vscalar[i]),
        "defining a per-frame scalar");
  NCX(psfwi_nc_put_globals_(h->nc, meta, default_title), "writing global attributes");
  NCX(nc_enddef(h->nc), "leaving define mode");
  NCX(psfwi_nc_put_coords_(h->nc, vz, vx, g), "writing coordinates");
  return h;
fail:
  if (h->nc >= 0) psfwi_nc_discard_(h->nc, h->tmp);
  unlink(h->tmp);
  free(h->vscalar);
  free(h);
  return NULL;
}

psfwi_history *psfwi_history_create(const char *path, const psfwi_grid *g, size_t nscalar,
                                    const char *const *scalar_names,
                                    const char *const *scalar_units, const psfwi_meta *meta,
                                    psfwi_error *err) {
  return frames_create(path, g, "iteration", 1, "vp", "m/s", "P-wave velocity after each iteration",
                       nscalar, scalar_names, scalar_units, meta, "psfwi inversion history", err);
}

psfwi_history *psfwi_snapshots_create(const char *path, const psfwi_grid *g, const psfwi_meta *meta,
                                      psfwi_error *err) {
  static const char *const names[] = {"time"}, *const units[] = {"s"};
  return frames_create(path, g, "time", 0, "pressure", "1",
                       "acoustic pressure wavefield for a unit-amplitude source wavelet", 1, names,
                       units, meta, "psfwi wavefield snapshots", err);
}

int psfwi_history_append(psfwi_history *h, const psfwi_model *m, const double *scalars,
                         psfwi_error *err) {
  const char *path = h->path;
  if (m->grid.nx != h->grid.nx || m->grid.nz != h->grid.nz)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': model of %zu x %zu for a history of %zu x %zu",
                      path, m->grid.nx, m->grid.nz, h->grid.nx, h->grid.nz);
  size_t start[3] = {h->niter, 0, 0}, count[3] = {1, h->grid.nz, h->grid.nx};
  int it = (int)h->niter;
  if (h->vit >= 0) NCX(nc_put_var1_int(h->nc, h->vit, start, &it), "writing iteration");
  NCX(nc_put_vara_float(h->nc, h->vvp, start, count, m->vp), "writing a frame");
  for (size_t i = 0; i < h->nscalar; i++)
    NCX(nc_put_var1_double(h->nc, h->vscalar[i], start, &scalars[i]), "writing a scalar");
  h->niter++;
  return PSFWI_OK;
fail:
  h->failed = 1;
  return err ? err->status : PSFWI_EIO;
}

int psfwi_history_add_vector(psfwi_history *h, const char *name, const char *dim, size_t n,
                             double step, const char *units, const char *long_name,
                             psfwi_error *err) {
  const char *path = h->path;
  if (h->nvec >= sizeof h->vvec / sizeof h->vvec[0] || n == 0 || h->niter > 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "'%s': per-frame vector '%s' of %zu values: at most 4, before the first "
                      "frame, n >= 1",
                      path, name, n);
  int d[2], vc;
  double *c = malloc(n * sizeof *c);
  if (c == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  for (size_t i = 0; i < n; i++) c[i] = (double)i * step;
  NCX(nc_redef(h->nc), "adding a per-frame vector");
  NCX(nc_inq_unlimdim(h->nc, &d[0]), "adding a per-frame vector");
  NCX(nc_def_dim(h->nc, dim, n, &d[1]), "defining a vector's dimension");
  NCX(def_var(h->nc, dim, NC_DOUBLE, 1, &d[1], "s", dim, &vc), "defining a vector's axis");
  NCX(def_var(h->nc, name, NC_FLOAT, 2, d, units, long_name, &h->vvec[h->nvec]),
      "defining a per-frame vector");
  NCX(nc_enddef(h->nc), "adding a per-frame vector");
  NCX(nc_put_var_double(h->nc, vc, c), "writing a vector's axis");
  free(c);
  h->nvec_len[h->nvec++] = n;
  return PSFWI_OK;
fail:
  free(c);
  h->failed = 1;
  return err ? err->status : PSFWI_EIO;
}

int psfwi_history_append_vector(psfwi_history *h, size_t k, const float *values, psfwi_error *err) {
  const char *path = h->path;
  if (k >= h->nvec || h->niter == 0)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': no per-frame vector %zu or no frame yet", path, k);
  size_t start[2] = {h->niter - 1, 0}, count[2] = {1, h->nvec_len[k]};
  NCX(nc_put_vara_float(h->nc, h->vvec[k], start, count, values), "writing a per-frame vector");
  return PSFWI_OK;
fail:
  h->failed = 1;
  return err ? err->status : PSFWI_EIO;
}

int psfwi_history_close(psfwi_history *h, int commit, psfwi_error *err) {
  if (h == NULL) return PSFWI_OK;
  int ret = PSFWI_OK;
  if (commit && h->failed) {
    ret = psfwi_fail(err, PSFWI_EIO, "'%s': not written: an earlier write to it failed", h->path);
    commit = 0;
  }
  if (!commit) {
    psfwi_nc_discard_(h->nc, h->tmp);
  } else if ((ret = psfwi_nc_finish_mem_(h->nc, h->path, h->tmp, err)) == PSFWI_OK) {
    ret = psfwi_commit_file(h->tmp, h->path, err);
  }
  h->nc = -1;
  free(h->vscalar);
  free(h);
  return ret;
}

int psfwi_nc_write_fields(const char *path, const psfwi_grid *g, size_t nfield,
                          const psfwi_nc_field *fields, size_t nscalar,
                          const psfwi_nc_scalar *scalars, const psfwi_meta *meta,
                          psfwi_error *err) {
  char tmp[4096];
  int nc = -1, dims[2], vz, vx;
  int *vf = calloc(nfield + nscalar + 1, sizeof *vf);
  if (vf == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  psfwi_tmp_path(path, tmp, sizeof tmp);
  for (size_t k = 0; k < nfield; k++)
    for (size_t i = 0; i < g->nx * g->nz; i++)
      if (!isfinite(fields[k].data[i])) {
        free(vf);
        return psfwi_fail(err, PSFWI_ENONFINITE, "'%s': %s[iz = %zu, ix = %zu] is not finite", path,
                          fields[k].name, i / g->nx, i % g->nx);
      }
  if (psfwi_nc_create_mem_(path, nfield * psfwi_grid_size(g) * sizeof(double), &nc, err) !=
      PSFWI_OK)
    goto fail;
  NCX(nc_def_dim(nc, "z", g->nz, &dims[0]), "defining dimension z");
  NCX(nc_def_dim(nc, "x", g->nx, &dims[1]), "defining dimension x");
  NCX(psfwi_nc_def_coords_(nc, dims[0], dims[1], &vz, &vx), "defining coordinates");
  for (size_t k = 0; k < nfield; k++) {
    NCX(def_var(nc, fields[k].name, NC_DOUBLE, 2, dims, fields[k].units, fields[k].long_name,
                &vf[k]),
        "defining a field");
    NCX(put_text(nc, vf[k], "coordinates", "z x"), "defining a field");
  }
  for (size_t k = 0; k < nscalar; k++)
    NCX(def_var(nc, scalars[k].name, NC_DOUBLE, 0, NULL, scalars[k].units, scalars[k].long_name,
                &vf[nfield + k]),
        "defining a scalar");
  NCX(psfwi_nc_put_globals_(nc, meta, "psfwi fields"), "writing global attributes");
  NCX(nc_enddef(nc), "leaving define mode");
  NCX(psfwi_nc_put_coords_(nc, vz, vx, g), "writing coordinates");
  for (size_t k = 0; k < nfield; k++)
    NCX(nc_put_var_double(nc, vf[k], fields[k].data), "writing a field");
  for (size_t k = 0; k < nscalar; k++)
    NCX(nc_put_var_double(nc, vf[nfield + k], &scalars[k].value), "writing a scalar");
  int st = psfwi_nc_finish_mem_(nc, path, tmp, err);
  nc = -1;
  if (st != PSFWI_OK) goto fail;
  free(vf);
  return psfwi_commit_file(tmp, path, err);
fail:
  free(vf);
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

char *psfwi_nc_read_text_attribute(const char *path, const char *name, psfwi_error *err) {
  int nc = -1;
  size_t len = 0;
  char *txt = NULL;
  if (psfwi_nc_open_checked_(path, NULL, &nc, err) != PSFWI_OK) goto fail;
  nc_type type;
  if (nc_inq_att(nc, NC_GLOBAL, name, &type, &len) != NC_NOERR || type != NC_CHAR) {
    psfwi_fail(err, PSFWI_EKEY, "'%s': no text attribute '%s'", path, name);
    goto fail;
  }
  txt = malloc(len + 1);
  if (txt == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  NCX(nc_get_att_text(nc, NC_GLOBAL, name, txt), "reading an attribute");
  txt[len] = '\0';
  psfwi_nc_close_(nc, path, NULL);
  return txt;
fail:
  free(txt);
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  return NULL;
}
