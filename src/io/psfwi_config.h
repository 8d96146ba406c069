/* psfwi config: INI run descriptions validated against a schema.
 *
 * A command declares the keys it accepts (section, key, type, default,
 * allowed range or choices, help). Loading a file checks every key as it is
 * read: an unknown section or key, a wrong type or an out-of-range value is
 * an error "FILE:LINE: [section] key = value: what is allowed". Overrides
 * "section.key=value" (from --set) are checked the same way and win over the
 * file. Values are kept as text and converted on get. */
#ifndef PSFWI_CONFIG_H
#define PSFWI_CONFIG_H

#include <stddef.h>

#include "psfwi_core.h"

typedef enum {
  PSFWI_CFG_STRING = 0, /* any text (a file name, say) */
  PSFWI_CFG_INT,        /* integer in [min, max] */
  PSFWI_CFG_DOUBLE,     /* finite real in [min, max] */
  PSFWI_CFG_BOOL,       /* true/false/yes/no/on/off/1/0 */
  PSFWI_CFG_CHOICE,     /* one of choices, "a|b|c" */
  PSFWI_CFG_RANGE,      /* first:step:count (metres), see psfwi_parse_range */
  PSFWI_CFG_PATH        /* a file name; relative names in a config file are taken
                           relative to that file's folder */
  ,
  PSFWI_CFG_PATHS /* a comma list of file names (or prefixes), each relative one taken
                           relative to the config file's folder as for PATH */
} psfwi_config_type;

typedef struct psfwi_config_key {
  const char *section, *key;
  psfwi_config_type type;
  const char *def;     /* default as text, or NULL: unset unless given */
  double min, max;     /* INT and DOUBLE: allowed closed interval */
  const char *choices; /* CHOICE: "a|b|c" */
  const char *help;    /* one line: meaning and unit */
} psfwi_config_key;

typedef struct psfwi_config psfwi_config;

/* The schema array must outlive the config. */
psfwi_config *psfwi_config_create(const psfwi_config_key *schema, size_t nkeys, psfwi_error *err);
void psfwi_config_destroy(psfwi_config *c);
/* Load an INI file (keys are validated as read; errors name FILE:LINE). */
int psfwi_config_load(psfwi_config *c, const char *path, psfwi_error *err);
/* The path of the file psfwi_config_load read (NULL before). */
const char *psfwi_config_path(const psfwi_config *c);
/* Apply "section.key=value" (the --set override). */
int psfwi_config_set(psfwi_config *c, const char *assignment, psfwi_error *err);
/* Set a key's value from code (validated; `origin` names where it came from). */
int psfwi_config_put(psfwi_config *c, const char *section, const char *key, const char *value,
                     const char *origin, psfwi_error *err);

/* Getters. A key not in the schema is a programming error (PSFWI_EINTERNAL
 * through the accessor that returns a status). is_set is 0 for keys with no
 * default that were not given. */
int psfwi_config_is_set(const psfwi_config *c, const char *section, const char *key);
const char *psfwi_config_string(const psfwi_config *c, const char *section, const char *key);
double psfwi_config_double(const psfwi_config *c, const char *section, const char *key);
long psfwi_config_int(const psfwi_config *c, const char *section, const char *key);
int psfwi_config_bool(const psfwi_config *c, const char *section, const char *key);
/* A key that must be set: returns its text or NULL with err naming it. */
const char *psfwi_config_require(const psfwi_config *c, const char *section, const char *key,
                                 psfwi_error *err);

/* 1 if the key was given (file or --set or put), not just defaulted. */
int psfwi_config_given(const psfwi_config *c, const char *section, const char *key);
/* Take the keys of [section] in INI text (such as the psfwi_config attribute
 * of a file psfwi wrote) as values for keys that were not given; keys this
 * schema does not know are ignored; values are validated (errors name
 * origin). */
int psfwi_config_defaults_from_text(psfwi_config *c, const char *text, const char *section,
                                    const char *origin, psfwi_error *err);

/* Write "[section]\nkey = value" for every set key, as a reproducible record
 * of the run (also used as help text with show_help != 0). out is a FILE*. */
void psfwi_config_dump(const psfwi_config *c, void *out, int show_help);

#endif
