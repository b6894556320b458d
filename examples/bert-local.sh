#!/bin/sh
# bert-local.sh: the README's main job. Tunes the six weight matrices of
# encoder layer 0 of a pruned Transformer-base (hidden 512, FFN 2048: q, k,
# v and the attention output 512 x 512, ffn1 2048 x 512, ffn2 512 x 2048)
# for N = 512 tokens with `spmmfarm local`: a coordinator, one worker per
# GPU (the sim backend without one, announced: compiles real, times
# SIMULATED) and the store; prints each layer's winner against the
# baselines, writes the kernel bundle bert-l0.bundle, and says how long a
# whole model would take.
#
# The weights are real pruning patterns: the Deep Learning Matrix
# Collection's Transformer (magnitude pruning; Gale et al. 2019/2020), from
# $DLMC_DIR, else the project's data ($SF_SHARED_DATA/dlmc, else
# ../shared/data/dlmc next to the repository). Without them it says so and
# tunes uniformly random matrices of the same shapes and sparsity instead.
# Values: patterns have none; spmmfarm draws them from a fixed seed.
#
# Environment: SPARSITY (0.5 0.7 0.8 0.9 0.95 0.98; default 0.98, DLMC's
# highest: the compiles of a specialized kernel grow with its nonzeros),
# LAYERS (default "q k v o ffn1 ffn2"), N (default 512), SEARCH (the search
# options; default: the full default search with a GPU, and without one
# "--max-configs 8 --proxy-top 1", announced, so that the sim run takes a
# few minutes on two CPU cores), BUNDLE (default bert-l0.bundle), WORKDIR
# (the manifest and any generated matrices; default bert-l0-sSPARSITY),
# SPMMFARM (the program; default ./spmmfarm). Extra arguments go to
# `spmmfarm local` (--store DIR, --strategy rank, ...).
#
# On a GPU machine the default is the real model size instead (issue 22):
# BERT-base, 12 encoder layers x 6 matrices (q, k, v, o 768 x 768; ffn1
# 3072 x 768; ffn2 768 x 3072) uniformly pruned to 90 % (one seed per
# matrix; no pruned BERT-base ships with the project), N = 4096 (batch 32 x
# 128 tokens), tuned with local's defaults (its per-layer budget:
# docs/DECISIONS.md). MODEL=transformer-l0 runs the DLMC layer above on a
# GPU too; HIDDEN, FFN, BERT_SPARSITY, BERT_LAYERS, BERT_N override the
# BERT-base shape.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SF=${SPMMFARM:-./spmmfarm}
S=${SPARSITY:-0.98}
N=${N:-512}
LAYERS=${LAYERS:-"q k v o ffn1 ffn2"}
BUNDLE=${BUNDLE:-bert-l0.bundle}
DLMC=${DLMC_DIR:-${SF_SHARED_DATA:-$ROOT/../shared/data}/dlmc}
SRC=$DLMC/transformer/magnitude_pruning/$S
DIR=${WORKDIR:-$ROOT/bert-l0-s$S}
say () { echo "bert-local: $*"; }

[ -x "$SF" ] || { say "no $SF: build it first (./quickstart)" >&2; exit 2; }
case " $S " in
    " 0.5 "|" 0.7 "|" 0.8 "|" 0.9 "|" 0.95 "|" 0.98 ") ;;
    *) say "SPARSITY=$S: DLMC has 0.5, 0.7, 0.8, 0.9, 0.95 and 0.98" >&2; exit 2 ;;
esac

# file name in DLMC, and shape, of each layer
dlmc_name () {
    case $1 in
        q|k|v) echo "body_encoder_layer_0_self_attention_multihead_attention_$1_fully_connected" ;;
        o) echo "body_encoder_layer_0_self_attention_multihead_attention_output_transform_fully_connected" ;;
        ffn1) echo "body_encoder_layer_0_ffn_conv1_fully_connected" ;;
        ffn2) echo "body_encoder_layer_0_ffn_conv2_fully_connected" ;;
        *) say "LAYERS: '$1' is none of q k v o ffn1 ffn2" >&2; exit 2 ;;
    esac
}
shape () {
    case $1 in q|k|v|o) echo "512 512" ;; ffn1) echo "2048 512" ;; ffn2) echo "512 2048" ;; esac
}

