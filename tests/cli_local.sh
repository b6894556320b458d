#!/bin/sh
# `spmmfarm local` as a user meets it (sim backend, real compiles): model
# manifests with convolution layers and checkpoints, and the output that
# explains itself.
. "$(dirname "$0")/testlib.sh"

# A manifest with a convolution (N from the input size) and a float64
# linear layer, both from a checkpoint.
cp "$TEST_DATA/ckpt.safetensors" "$WORK/"
cat > "$WORK/conv.json" <<'JSON'
{ "name": "ckpt", "layers": [
  {"name": "conv", "file": "ckpt.safetensors", "tensor": "conv.weight",
   "conv": {"input": [8, 10], "stride": 2, "padding": 1, "batch": 3}},
  {"name": "fc", "file": "ckpt.safetensors", "tensor": "fc.weight", "n": 16} ] }
JSON
expect_exit 0 "local: a conv layer and a float64 layer" "$SPMMFARM" local --model "$WORK/conv.json" \
    --store "$WORK/st" --json -q --max-configs 2
cp "$WORK/out" "$WORK/conv.out"
expect_grep '"n":[[:space:]]*90' "$WORK/conv.out" "conv: N = 3 x 5 x 6 = 90 (input 8 x 10, 2 x 2 kernel, stride 2, padding 1)"
expect_grep '"k":[[:space:]]*12' "$WORK/conv.out" "conv: K = I x kh x kw = 12"
expect_grep "float64 rounded to float32: 2 of 6 values changed" "$WORK/err" "the float64 layer's note"
# Bad conv fields: exit 2 with the layer named.
for bad in '"conv": {"input": 8}, "n": 4' '"conv": {"stride": 2}' '"conv": {"input": 1, "padding": 0}' \
           '"conv": {"input": [8, 8, 8]}' '"conv": {"input": 8, "kernel": [3, 3]}'; do
    printf '{"layers": [{"file": "ckpt.safetensors", "tensor": "conv.weight", %s}]}\n' "$bad" > "$WORK/bad.json"
    expect_exit 2 "conv manifest: $bad" "$SPMMFARM" local --model "$WORK/bad.json" --store "$WORK/st" -q
    expect_grep "bad.json: layers\\[0\\]" "$WORK/err" "... the message names the layer"
done
finish
