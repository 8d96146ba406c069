/* libFuzzer target `segy`: the input as a SEG-Y file read through segyio
 * as a model (spacing from the headers, and with dx / dz overrides) and as
 * shot gathers. */
#include "fuzz_common.h"

#include "psfwi_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file("segy", ".segy", data, size);
  psfwi_error err = {0};

  psfwi_model *m = psfwi_segy_read_model(path, NULL, &err);
  psfwi_model_destroy(m);
  const psfwi_segy_opts headers = {.dx = 0, .dz = 0};
  m = psfwi_segy_read_model(path, &headers, &err);
  psfwi_model_destroy(m);
  const psfwi_segy_opts over = {.dx = 12.5, .dz = 5};
  m = psfwi_segy_read_model(path, &over, &err);
  psfwi_model_destroy(m);
  const psfwi_segy_opts dx_only = {.dx = 10, .dz = 0};
  m = psfwi_segy_read_model(path, &dx_only, &err);
  psfwi_model_destroy(m);

  psfwi_gather *g = psfwi_segy_read_gather(path, &err);
  psfwi_gather_destroy(g);
  return 0;
}
