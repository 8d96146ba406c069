/* libFuzzer target `netcdf`: the input as a NetCDF file (classic, 64-bit
 * offset or netCDF-4/HDF5, as libnetcdf detects from its content) given to
 * every psfwi reader of NetCDF: the model reader (psfwi_nc_read_model, vp),
 * the gather reader (psfwi_nc_read_gather), the summary of `psfwi info`
 * (psfwi_nc_describe to /dev/null), the text attribute reader
 * (psfwi_nc_read_text_attribute, psfwi_config) and the resumable state
 * reader (psfwi_state_read, kind "fwi"). One process opens the same file
 * five times, as psfwi's commands can (the stale-HDF5-file defect of
 * docs/RELIABILITY.md); each input is a new file (fuzz_file_fresh). The
 * readers' forked probe (src/io/nc_check.c) gets 0.5 s per file here, so
 * that a file libhdf5 loops on is refused within libFuzzer's 1 s. */
#include "fuzz_common.h"

#include "psfwi_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setenv("PSFWI_NC_PROBE_SECONDS", "0.5", 0);
  const char *path = fuzz_file_fresh("netcdf", ".nc", data, size);
  psfwi_error err = {0};

  psfwi_model *m = psfwi_nc_read_model(path, NULL, &err);
  psfwi_model_destroy(m);

  psfwi_gather *g = psfwi_nc_read_gather(path, &err);
  psfwi_gather_destroy(g);

  FILE *out = fuzz_devnull();
  (void)psfwi_nc_describe(path, out, &err);
  fflush(out);

  char *text = psfwi_nc_read_text_attribute(path, "psfwi_config", &err);
  free(text);

  psfwi_state_item *items = NULL;
  size_t nitems = 0;
  if (psfwi_state_read(path, "fwi", &items, &nitems, &err) == PSFWI_OK)
    psfwi_state_free(items, nitems);
  return 0;
}
