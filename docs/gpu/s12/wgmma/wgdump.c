/* scratch: compiles configs for M x K (no epilogue) and writes cubins, A and packed data for diag.py */
#include <stdio.h>
#include <stdlib.h>
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_tcdense.h"
int main (int argc, char **argv) {
    if (argc < 5) return 2;
    const char *dir = argv[1]; int64_t m = atoll (argv[2]), k = atoll (argv[3]);
    char path[512];
    sf_matrix_t *a = sf_matrix_new_random (m, k, 0.3, 5);
    float *ad = malloc (m * k * 4); sf_matrix_densify (a, ad);
    snprintf (path, sizeof path, "%s/A.f32", dir); FILE *f = fopen (path, "wb"); fwrite (ad, 4, m * k, f); fclose (f);
    FILE *meta = fopen ((snprintf (path, sizeof path, "%s/meta.txt", dir), path), "w");
    for (int t = 0; t < 4; t++) {
        void *d; size_t ds;
        if (sf_tcdense_pack ((sf_tier) t, a, &d, &ds) != SF_OK) return 1;
        snprintf (path, sizeof path, "%s/pack%d.bin", dir, t); f = fopen (path, "wb"); fwrite (d, 1, ds, f); fclose (f); free (d);
    }
    for (int i = 4; i < argc; i++) {
        sf_tcdense_config_t c;
        if (sf_tcdense_parse (argv[i], &c) != SF_OK) { fprintf (stderr, "%s\n", sf_error_message ()); return 1; }
        sf_epilogue_t e = { 0, 0 };
        void *cubin; size_t size; char *src; sf_launch_t l; sf_jit_stats_t st; bool cached;
        if (sf_tcdense_compile (&c, &e, m, k, &cubin, &size, &src, &l, &st, &cached) != SF_OK) { fprintf (stderr, "%s\n", sf_error_message ()); return 1; }
        snprintf (path, sizeof path, "%s/k%d.cubin", dir, i - 4); f = fopen (path, "wb"); fwrite (cubin, 1, size, f); fclose (f);
        fprintf (meta, "k%d.cubin %s %s %d %d %d %d %d %d\n", i - 4, argv[i], l.entry, l.block_threads, l.cols_per_block, l.panel_groups, l.shared_bytes, (int) c.tier, c.plain);
        free (cubin); free (src);
    }
    fclose (meta);
    return 0;
}
