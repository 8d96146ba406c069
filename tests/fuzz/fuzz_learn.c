/* libFuzzer target `learn`: the input as the text of a network description
 * (psfwi_arch_parse, then the network built for 8 positions and a batch of
 * 2, as `psfwi dnn` does with a network file's psfwi_architecture) and as
 * an acquisition record (psfwi_learn_acq_parse, and its text again). */
#include "fuzz_common.h"

#include "psfwi_learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* networks beyond 256 MB are refused by psfwi_mem_check, as a user's
   * PSFWI_MEM_LIMIT_MB would; below libFuzzer's 1 GB RSS limit */
  setenv("PSFWI_MEM_LIMIT_MB", "256", 0);
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  psfwi_error err = {0};
  psfwi_arch a;
  if (psfwi_arch_parse(text, "fuzz", &a, &err) == PSFWI_OK) {
    /* a legitimately big network (10^7 outputs of a dense layer) takes
     * seconds to initialise: the harness builds only modest ones (sizes up
     * to 4096), the parse runs on every input */
    int small = a.in_c <= 4096;
    for (size_t i = 0; i < a.nlayer; i++) {
      const psfwi_nn_layer *l = &a.layers[i];
      if (l->out > 4096 || l->k > 4096 || l->factor > 4096 || l->out_c > 4096 || l->out_h > 4096 ||
          l->out_w > 4096)
        small = 0;
    }
    if (small) {
      psfwi_nn *nn = psfwi_arch_build(&a, 8, 2, &err);
      psfwi_nn_destroy(nn);
    }
    char *again = psfwi_arch_text(&a);
    free(again);
    psfwi_arch_free(&a);
  }
  psfwi_learn_acq q;
  if (psfwi_learn_acq_parse(text, "fuzz", &q, &err) == PSFWI_OK) {
    char *again = psfwi_learn_acq_text(&q);
    free(again);
  }
  free(text);
  return 0;
}
