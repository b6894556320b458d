#!/bin/sh
# Reading and writing weight matrices through the spmmfarm program: the
# issue's acceptance check on a real DLMC file, exit code 2 with the file and
# the place on stderr for every class of malformed input, tensor selection in
# .safetensors, and gen -> inspect round trips.
. "$(dirname "$0")/testlib.sh"

# inspect_json FILE [ARGS...]: inspect --json into $WORK/inspect.json.
inspect_json () {
    f=$1; shift
    expect_exit 0 "inspect $(basename "$f") $*" "$SPMMFARM" inspect "$f" --json "$@"
    cp "$WORK/out" "$WORK/inspect.json"
}

# expect_json EXPR WANT DESCRIPTION: a value of $WORK/inspect.json.
expect_json () {
    got=$(json_get "$WORK/inspect.json" "$1")
    if [ "$got" = "$2" ]; then pass "$3"; else fail "$3: $1 is '$got', wanted '$2'"; fi
}

# The acceptance check of the issue.
FFN=$SHARED_DATA/dlmc/transformer/magnitude_pruning/0.9/body_encoder_layer_0_ffn_conv1_fully_connected.smtx
if [ -f "$FFN" ]; then
    inspect_json "$FFN"
    expect_json 'd["rows"]' 2048 "DLMC ffn_conv1: 2048 rows"
    expect_json 'd["cols"]' 512 "DLMC ffn_conv1: 512 columns"
    expect_json 'd["nnz"]' 104857 "DLMC ffn_conv1: 104857 nonzeros"
    expect_json 'd["format"]' smtx "DLMC ffn_conv1: format smtx"
else
    echo "note: no DLMC data at $SHARED_DATA: acceptance check skipped"
fi

# Good files of every format.
inspect_json "$TEST_DATA/good_real.mtx"
expect_json 'd["nnz"]' 5 ".mtx: explicit zero dropped"
inspect_json "$TEST_DATA/good_f16.npy"
expect_json '(d["format"], d["rows"], d["cols"], d["nnz"])' "('npy', 2, 3, 4)" ".npy f16: shape and nonzeros"
inspect_json "$TEST_DATA/good_unsorted.smtx"
smtx_hash=$(json_get "$WORK/inspect.json" 'd["hash"]')
inspect_json "$TEST_DATA/good_pattern.mtx"
expect_json 'd["hash"]' "$smtx_hash" "the same pattern as .smtx and pattern .mtx: the same matrix"

# .safetensors: choose the tensor by name.
inspect_json "$TEST_DATA/good.safetensors" --tensor w_f16
expect_json '(d["format"], d["rows"], d["cols"], d["nnz"])' "('safetensors', 2, 2, 3)" "--tensor w_f16"
inspect_json "$TEST_DATA/good.safetensors" --tensor w_bf16
expect_json '(d["rows"], d["cols"], d["nnz"])' "(3, 2, 3)" "--tensor w_bf16"
expect_exit 0 "the only 2-D tensor needs no --tensor" "$SPMMFARM" reference "$TEST_DATA/single.safetensors" --n 4
expect_exit 2 "several 2-D tensors and no --tensor" "$SPMMFARM" reference "$TEST_DATA/good.safetensors" --n 4
expect_grep "w_bf16, w_f16, w_f32" "$WORK/err" "the error lists the weight tensors"
expect_exit 2 "an unknown --tensor" "$SPMMFARM" inspect "$TEST_DATA/good.safetensors" --tensor nope
expect_grep "no tensor 'nope'.*bias, w_bf16" "$WORK/err" "the error names the tensor and lists what exists"
expect_exit 2 "--tensor on a .mtx file" "$SPMMFARM" inspect "$TEST_DATA/good_real.mtx" --tensor w

# Malformed input: exit 2, and stderr names the file and the place.
# Each line: FILE PLACE [TENSOR]; PLACE is ":LINE:" or ": byte N:".
while read -r file place tensor; do
    [ -n "$file" ] || continue
    if [ -n "$tensor" ]; then
        expect_exit 2 "malformed $file ($tensor)" "$SPMMFARM" inspect "$TEST_DATA/$file" --tensor "$tensor"
    else
        expect_exit 2 "malformed $file" "$SPMMFARM" inspect "$TEST_DATA/$file"
    fi
    expect_grep "error: .*tests/data/$file$(echo "$place" | tr _ ' ')" "$WORK/err" "$file: message names the file and the place"
done <<'CASES'
bad_truncated.smtx :3:
bad_count.smtx :2:
bad_offsets.smtx :2:
bad_range.smtx :3:
bad_duplicate.smtx :3:
bad_absurd.smtx :1:
bad_header.smtx :1:
bad_truncated.mtx :6:
bad_count.mtx :5:
bad_range.mtx :6:
bad_duplicate.mtx :5:
bad_nan.mtx :4:
bad_inf.mtx :5:
bad_absurd.mtx :2:
bad_header.mtx :1:
unsupported_symmetric.mtx :1:
unsupported_complex.mtx :1:
unsupported_array.mtx :1:
bad_truncated.npy :_byte_168:
bad_count.npy :_byte_176:
bad_nan.npy :_byte_152:
bad_inf.npy :_byte_136:
bad_absurd.npy :_byte_132:
bad_absurd_header.npy :_byte_8:
bad_magic.npy :_byte_0:
bad_header.npy :_byte_26:
unsupported_i8.npy :_byte_20:
bad_range_f64.npy :_byte_136:
unsupported_bigendian.npy :_byte_20:
unsupported_fortran.npy :_byte_44:
unsupported_3d.npy :_byte_60:
bad_truncated.safetensors :_byte_96:
bad_count.safetensors :_byte_80:
bad_nan.safetensors :_byte_86: w
bad_absurd.safetensors :_byte_0:
bad_header.safetensors :_byte_48:
unsupported_dtype.safetensors :_byte_9: w
unsupported_3d.safetensors :_byte_9: w
CASES

