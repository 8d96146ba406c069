/* libFuzzer target `npy`: the input as a NumPy .npy or .npz file (the reader
 * tells them apart by content) read as a model: index 0 and the default key
 * in the CLI's (nz, nx) order, and index 1 with key "vp" in (nx, nz) order. */
#include "fuzz_common.h"

#include "psfwi_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file("npy", ".npy", data, size);
  psfwi_error err = {0};

  const psfwi_npy_opts zx = {.dx = 10, .dz = 5, .order = PSFWI_ORDER_ZX, .key = NULL, .index = 0};
  psfwi_model *m = psfwi_npy_read_model(path, &zx, &err);
  psfwi_model_destroy(m);

  const psfwi_npy_opts xz = {.dx = 10, .dz = 0, .order = PSFWI_ORDER_XZ, .key = "vp", .index = 1};
  m = psfwi_npy_read_model(path, &xz, &err);
  psfwi_model_destroy(m);
  return 0;
}
