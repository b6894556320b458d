/*  tests/fuzz/sf_fuzz.h: what the libFuzzer harnesses share. */
#ifndef SF_FUZZ_H_INCLUDED
#define SF_FUZZ_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/sf_log.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/*  Once per process: errors only in the log, and a scratch folder under
    $TMPDIR (or /tmp) for harnesses that read files; its path, or "". */
static inline const char *
sf_fuzz_setup (bool scratch)
{
    static char dir[96];
    static bool done;
    if (!done) {
        done = true;
        sf_log_set_level (SF_LOG_ERROR);
        const char *tmp = getenv ("TMPDIR");
        snprintf (dir, sizeof dir, "%.60s/sf-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (scratch && !mkdtemp (dir))
            abort ();
        if (!scratch)
            dir[0] = '\0';
    }
    return dir;
}

#endif
