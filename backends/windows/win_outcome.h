/* win_outcome: what Windows Setup's result codes and Panther logs mean.
 *
 * win_decode_result turns "0xC1900208", "0xC1900101 - 0x4000D" or
 * "0xC1900101-0x40017" (code and
 * extended code: phase = first hex digit, operation = the last two) or a bare
 * number into a cause a person can act on. win_panther_errors pulls the first
 * error lines of setuperr.log / setupact.log text (Panther's "DATE TIME,
 * Level Component Message" lines) and recognises the known phrases ("Shell
 * application requested abort", "Abandoning apply") and any 0xC19... code in
 * them. */
#ifndef WIN_OUTCOME_H
#define WIN_OUTCOME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WIN_SETUP_COMPAT_OK 0xC1900210u /* /compat scanonly: no issues found */

struct win_result {
    uint32_t code;      /* 0 when the text held none */
    uint32_t extended;  /* the 0xNXXXX after '-', 0 when absent */
    const char *name;   /* "MOSETUP_E_COMPAT_SCANONLY", ... or "" */
    char cause[512];
    int rolled_back;    /* setup undid the upgrade itself (0xC1900101 family) */
};

/* 0 when TEXT held a code (decoded), -1 when it did not. */
int win_decode_result(const char *text, struct win_result *out);
/* Phase and operation names of an extended code ("SAFE_OS", "APPLY_IMAGE"). */
const char *win_extended_phase(uint32_t extended);
const char *win_extended_operation(uint32_t extended);
/* First MAX error lines of a Panther log as JSON: [{"line","component",
 * "message","hint"?,"code"?}]; a line is an error when its level is Error or
 * Fatal, or it carries a known phrase. */
json_t *win_panther_errors(const char *log_text, size_t max);

#endif
