#!/bin/sh
# bert-local.sh: the README's main job. Generates BERT-style encoder layers'
# weight matrices (per layer q, k, v, o: HIDDEN x HIDDEN; ffn1: FFN x HIDDEN;
# ffn2: HIDDEN x FFN) pruned to SPARSITY, writes a model manifest and tunes it
# with `spmmfarm local`: one worker per GPU, or the sim backend (announced;
# times SIMULATED) without one. Writes bert-l0.bundle. Extra arguments go to
# `spmmfarm local`.
#
# The model's size (issue 22): with a GPU, BERT-base by default (HIDDEN=768
# FFN=3072 SPARSITY=0.9, all LAYERS=12 encoder layers, 72 matrices, at N =
# 4096: batch 32 x 128 tokens), tuned with local's defaults (a budget of 10 s
# a layer: docs/DECISIONS.md). Without one, the sim backend runs a smaller
# default, said so: one encoder layer of HIDDEN=512 FFN=2048 SPARSITY=0.98
# (BERT-medium's shapes, the DLMC Transformer's), N = 512, about a minute on
# two CPU cores (local's budget there: 20 s a layer). HIDDEN, FFN, SPARSITY,
# LAYERS and N override either.
set -eu
cd "$(dirname "$0")/.."
if ./spmmfarm devices --json 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("devices") else 1)' 2>/dev/null; then
    H=${HIDDEN:-768}; S=${SPARSITY:-0.9}; L=${LAYERS:-12}; NTOK=${N:-4096}; QUICK=""
else
    H=${HIDDEN:-512}; S=${SPARSITY:-0.98}; L=${LAYERS:-1}; NTOK=${N:-512}; QUICK="--max-configs 4 --proxy-top 1"
    echo "bert-local.sh: no GPU: a smaller model on the sim backend ($L encoder layer of hidden $H at $S," \
         "N = $NTOK; BERT-base on a GPU machine)" >&2
fi
F=${FFN:-$((4 * H))}
D=${BERT_DIR:-bert-l0-h$H-s$S-l$L}
mkdir -p "$D"
i=0
entries=""
for l in $(seq 0 $((L - 1))); do
    for spec in q:$H:$H k:$H:$H v:$H:$H o:$H:$H ffn1:$F:$H ffn2:$H:$F; do
        name=${spec%%:*}; rest=${spec#*:}; m=${rest%%:*}; k=${rest#*:}
        i=$((i + 1))
        file=$name.mtx; [ "$L" -gt 1 ] && file=l$l.$name.mtx && name=l$l.$name
        [ -f "$D/$file" ] || ./spmmfarm gen --m "$m" --k "$k" --sparsity "$S" --seed $i -o "$D/$file" >/dev/null
        entries="$entries${entries:+, }{\"name\": \"$name\", \"file\": \"$file\"}"
    done
done
echo "{ \"name\": \"bert-h$H-l$L-s$S\", \"n\": $NTOK, \"layers\": [ $entries ] }" > "$D/model.json"
exec ./spmmfarm local --model "$D/model.json" $QUICK -o bert-l0.bundle "$@"
