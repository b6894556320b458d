/*  sf_baseline: the names of the library baselines as they travel and are
    stored: a RESULT's candidates of template "dense" under these config
    texts are the tier's libraries measured beside the search (the worker
    sends them, the coordinator's ledger records them, the store keeps
    them as results), never a kernel of ours. One set of names for the
    worker and the coordinator, which meet only on the wire
    (docs/PROTOCOL.md "RESULT"). Constants only: nothing to link. */
#ifndef SF_BASELINE_H_INCLUDED
#define SF_BASELINE_H_INCLUDED

#define SF_BASELINE_PREFIX "baseline:"
#define SF_BASELINE_SGEMM "baseline:sgemm"        /* cuBLAS SGEMM (pedantic fp32) */
#define SF_BASELINE_TF32 "baseline:tf32"          /* cuBLAS with TF32 tensor cores */
#define SF_BASELINE_CUSPARSE "baseline:cusparse"  /* cuSPARSE CSR SpMM in the tier's type */
#define SF_BASELINE_BLAS16 "baseline:blas16"      /* bf16/fp16: cuBLASLt in the type */

#endif
