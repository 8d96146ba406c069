/* NetCDF training-data shards (psfwi dataset generate): features(sample,
 * channel, position), vp(sample, z, x) in m/s, family(sample) and
 * model_seed(sample), with the acquisition text as a global attribute.
 * Built in memory (nc_write.c says why), written to a hidden temporary and
 * renamed: a shard that exists is complete. */
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

static int put_text(int nc, int var, const char *name, const char *value) {
  return nc_put_att_text(nc, var, name, strlen(value), value);
}

/* PSFWI_ERANGE unless n1 * n2 * n3 values of `size` bytes fit in size_t. */
static int sizes_fit(size_t n1, size_t n2, size_t n3, size_t size) {
  if (n1 == 0 || n2 == 0 || n3 == 0) return 1;
  return n1 <= SIZE_MAX / size / n2 && n1 * n2 <= SIZE_MAX / size / n3;
}

psfwi_shard *psfwi_shard_create(size_t nsample, size_t nchan, size_t width, const psfwi_grid *g,
                                psfwi_error *err) {
  if (g == NULL || psfwi_grid_check(g, "shard grid", err) != PSFWI_OK) {
    if (g == NULL) psfwi_fail(err, PSFWI_EINVAL, "shard: NULL grid");
    return NULL;
  }
  if (nsample < 1 || nchan < 1 || width < 1 || !sizes_fit(nsample, nchan, width, sizeof(float)) ||
      !sizes_fit(nsample, g->nz, g->nx, sizeof(float))) {
    psfwi_fail(err, PSFWI_ERANGE,
               "shard of %zu samples x %zu channels x %zu positions (models %zu x %zu); expected "
               ">= 1 of each, in memory",
               nsample, nchan, width, g->nx, g->nz);
    return NULL;
  }
  char detail[160];
  snprintf(detail, sizeof detail, "%zu samples of %zu x %zu features and %zu x %zu velocities",
           nsample, nchan, width, g->nz, g->nx);
  const double bytes =
      4.0 * (double)nsample * ((double)nchan * (double)width + (double)psfwi_grid_size(g)) +
      12.0 * (double)nsample;
  if (psfwi_mem_check(bytes, "a data-set shard", detail, err) != PSFWI_OK) return NULL;
  psfwi_shard *sh = calloc(1, sizeof *sh);
  if (sh == NULL) goto nomem;
  sh->nsample = nsample;
  sh->nchan = nchan;
  sh->width = width;
  sh->grid = *g;
  sh->features = malloc(nsample * nchan * width * sizeof *sh->features);
  sh->vp = malloc(nsample * psfwi_grid_size(g) * sizeof *sh->vp);
  sh->family = calloc(nsample, sizeof *sh->family);
  sh->model_seed = calloc(nsample, sizeof *sh->model_seed);
  if (sh->features == NULL || sh->vp == NULL || sh->family == NULL || sh->model_seed == NULL)
    goto nomem;
  return sh;
nomem:
  psfwi_shard_destroy(sh);
  psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a shard (%s)", detail);
  return NULL;
}

void psfwi_shard_destroy(psfwi_shard *sh) {
  if (sh == NULL) return;
  free(sh->features);
  free(sh->vp);
  free(sh->family);
  free(sh->model_seed);
  free(sh);
}

/* The values a shard may hold: finite features, finite and positive
 * velocities, families >= 0. Errors name `path`, the variable and where. */
