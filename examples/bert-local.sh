#!/bin/sh
# bert-local.sh: the README's main job. Generates one BERT-style encoder
# layer's six weight matrices (q, k, v, o: HIDDEN x HIDDEN; ffn1: FFN x HIDDEN;
# ffn2: HIDDEN x FFN) pruned to SPARSITY, writes a model manifest and tunes it
# with `spmmfarm local` at N = 512 tokens: one worker per GPU, or the sim
# backend (announced; times SIMULATED) without one. Writes bert-l0.bundle.
# Extra arguments go to `spmmfarm local`.
#
# Defaults: HIDDEN=512 FFN=2048 SPARSITY=0.98 (BERT-medium's shapes, the
# DLMC Transformer's, at DLMC's highest sparsity): a few minutes on two CPU
# cores. BERT-base is HIDDEN=768 FFN=3072; at lower sparsity a layer's full
# specialized kernel takes minutes to compile (docs/KERNELS.md).
set -eu
cd "$(dirname "$0")/.."
H=${HIDDEN:-512}
F=${FFN:-$((4 * H))}
S=${SPARSITY:-0.98}
D=${BERT_DIR:-bert-l0-h$H-s$S}
mkdir -p "$D"
i=0
for spec in q:$H:$H k:$H:$H v:$H:$H o:$H:$H ffn1:$F:$H ffn2:$H:$F; do
    name=${spec%%:*}; rest=${spec#*:}; m=${rest%%:*}; k=${rest#*:}
    i=$((i + 1))
    [ -f "$D/$name.mtx" ] || ./spmmfarm gen --m "$m" --k "$k" --sparsity "$S" --seed $i -o "$D/$name.mtx" >/dev/null
done
cat > "$D/model.json" <<JSON
{ "name": "bert-h$H-l0-s$S", "n": 512,
  "layers": [ {"name": "q", "file": "q.mtx"}, {"name": "k", "file": "k.mtx"}, {"name": "v", "file": "v.mtx"},
              {"name": "o", "file": "o.mtx"}, {"name": "ffn1", "file": "ffn1.mtx"}, {"name": "ffn2", "file": "ffn2.mtx"} ] }
JSON
exec ./spmmfarm local --model "$D/model.json" --max-configs 4 --proxy-top 1 -o bert-l0.bundle "$@"
