#!/bin/sh
# docs/gpu/next/pack.sh [DIR]: the device calls' binaries, built on this
# machine (no GPU needed) into DIR (default .devpack-next, git-ignored), with
# their libraries (../shared/tools/devpack), the runtime, tc-bench.sh, the
# DLMC matrix the probes read, and DIR/COMMIT (the commit, clean or not).
# Pass DIR in the device call's `carry`. Run from the repository root.
set -eu
P=${1:-.devpack-next}
make -j"$(nproc)" >/dev/null
rm -rf "$P"
../shared/tools/devpack "$P" ./spmmfarm tests/gpu/tcdense tests/bench/tc_bench
cp -L runtime/.libs/libspmmfarm-rt.so.0 "$P/bin/"
cp tests/gpu/tc-bench.sh "$P/"
Q=dlmc/transformer/magnitude_pruning/0.9
F=body_encoder_layer_0_self_attention_multihead_attention_q_fully_connected.smtx
if [ -f "../shared/data/$Q/$F" ]; then
    mkdir -p "$P/data/$Q" && cp "../shared/data/$Q/$F" "$P/data/$Q/"
fi
state=clean
[ -n "$(git status --porcelain --untracked-files=no)" ] && state="tracked files modified"
echo "binaries of $(git rev-parse --short HEAD) ($state), built $(date -u +%FT%TZ)" >"$P/COMMIT"
du -sh "$P"; cat "$P/COMMIT"