static int check_values(const char *path, const psfwi_shard *sh, psfwi_error *err) {
  const size_t nf = sh->nchan * sh->width, nv = psfwi_grid_size(&sh->grid);
  for (size_t i = 0; i < sh->nsample * nf; i++)
    if (!isfinite(sh->features[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "'%s': features of sample %zu, channel %zu, position %zu is not finite",
                        path, i / nf, (i % nf) / sh->width, i % sh->width);
  for (size_t i = 0; i < sh->nsample * nv; i++)
    if (!isfinite(sh->vp[i]) || !(sh->vp[i] > 0.0f)) {
      const size_t c = i % nv;
      return psfwi_fail(err, isfinite(sh->vp[i]) ? PSFWI_ERANGE : PSFWI_ENONFINITE,
                        "'%s': vp of sample %zu at (iz = %zu, ix = %zu) is %g; expected a finite "
                        "velocity > 0 m/s",
                        path, i / nv, c / sh->grid.nx, c % sh->grid.nx, (double)sh->vp[i]);
    }
  for (size_t i = 0; i < sh->nsample; i++)
    if (sh->family[i] < -1)
      return psfwi_fail(err, PSFWI_EFORMAT, "'%s': family of sample %zu is %d; expected >= -1",
                        path, i, sh->family[i]);
  return PSFWI_OK;
}

int psfwi_nc_write_shard(const char *path, const psfwi_shard *sh, const char *acq_text,
                         const psfwi_meta *meta, psfwi_error *err) {
  char tmp[4096];
  int nc = -1, d[5], vz, vx, vf, vvp, vfam, vseed;
  if (sh == NULL || acq_text == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': no shard or no acquisition text", path);
  int st = check_values(path, sh, err);
  if (st != PSFWI_OK) return st;
  if (psfwi_tmp_path(path, tmp, sizeof tmp) == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': path too long", path);
  const psfwi_grid *g = &sh->grid;
  const size_t bytes = sh->nsample * (sh->nchan * sh->width + psfwi_grid_size(g)) * sizeof(float);
  if (psfwi_nc_create_mem_(path, bytes, &nc, err) != PSFWI_OK) goto fail;
  NCX(nc_def_dim(nc, "sample", sh->nsample, &d[0]), "defining dimension sample");
  NCX(nc_def_dim(nc, "channel", sh->nchan, &d[1]), "defining dimension channel");
  NCX(nc_def_dim(nc, "position", sh->width, &d[2]), "defining dimension position");
  NCX(nc_def_dim(nc, "z", g->nz, &d[3]), "defining dimension z");
  NCX(nc_def_dim(nc, "x", g->nx, &d[4]), "defining dimension x");
  NCX(psfwi_nc_def_coords_(nc, d[3], d[4], &vz, &vx), "defining coordinates");
  NCX(nc_def_var(nc, "features", NC_FLOAT, 3, d, &vf), "defining features");
  NCX(put_text(nc, vf, "units", "1"), "defining features");
  NCX(put_text(nc, vf, "long_name",
               "pseudo-spectral features: Fourier coefficients normalised per shot "
               "(psfwi_acquisition says which)"),
      "defining features");
  const size_t fchunk[3] = {1, sh->nchan, sh->width};
  NCX(nc_def_var_chunking(nc, vf, NC_CHUNKED, fchunk), "chunking features");
  const int dvp[3] = {d[0], d[3], d[4]};
  NCX(nc_def_var(nc, "vp", NC_FLOAT, 3, dvp, &vvp), "defining vp");
  NCX(put_text(nc, vvp, "units", "m/s"), "defining vp");
  NCX(put_text(nc, vvp, "long_name", "P-wave velocity of each sample's model"), "defining vp");
  NCX(put_text(nc, vvp, "coordinates", "z x"), "defining vp");
  const size_t vchunk[3] = {1, g->nz, g->nx};
  NCX(nc_def_var_chunking(nc, vvp, NC_CHUNKED, vchunk), "chunking vp");
  NCX(nc_def_var_deflate(nc, vvp, 1, 1, 1), "setting compression of vp");
  NCX(nc_def_var(nc, "family", NC_INT, 1, d, &vfam), "defining family");
  NCX(put_text(nc, vfam, "long_name",
               "synthetic model family (psfwi_family: the order of psfwi model synth "
               "--family; 0 = layered; -1 = a given model, [dataset] models)"),
      "defining family");
  NCX(nc_def_var(nc, "model_seed", NC_INT64, 1, d, &vseed), "defining model_seed");
  NCX(put_text(nc, vseed, "long_name",
               "seed of the model (psfwi_mix64(seed + sample index), unsigned, stored as int64)"),
      "defining model_seed");
  NCX(psfwi_nc_put_globals_(nc, meta, "psfwi training-data shard"), "writing global attributes");
  NCX(put_text(nc, NC_GLOBAL, "psfwi_acquisition", acq_text), "writing psfwi_acquisition");
  NCX(nc_enddef(nc), "leaving define mode");
  NCX(psfwi_nc_put_coords_(nc, vz, vx, g), "writing coordinates");
  NCX(nc_put_var_float(nc, vf, sh->features), "writing features");
  NCX(nc_put_var_float(nc, vvp, sh->vp), "writing vp");
  NCX(nc_put_var_int(nc, vfam, sh->family), "writing family");
  NCX(nc_put_var_longlong(nc, vseed, sh->model_seed), "writing model_seed");
  st = psfwi_nc_finish_mem_(nc, path, tmp, err);
  nc = -1;
  if (st != PSFWI_OK) goto fail;
  return psfwi_commit_file(tmp, path, err);
fail:
  if (nc >= 0) psfwi_nc_discard_(nc, tmp);
  unlink(tmp);
  return err ? err->status : PSFWI_EIO;
}

/* A global text attribute into a malloc'ed string, or NULL (absent). */
static char *text_attribute(int nc, const char *name) {
  nc_type type;
  size_t len = 0;
  if (nc_inq_att(nc, NC_GLOBAL, name, &type, &len) != NC_NOERR || type != NC_CHAR) return NULL;
  char *txt = malloc(len + 1);
  if (txt == NULL) return NULL;
  if (nc_get_att_text(nc, NC_GLOBAL, name, txt) != NC_NOERR) {
    free(txt);
    return NULL;
  }
  txt[len] = '\0';
  return txt;
}

psfwi_shard *psfwi_nc_read_shard(const char *path, char **acq_text, psfwi_error *err) {
  static const char *const dn[5] = {"sample", "channel", "position", "z", "x"};
  static const char *const dvp[3] = {"sample", "z", "x"};
  int nc = -1, d[5], vf, vvp, vfam, vseed;
  size_t n[5];
  psfwi_shard *sh = NULL;
  char *acq = NULL;
  if (acq_text != NULL) *acq_text = NULL;
  if (psfwi_nc_open_checked_(path, "cannot open the data-set shard", &nc, err) != PSFWI_OK)
    goto fail;
  if ((acq = text_attribute(nc, "psfwi_acquisition")) == NULL) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': not a psfwi training-data shard (no text attribute psfwi_acquisition)", path);
    goto fail;
  }
  for (int i = 0; i < 5; i++) {
    if (nc_inq_dimid(nc, dn[i], &d[i]) != NC_NOERR) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': dimension '%s' is missing; not a psfwi training-data shard", path, dn[i]);
      goto fail;
    }
    NCX(nc_inq_dimlen(nc, d[i], &n[i]), "inquiring a dimension length");
    if (n[i] < 1) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': dimension '%s' is empty; expected >= 1", path, dn[i]);
      goto fail;
    }
  }
  if (psfwi_nc_expect_var_(nc, path, "features", 3, dn, &vf, err) ||
      psfwi_nc_expect_var_(nc, path, "vp", 3, dvp, &vvp, err) ||
      psfwi_nc_expect_var_(nc, path, "family", 1, dn, &vfam, err) ||
      psfwi_nc_expect_var_(nc, path, "model_seed", 1, dn, &vseed, err))
    goto fail;
  struct {
    int var;
    const char *name;
    nc_type want;
  } const types[] = {{vf, "features", NC_FLOAT},
                     {vvp, "vp", NC_FLOAT},
                     {vfam, "family", NC_INT},
                     {vseed, "model_seed", NC_INT64}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    nc_type t;
    NCX(nc_inq_vartype(nc, types[i].var, &t), "inquiring a variable's type");
    if (t != types[i].want) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable '%s' has NetCDF type %d; expected %s", path,
                 types[i].name, (int)t,
                 types[i].want == NC_FLOAT ? "float"
                 : types[i].want == NC_INT ? "int"
                                           : "int64");
      goto fail;
    }
  }
  char units[64] = "";
  size_t ulen = 0;
  int units_ok = nc_inq_attlen(nc, vvp, "units", &ulen) == NC_NOERR && ulen < sizeof units &&
                 nc_get_att_text(nc, vvp, "units", units) == NC_NOERR;
  if (units_ok) {
    units[ulen] = '\0';
    units_ok = strcmp(units, "m/s") == 0 || strcmp(units, "m s-1") == 0;
  }
  if (!units_ok) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable 'vp' has units '%s'; expected 'm/s'", path,
               units);
    goto fail;
  }
  psfwi_grid g = {.nx = n[4], .nz = n[3], .dx = 1.0, .dz = 1.0};
  if (psfwi_nc_read_axis_(nc, path, "x", g.nx, &g.x0, &g.dx, err) != PSFWI_OK) goto fail;
  if (psfwi_nc_read_axis_(nc, path, "z", g.nz, &g.z0, &g.dz, err) != PSFWI_OK) goto fail;
  if (g.nx == 1) g.dx = g.dz;
  if (g.nz == 1) g.dz = g.dx;
  if ((sh = psfwi_shard_create(n[0], n[1], n[2], &g, err)) == NULL) {
    psfwi_error_prefix(err, "'%s'", path);
    goto fail;
  }
  NCX(nc_get_var_float(nc, vf, sh->features), "reading features");
  NCX(nc_get_var_float(nc, vvp, sh->vp), "reading vp");
  NCX(nc_get_var_int(nc, vfam, sh->family), "reading family");
  NCX(nc_get_var_longlong(nc, vseed, sh->model_seed), "reading model_seed");
  psfwi_nc_close_(nc, path, NULL);
  nc = -1;
  if (check_values(path, sh, err) != PSFWI_OK) goto fail;
  if (acq_text != NULL)
    *acq_text = acq;
  else
    free(acq);
  return sh;
fail:
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  free(acq);
  psfwi_shard_destroy(sh);
  return NULL;
}
