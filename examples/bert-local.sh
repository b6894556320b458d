#!/bin/sh
# bert-local.sh: the README's main job. Generates one BERT-base encoder
# layer's six weight matrices (q, k, v, o: 768 x 768; ffn1: 3072 x 768;
# ffn2: 768 x 3072) pruned to SPARSITY (default 0.9), writes a model manifest
# and tunes it with `spmmfarm local` at N = 512 tokens: one worker per GPU, or
# the sim backend (announced; times SIMULATED) without one. Writes
# bert-l0.bundle. Extra arguments go to `spmmfarm local`.
set -eu
cd "$(dirname "$0")/.."
S=${SPARSITY:-0.9}
D=${BERT_DIR:-bert-l0}
mkdir -p "$D"
i=0
for spec in q:768:768 k:768:768 v:768:768 o:768:768 ffn1:3072:768 ffn2:768:3072; do
    name=${spec%%:*}; rest=${spec#*:}; m=${rest%%:*}; k=${rest#*:}
    i=$((i + 1))
    [ -f "$D/$name.mtx" ] || ./spmmfarm gen --m "$m" --k "$k" --sparsity "$S" --seed $i -o "$D/$name.mtx" >/dev/null
done
cat > "$D/model.json" <<JSON
{ "name": "bert-base-l0-s$S", "n": 512,
  "layers": [ {"name": "q", "file": "q.mtx"}, {"name": "k", "file": "k.mtx"}, {"name": "v", "file": "v.mtx"},
              {"name": "o", "file": "o.mtx"}, {"name": "ffn1", "file": "ffn1.mtx"}, {"name": "ffn2", "file": "ffn2.mtx"} ] }
JSON
exec ./spmmfarm local --model "$D/model.json" --max-configs 4 --proxy-top 1 -o bert-l0.bundle "$@"
