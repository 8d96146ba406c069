/* libFuzzer target `csv`: the input as a survey CSV
 * (shot,source_x,source_z,receiver_x,receiver_z) and, since it is text of
 * the same kind, as a wavelet series (psfwi_text_read_series). */
#include "fuzz_common.h"

#include "psfwi_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file("csv", ".csv", data, size);
  psfwi_error err = {0};

  psfwi_survey *s = psfwi_csv_read_survey(path, &err);
  psfwi_survey_destroy(s);

  float *v = NULL;
  size_t n = 0;
  if (psfwi_text_read_series(path, &v, &n, &err) == PSFWI_OK) free(v);
  return 0;
}
