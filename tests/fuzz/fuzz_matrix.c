/*  libFuzzer harness: a matrix reader (common/sf_matrix_io: .smtx, .mtx,
    .npy, .safetensors; SF_FUZZ_EXT says which, one binary each). Input:
    the file's bytes, written to a scratch file and read as
    `spmmfarm inspect` reads it. Seeds: tests/fuzz/EXT/ (tests/data's
    files and some of their damaged copies). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"
#include "tests/fuzz/sf_fuzz.h"

#ifndef SF_FUZZ_EXT
#error "SF_FUZZ_EXT names the format: \"smtx\", \"mtx\", \"npy\" or \"safetensors\""
#endif

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static char path[128];
    if (!path[0])
        snprintf (path, sizeof path, "%s/m.%s", sf_fuzz_setup (true), SF_FUZZ_EXT);
    FILE *f = fopen (path, "wb");
    if (!f || (size && fwrite (data, 1, size, f) != size))
        abort ();
    fclose (f);
    sf_matrix_t *m = sf_matrix_read (path, NULL);
    if (m && sf_matrix_rows (m) > 0 && sf_matrix_cols (m) > 0)
        (void) sf_matrix_hash (m);
    sf_matrix_destroy (&m);
    return 0;
}