# With a GPU: BERT-base (MODEL=transformer-l0: the DLMC layer below)
if [ "${MODEL:-bert-base}" = bert-base ] && ! $SF devices | grep -q "^no CUDA-capable GPU" \
    && ! case " $* " in *" --backend sim "*|*" --backend=sim "*) true ;; *) false ;; esac; then
    H=${HIDDEN:-768}; F=${FFN:-$((4 * H))}; BS=${BERT_SPARSITY:-0.9}; BL=${BERT_LAYERS:-12}; BN=${BERT_N:-4096}
    BD=${WORKDIR:-$ROOT/bert-base-h$H-s$BS-l$BL}
    mkdir -p "$BD"
    i=0
    entries=""
    for l in $(seq 0 $((BL - 1))); do
        for spec in q:$H:$H k:$H:$H v:$H:$H o:$H:$H ffn1:$F:$H ffn2:$H:$F; do
            name=${spec%%:*}; rest=${spec#*:}; m=${rest%%:*}; k=${rest#*:}
            i=$((i + 1))
            [ -f "$BD/l$l.$name.mtx" ] || $SF gen --m "$m" --k "$k" --sparsity "$BS" --seed $i \
                -o "$BD/l$l.$name.mtx" >/dev/null
            entries="$entries${entries:+, }{\"name\": \"l$l.$name\", \"file\": \"l$l.$name.mtx\"}"
        done
    done
    echo "{ \"name\": \"bert-base-h$H-l$BL-s$BS\", \"n\": $BN, \"layers\": [ $entries ] }" > "$BD/model.json"
    say "GPU: tuning BERT-base's $((BL * 6)) linear layers (hidden $H, FFN $F, uniformly pruned to $BS), N = $BN,"
    say "  with local's defaults (MODEL=transformer-l0: the DLMC Transformer layer instead)"
    exec $SF local --model "$BD/model.json" -o "$BUNDLE" "$@"
fi

mkdir -p "$DIR"
real=1
for l in $LAYERS; do [ -f "$SRC/$(dlmc_name "$l").smtx" ] || real=0; done
i=0
layers_json=""
for l in $LAYERS; do
    i=$((i + 1))
    if [ "$real" = 1 ]; then
        file="$SRC/$(dlmc_name "$l").smtx"
    else
        file="$DIR/random-$l.mtx"
        [ -f "$file" ] || $SF gen --m "$(shape "$l" | cut -d' ' -f1)" --k "$(shape "$l" | cut -d' ' -f2)" \
            --sparsity "$S" --seed "$i" -o "$file" >/dev/null
    fi
    layers_json="$layers_json${layers_json:+, }{\"name\": \"$l\", \"file\": \"$file\"}"
done
printf '{ "name": "transformer-l0-s%s", "n": %s,\n  "layers": [ %s ] }\n' "$S" "$N" "$layers_json" > "$DIR/model.json"

if [ "$real" = 1 ]; then
    say "tuning encoder layer 0 of a Transformer-base pruned to $S (real weights: DLMC, magnitude pruning)"
    say "weights: $SRC"
else
    say "NOTE: no DLMC data at $SRC (set DLMC_DIR or SF_SHARED_DATA; the collection:"
    say "  https://github.com/google-research/google-research/tree/master/sgk, transformer/magnitude_pruning/)"
    say "NOTE: tuning uniformly random matrices of the same shapes at sparsity $S instead: NOT real weights"
    say "  (real pruning leaves uneven rows and columns, which reordering exploits: results differ)"
fi
say "layers: $(echo $LAYERS) (q, k, v, o: 512 x 512; ffn1: 2048 x 512; ffn2: 512 x 2048), N = $N tokens"

gpus=1
$SF devices | grep -q "^no CUDA-capable GPU" && gpus=0
case " $* " in *" --backend sim "*|*" --backend=sim "*) gpus=0 ;; esac
if [ "$gpus" = 0 ]; then
    SEARCH=${SEARCH-"--max-configs 8 --proxy-top 1"}
    say "no GPU: the sim backend (compiles are real, every time is SIMULATED by a model of an H100)"
    [ -n "$SEARCH" ] && say "no GPU: a smaller search so that this takes minutes on two cores: $SEARCH" \
        "(an even sample of 8 configs per template, 1 finalist compiled in full; SEARCH= runs the full default search, several times longer)"
    ALLOW=--allow-simulated
else
    SEARCH=${SEARCH-}
    say "search: ${SEARCH:-the default (proxy: every legal config's proxy timed, 4 finalists compiled in full)}"
    ALLOW=
fi

start=$(date +%s)
# shellcheck disable=SC2086
{ $SF local --model "$DIR/model.json" $SEARCH -o "$BUNDLE" $ALLOW "$@"; echo $? > "$DIR/local.rc"; } \
    | tee "$DIR/local.out"
rc=$(cat "$DIR/local.rc")
wall=$(( $(date +%s) - start ))
[ "$rc" = 0 ] || { say "spmmfarm local failed (exit $rc)" >&2; exit "$rc"; }

count=$(echo $LAYERS | wc -w)
say "done in $wall s on this machine: $count layer(s); the bundle is $BUNDLE (examples/README.md loads it from C or PyTorch)"
[ "$gpus" = 0 ] && say "the times above are SIMULATED: on a GPU the same command measures them (and verifies every winner)"
say "a real model: Transformer-base has 6 encoder layers of these six matrices (and a decoder)."
if grep -q "every layer answered from the store" "$DIR/local.out"; then
    say "  this run searched nothing (the store answered); the first run's time is what the search costs"
else
    per=$((wall * 6 / count))
    say "  with this search here: about $per s per encoder layer, $((per * 6 / 60)) min for the six encoders"
    say "  (compile-bound: the full specialized kernel of a 21,000-nonzero layer takes ~30 s to compile)"
fi
say "  measured on an H100 host (16 cores): 12 real layers in 98 s with --max-configs 3 --proxy-top 1"
say "  (docs/BENCHMARKS.md); a farm of GPUs divides a model's layers (docs/CLUSTER.md, 1.91x on 2 GPUs)."
say "run this again and every layer is answered from the store (its path is printed above)."
