# The configs of tests/gpu/tsparse-s12.sh (sourced; also by the packing
# commands in docs/KERNELS.md, so that the cubins match).
# N = 16: session 11's winners, then each with the ILP accumulators (a1),
# the streamed B (b1), both; the cluster-free k1 and a k4 with b1.
DEC16=T:e1.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k2.g8.p4.a1,T:e1.w4.m1.n16.k2.g8.p4.b1,T:e1.w4.m1.n16.k2.g8.p4.a1.b1
DEC16=$DEC16,T:e1.w8.m2.n16.k2.g8.p4,T:e1.w8.m2.n16.k2.g8.p4.a1.b1,T:e0.w8.m2.n16.k2.g8.p4,T:e0.w8.m2.n16.k2.g8.p4.b1
DEC16=$DEC16,T:e1.w8.m2.n16.k1.g8.p4.b1,T:e1.w4.m1.n16.k4.g8.p4.b1,T:e1.w4.m1.n16.k8.g8.p4
# N = 64: session 11's winners, b1 at k 1/2/4, and the prefill kernel at n 64
DEC64=T:e1.w8.m2.n64.k4.g8.p4,T:e0.w8.m2.n64.k4.g8.p4,T:e1.w8.m2.n64.k4.g8.p4.b1,T:e1.w8.m2.n64.k2.g8.p4.b1
DEC64=$DEC64,T:e1.w8.m2.n64.k1.g8.p4.b1,T:e1.w8.m1.n64.k1.g4.p2.f1,T:e0.w8.m1.n64.k1.g4.p2.f1
# N = 512, 2048: the prefill kernel
PRE=T:e0.w8.m1.n128.k1.g4.p2.f1,T:e1.w8.m1.n128.k1.g4.p2.f1,T:e0.w8.m1.n128.k1.g2.p4.f1
PRE=$PRE,T:e0.w8.m1.n64.k1.g4.p2.f1,T:e0.w8.m1.n128.k1.g8.p2.f1
# the probe: a layer of 16 and of 1,024 rows, an all-zero matrix
PROBE=T:e1.w4.m1.n16.k1.g8.p4,T:e1.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k8.g8.p4,T:e1.w8.m2.n16.k2.g16.p2
PROBE=$PROBE,T:e1.w4.m1.n16.k2.g8.p4.b1,T:e1.w8.m2.n16.k1.g8.p4.b1
