/* libFuzzer target `config`: the input as an INI file loaded with the
 * schemas of `psfwi forward` and `psfwi fwi` (the same key arrays as
 * src/cli/cmd_forward.c and cmd_fwi.c, built from the CLI's macros), then
 * every set key read back and the configuration dumped; the input as a
 * --set assignment (psfwi_config_set), and as the psfwi_config attribute
 * text taken as defaults (psfwi_config_defaults_from_text). */
#include "fuzz_common.h"

#include "run_invert.h"

static const psfwi_config_key forward_keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_FORWARD_OUTPUT,
};

static const psfwi_config_key fwi_keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
};

static const psfwi_config_key rnn_keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
    CLI_KEYS_TRAINING,
};

static const char *const sections[] = {"model",     "wavelet",        "time",
                                       "survey",    "propagator",     "data",
                                       "inversion", "regularization", "output"};

/* Read every key back through the getter of its type. */
static void read_back(const psfwi_config *c, const psfwi_config_key *keys, size_t n) {
  psfwi_error err = {0};
  for (size_t i = 0; i < n; i++) {
    const char *s = keys[i].section, *k = keys[i].key;
    if (!psfwi_config_is_set(c, s, k)) {
      (void)psfwi_config_require(c, s, k, &err);
      continue;
    }
    (void)psfwi_config_given(c, s, k);
    (void)psfwi_config_string(c, s, k);
    switch (keys[i].type) {
      case PSFWI_CFG_INT: (void)psfwi_config_int(c, s, k); break;
      case PSFWI_CFG_DOUBLE: (void)psfwi_config_double(c, s, k); break;
      case PSFWI_CFG_BOOL: (void)psfwi_config_bool(c, s, k); break;
      default: break;
    }
  }
}

static void run_schema(const psfwi_config_key *keys, size_t n, const char *path, const char *text) {
  psfwi_error err = {0};
  psfwi_config *c = psfwi_config_create(keys, n, &err);
  if (c == NULL) abort(); /* the real schemas are valid */
  if (psfwi_config_load(c, path, &err) == PSFWI_OK) {
    read_back(c, keys, n);
    psfwi_config_dump(c, fuzz_devnull(), 0);
  }
  psfwi_config_destroy(c);

  c = psfwi_config_create(keys, n, &err);
  if (c == NULL) abort();
  (void)psfwi_config_set(c, text, &err);
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    (void)psfwi_config_defaults_from_text(c, text, sections[i], "fuzz attribute", &err);
  read_back(c, keys, n);
  psfwi_config_dump(c, fuzz_devnull(), 1);
  psfwi_config_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file("config", ".ini", data, size);
  char *text = fuzz_text(data, size);
  run_schema(forward_keys, sizeof forward_keys / sizeof forward_keys[0], path, text);
  run_schema(fwi_keys, sizeof fwi_keys / sizeof fwi_keys[0], path, text);
  run_schema(rnn_keys, sizeof rnn_keys / sizeof rnn_keys[0], path, text);
  free(text);
  return 0;
}
