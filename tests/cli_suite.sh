#!/bin/sh
# spmmfarm suite: the bench205 suite file as the program lists it, filters,
# explicit problems with matrix files, and errors that name the file and line.
. "$(dirname "$0")/testlib.sh"

BENCH="$TOP_SRCDIR/conf/bench/bench205.conf"
MIXED="$TEST_DATA/suites/mixed.conf"

# bench205: 205 problems over 41 distinct shapes, unique ids and seeds
expect_exit 0 "suite bench205 --json" "$SPMMFARM" suite "$BENCH" --json
cp "$WORK/out" "$WORK/bench.json"
[ "$(json_get "$WORK/bench.json" 'd["suite"]')" = bench205 ] && pass "suite name" || fail "suite name"
[ "$(json_get "$WORK/bench.json" 'len(d["problems"])')" = 205 ] \
    && pass "205 problems" || fail "205 problems"
[ "$(json_get "$WORK/bench.json" 'len({(p["m"], p["k"], p["n"]) for p in d["problems"]})')" = 41 ] \
    && pass "41 distinct shapes" || fail "41 distinct shapes"
[ "$(json_get "$WORK/bench.json" 'len({p["id"] for p in d["problems"]})')" = 205 ] \
    && pass "ids unique" || fail "ids unique"
[ "$(json_get "$WORK/bench.json" 'len({p["seed"] for p in d["problems"]})')" = 205 ] \
    && pass "seeds unique" || fail "seeds unique"
[ "$(json_get "$WORK/bench.json" 'sorted({p["sparsity"] for p in d["problems"]})')" = "[0.5, 0.7, 0.8, 0.9, 0.95]" ] \
    && pass "five sparsities" || fail "five sparsities"
[ "$(json_get "$WORK/bench.json" 'all(p["source"] and isinstance(p["seed"], int) and "matrix" not in p for p in d["problems"])')" = True ] \
    && pass "every problem generated, with a seed and a source" \
    || fail "every problem generated, with a seed and a source"
[ "$(json_get "$WORK/bench.json" '[p for p in d["problems"] if p["id"] == "rn50-conv1@0.9"][0]["k"]')" = 147 ] \
    && pass "rn50-conv1 is 64 x 147" || fail "rn50-conv1 is 64 x 147"

# the table: a header, one line per problem, the summary
expect_exit 0 "suite bench205 as a table" "$SPMMFARM" suite "$BENCH"
expect_grep "^id +m +k +n +sparsity +seed +source" "$WORK/out" "table header"
expect_grep "^205 problems, 41 shapes, sparsities 0.5 0.7 0.8 0.9 0.95$" "$WORK/out" "summary line"
[ "$(wc -l <"$WORK/out")" -eq 207 ] && pass "one line per problem" || fail "one line per problem"

# filters
expect_exit 0 "--filter sparsity=0.9" "$SPMMFARM" suite "$BENCH" --filter 'sparsity=0.9' --json
[ "$(json_get "$WORK/out" 'len(d["problems"])')" = 41 ] && pass "41 problems at 0.9" || fail "41 problems at 0.9"
expect_exit 0 "--filter n=50176" "$SPMMFARM" suite "$BENCH" --filter 'n=50176'
expect_grep "^25 problems, 5 shapes, sparsities 0.5 0.7 0.8 0.9 0.95$" "$WORK/out" "25 problems at N = 50176"
expect_exit 0 "--filter with several terms" "$SPMMFARM" suite "$BENCH" --filter 'shape~bert, sparsity>=0.9' --json
[ "$(json_get "$WORK/out" '[p["id"] for p in d["problems"]]')" = \
  "['bert-qkvo@0.9', 'bert-qkvo@0.95', 'bert-output@0.9', 'bert-output@0.95', 'bert-intermediate@0.9', 'bert-intermediate@0.95']" ] \
    && pass "terms are ANDed, file order kept" || fail "terms are ANDed, file order kept"
expect_exit 0 "a filter that matches nothing" "$SPMMFARM" suite "$BENCH" --filter 'm=1'
expect_grep "^0 problems" "$WORK/out" "nothing matched is not an error"
expect_exit 2 "a bad filter" "$SPMMFARM" suite "$BENCH" --filter 'rows=5'
expect_grep "unknown field 'rows'" "$WORK/err" "the bad term is named"
expect_exit 2 "a filter with the wrong operator" "$SPMMFARM" suite "$BENCH" --filter 'sparsity~0.9'

# usage
expect_exit 2 "no FILE" "$SPMMFARM" suite
expect_exit 2 "two FILEs" "$SPMMFARM" suite "$BENCH" "$BENCH"
expect_exit 2 "unknown option" "$SPMMFARM" suite "$BENCH" --frob

# bad files: exit 2, the message names the file and the line
expect_exit 2 "a missing suite file" "$SPMMFARM" suite "$WORK/none.conf"
expect_grep "none.conf: no such file" "$WORK/err" "missing file named"
printf 'suite\n    name = bad\n    sparsities = 0.5\n    seed_base = 1\nshape\n    id = a\n    m = 4\n    k = -4\n    n = 4\n    source = x\n' >"$WORK/bad.conf"
expect_exit 2 "a suite with a negative k" "$SPMMFARM" suite "$WORK/bad.conf" --json
expect_grep "bad.conf:8: shape 'a': k = -4 is outside" "$WORK/err" "file and line named"
[ ! -s "$WORK/out" ] && pass "nothing on stdout on error" || fail "nothing on stdout on error"
printf 'suite\n  name = bad\n' >"$WORK/syntax.conf"
expect_exit 2 "a ZPL syntax error" "$SPMMFARM" suite "$WORK/syntax.conf" --json
expect_grep "syntax.conf:2: indent by multiples of 4 spaces" "$WORK/err" "syntax error's line named"
[ ! -s "$WORK/out" ] && pass "zconfig prints nothing" || fail "zconfig prints nothing"

# explicit problems: matrix files resolved next to the suite file
expect_exit 0 "a suite with problem sections" "$SPMMFARM" suite "$MIXED" --json
cp "$WORK/out" "$WORK/mixed.json"
[ "$(json_get "$WORK/mixed.json" '[p["id"] for p in d["problems"]]')" = \
  "['small@0.5', 'small@0.9', 'tiny-pattern', 'wide@0.5', 'wide@0.9', 'small-again@0.3']" ] \
    && pass "shapes and problems in file order" || fail "shapes and problems in file order"
[ "$(json_get "$WORK/mixed.json" '[p.get("matrix") for p in d["problems"]][2]')" = "$TEST_DATA/suites/tiny.smtx" ] \
    && pass "matrix path resolved" || fail "matrix path resolved"
mkdir "$WORK/s"
cp "$MIXED" "$TEST_DATA/suites/tiny.smtx" "$WORK/s/"
expect_exit 0 "a relative suite path" sh -c "cd '$WORK' && '$SPMMFARM' suite s/mixed.conf --filter 'matrix!=' --json"
[ "$(json_get "$WORK/out" 'd["problems"][0]["matrix"]')" = "s/tiny.smtx" ] \
    && pass "matrix relative to the suite file" || fail "matrix relative to the suite file"
rm "$WORK/s/tiny.smtx"
expect_exit 2 "a missing matrix file" "$SPMMFARM" suite "$WORK/s/mixed.conf"
expect_grep "mixed.conf:[0-9]+: problem 'tiny-pattern': matrix file .*s/tiny.smtx" "$WORK/err" \
    "missing matrix named with its problem"
finish