# A checkpoint without --tensor: its tensors, with dtype, shape, sparsity.
inspect_json "$TEST_DATA/ckpt.safetensors"
expect_json '[t["name"] for t in d["tensors"]]' "['conv.bias', 'conv.weight', 'fc.bias', 'fc.weight', 'steps']" "checkpoint: every tensor listed, in name order"
expect_json '[(t["dtype"], t["shape"], t["sparsity"]) for t in d["tensors"]][1]' "('F32', [2, 3, 2, 2], 0.5)" "checkpoint: dtype, shape, sparsity"
expect_json '[t["matrix"] for t in d["tensors"]]' "[None, [2, 12], None, [2, 3], None]" "checkpoint: the weights and the matrices they are read as"
expect_json 'd["weights"]' 2 "checkpoint: two weight tensors"
inspect_json "$TEST_DATA/ckpt.safetensors.index.json"
expect_json '[t["shard"] for t in d["tensors"]][1:3]' "['ckpt-00001-of-00002.safetensors', 'ckpt-00002-of-00002.safetensors']" "sharded checkpoint: tensors found in their shards"
expect_json '(d["format"], d["shards"], len(d["tensors"]), d["tensors"][3]["sparsity"])' "('safetensors-index', 2, 5, 0.33333333333333337)" "sharded checkpoint: every tensor, sparsity read from the shard"
expect_exit 0 "checkpoint as a table" "$SPMMFARM" inspect "$TEST_DATA/ckpt.safetensors.index.json"
expect_grep "^  conv.weight +F32 +\\[2, 3, 2, 2\\] +0.5000 +2 x 12 \\(im2col\\)" "$WORK/out" "the table: name, dtype, shape, sparsity, matrix"
expect_grep "2 weight tensors" "$WORK/out" "the table counts the weights"
expect_exit 2 "an index naming a tensor its shard lacks" "$SPMMFARM" inspect "$TEST_DATA/bad_index.safetensors.index.json"
expect_grep "tensor 'conv.weight' to shard .* which does not hold it" "$WORK/err" "... says which tensor is missing"
expect_exit 0 "a 3-D tensor is listed" "$SPMMFARM" inspect "$TEST_DATA/unsupported_3d.safetensors"
expect_grep "0 weight tensors" "$WORK/out" "... but not as a weight"

# float64: read as float32, the rounding reported on stderr and in JSON.
inspect_json "$TEST_DATA/good_f64.npy"
expect_json '(d["dtype"], d["nnz"], d["float64_rounding"]["changed"], d["float64_rounding"]["to_zero"])' "('float64', 3, 2, 1)" "float64: converted, 2 values changed, 1 to zero"
expect_grep "float64 rounded to float32: 2 of 6 values changed, largest relative change 1.49e-08" "$WORK/err" "float64: the note on stderr"
inspect_json "$TEST_DATA/ckpt.safetensors.index.json" --tensor fc.weight
expect_json '(d["dtype"], d["rows"], d["cols"])' "('float64', 2, 3)" "float64 tensor of a sharded checkpoint"
# A convolution weight: O x I x kh x kw read as O x I*kh*kw.
inspect_json "$TEST_DATA/good_conv.npy"
expect_json '(d["shape"], d["im2col"], d["rows"], d["cols"], d["nnz"])' "([2, 3, 2, 2], True, 2, 12, 12)" "conv weight lowered to its im2col matrix"
conv_hash=$(json_get "$WORK/inspect.json" 'd["hash"]')
inspect_json "$TEST_DATA/ckpt.safetensors" --tensor conv.weight
expect_json 'd["hash"]' "$conv_hash" "the same conv weight in .npy and .safetensors: the same matrix"

# gen -> inspect round trips: .smtx keeps the pattern (values from the seed
# on read), .mtx keeps everything.
for seed in 1 5; do
    expect_exit 0 "gen .smtx, seed $seed" "$SPMMFARM" gen --m 300 --k 200 --sparsity 0.9 --seed "$seed" -o "$WORK/g.smtx" --json
    cp "$WORK/out" "$WORK/gen.json"
    inspect_json "$WORK/g.smtx" --seed "$seed"
    expect_json 'd["hash"]' "$(json_get "$WORK/gen.json" 'd["hash"]')" ".smtx round trip with seed $seed: the same hash"
    expect_json '(d["rows"], d["cols"], d["nnz"])' "(300, 200, 6000)" ".smtx round trip with seed $seed: shape and nonzeros"
done
expect_exit 0 "gen .MTX (upper-case extension)" "$SPMMFARM" gen --m 64 --k 147 --sparsity 0.95 --seed 3 -o "$WORK/g.MTX" --json
cp "$WORK/out" "$WORK/gen.json"
inspect_json "$WORK/g.MTX"
expect_json 'd["hash"]' "$(json_get "$WORK/gen.json" 'd["hash"]')" ".mtx round trip: the same hash"
if ls "$WORK"/*.tmp-* >/dev/null 2>&1; then fail "no temporary files left"; else pass "no temporary files left"; fi
finish
