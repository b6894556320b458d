#!/bin/sh
# The spmmfarm program's contract: help everywhere, exit codes 0/1/2, errors
# on stderr, gen + reference on a generated layer.
. "$(dirname "$0")/testlib.sh"

expect_exit 0 "help" "$SPMMFARM" help
expect_grep "inspect" "$WORK/out" "help lists commands"
expect_exit 2 "no command is bad usage" "$SPMMFARM"
expect_exit 2 "unknown command" "$SPMMFARM" frobnicate
expect_grep "no command 'frobnicate'" "$WORK/err" "unknown command named on stderr"
if grep -q "did you mean" "$WORK/err"; then fail "no suggestion for a word far from every command"; else pass "no suggestion for a word far from every command"; fi

# Did you mean: commands and long options (edit distance), exit 2.
expect_exit 2 "a misspelled command" "$SPMMFARM" inpsect x.mtx
expect_grep "no command 'inpsect'; did you mean 'inspect'\\?" "$WORK/err" "... suggests the command (transposition)"
expect_exit 2 "help for a misspelled command" "$SPMMFARM" help lcoal
expect_grep "did you mean 'local'" "$WORK/err" "... suggests it too"
expect_exit 2 "a command's prefix" "$SPMMFARM" tune x.mtx
expect_grep "did you mean 'tune-local'" "$WORK/err" "... suggests the only command it starts"
expect_exit 2 "a misspelled option" "$SPMMFARM" inspect --jsno x.mtx
expect_grep "^spmmfarm inspect: unknown option '--jsno' \\(did you mean '--json'\\?\\)" "$WORK/err" "... suggests the option"
expect_grep "Try 'spmmfarm inspect --help'" "$WORK/err" "... and the help"
expect_exit 2 "a misspelled option of a search command" "$SPMMFARM" tune-local --max-cofnigs 3 x.mtx --n 4
expect_grep "did you mean '--max-configs'" "$WORK/err" "... suggests the search option"
expect_exit 2 "an option far from every option" "$SPMMFARM" gen --frobnicate
expect_grep "unknown option '--frobnicate'\$" "$WORK/err" "... no suggestion"
expect_exit 2 "an option without its value" "$SPMMFARM" gen --m
expect_grep "option '--m' needs a value" "$WORK/err" "... says the value is missing"
expect_exit 2 "a flag with a value" "$SPMMFARM" inspect --json=yes x.mtx
expect_grep "option '--json' takes no value" "$WORK/err" "... says it takes none"
expect_exit 2 "an ambiguous prefix" "$SPMMFARM" local --s x x.mtx
expect_grep "option '--s' is ambiguous \\((--[a-z-]+, )*--store(, --[a-z-]+)*\\)" "$WORK/err" "... lists the candidates"
expect_grep "option '--s' is ambiguous \\(.*--strategy" "$WORK/err" "... all of them"
expect_exit 2 "an unknown short option" "$SPMMFARM" inspect -z x.mtx
expect_grep "unknown option '-z'" "$WORK/err" "... named"
for cmd in gen inspect reference suite devices tune-local store keygen bundle export; do
    expect_exit 0 "$cmd --help" "$SPMMFARM" "$cmd" --help
    expect_grep "^usage: spmmfarm $cmd" "$WORK/out" "$cmd --help shows usage"
    expect_exit 0 "help $cmd" "$SPMMFARM" help "$cmd"
done

# gen: argument checking
expect_exit 2 "gen without arguments" "$SPMMFARM" gen
expect_exit 2 "gen with sparsity > 1" "$SPMMFARM" gen --m 4 --k 4 --sparsity 1.5 -o "$WORK/a.mtx"
expect_grep "sparsity" "$WORK/err" "gen names the bad option"
expect_exit 2 "gen with m = 0" "$SPMMFARM" gen --m 0 --k 4 --sparsity 0.5 -o "$WORK/a.mtx"
expect_exit 2 "gen with a non-number" "$SPMMFARM" gen --m 4x --k 4 --sparsity 0.5 -o "$WORK/a.mtx"
expect_exit 2 "gen to an unknown extension" "$SPMMFARM" gen --m 4 --k 4 --sparsity 0.5 -o "$WORK/a.txt"
expect_exit 2 "gen with an unknown option" "$SPMMFARM" gen --frob
expect_exit 1 "gen into a missing directory is a runtime failure" \
    "$SPMMFARM" gen --m 4 --k 4 --sparsity 0.5 -o "$WORK/no/such/dir/a.mtx"

# Options as tables (cli/sf_cli: sf_cli_options, sf_cli_config): a value out
# of its bounds names the option and the value, --opt=value and short forms
# work, a group's option (the client's) is checked too, a farm.conf's
# setting is checked like its flag, and a flag wins over the file.
expect_exit 2 "an integer out of bounds" "$SPMMFARM" gen --m 0 --k 3 --sparsity 0.5 -o "$WORK/b.mtx"
expect_grep "^spmmfarm gen: --m must be an integer in 1..2147483647, not '0'\$" "$WORK/err" "... names the bound and the value"
expect_exit 2 "a number out of bounds" "$SPMMFARM" gen --m 2 --k 3 --sparsity=1.5 -o "$WORK/b.mtx"
expect_grep "--sparsity must be a number in \[0, 1\], not '1.5'" "$WORK/err" "... --opt=value form"
expect_exit 0 "-o and --opt=value" "$SPMMFARM" gen --m=2 --k 3 --sparsity 0.5 -o"$WORK/b.mtx"
[ -f "$WORK/b.mtx" ] && pass "... wrote -o's file" || fail "... wrote -o's file"
expect_exit 2 "an operand where none is taken" "$SPMMFARM" devices extra
expect_grep "unexpected argument 'extra'" "$WORK/err" "... named"
expect_exit 2 "a client option out of bounds" "$SPMMFARM" status --timeout 0
expect_grep "^spmmfarm status: --timeout: milliseconds, 1..86400000\$" "$WORK/err" "... the client's message"
long129=$(printf 'n%.0s' $(seq 129))
expect_exit 2 "a name of no byte" "$SPMMFARM" import x.safetensors -o "$WORK/m.json" --name ''
expect_grep "^spmmfarm import: --name: 1..128 bytes\$" "$WORK/err" "... says its bounds"
expect_exit 2 "a name over its bound" "$SPMMFARM" submit x.mtx --n 4 --name "$long129"
expect_grep "^spmmfarm submit: --name: 1..128 bytes\$" "$WORK/err" "... says its bounds"
expect_exit 2 "a GPU type that does not fit" "$SPMMFARM" submit x.mtx --n 4 --gpu-type "$long129$long129$long129"
expect_grep "^spmmfarm submit: --gpu-type: too long\$" "$WORK/err" "... says so"
expect_exit 2 "an empty GPU type" "$SPMMFARM" export 1 -o "$WORK/x.bundle" --gpu-type ''
expect_grep "^spmmfarm export: --gpu-type must not be empty\$" "$WORK/err" "... says so"
expect_exit 2 "a certificate name over 64 bytes" "$SPMMFARM" keygen "$WORK/k" --name "$long129"
expect_grep "^spmmfarm keygen: --name is longer than 64 characters\$" "$WORK/err" "... says so"
[ ! -e "$WORK/k" ] && pass "... and makes nothing" || fail "... and makes nothing"
printf 'coordinator\n    store = %s/cs\n    liveness = 500\n' "$WORK" > "$WORK/bad.conf"
expect_exit 2 "a farm.conf value out of bounds" "$SPMMFARM" coordinator --config "$WORK/bad.conf"
expect_grep "bad.conf: coordinator/liveness: '500' is not in 1..100" "$WORK/err" "... names the file, the key and the bound"
expect_exit 2 "a flag out of bounds, with the file" "$SPMMFARM" coordinator --config "$WORK/bad.conf" --liveness 0
expect_grep "^spmmfarm coordinator: --liveness: 1..100\$" "$WORK/err" "... the flag's message"
expect_exit 2 "a missing farm.conf" "$SPMMFARM" coordinator --config "$WORK/none.conf"
expect_grep "none.conf: cannot read it as a ZPL configuration" "$WORK/err" "... says so"

# gen -> inspect -> reference on one layer
expect_exit 0 "gen a 768x768 layer at 0.9" "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.9 --seed 1 -o "$WORK/l.mtx" --json
cp "$WORK/out" "$WORK/gen.json"
[ "$(json_get "$WORK/gen.json" 'd["nnz"]')" = 58982 ] && pass "gen: exact nnz" || fail "gen: exact nnz"
expect_exit 0 "inspect the generated layer" "$SPMMFARM" inspect "$WORK/l.mtx" --json
cp "$WORK/out" "$WORK/inspect.json"
[ "$(json_get "$WORK/inspect.json" 'd["hash"]')" = "$(json_get "$WORK/gen.json" 'd["hash"]')" ] \
    && pass "inspect: .mtx round-trip keeps the hash" || fail "inspect: .mtx round-trip keeps the hash"
expect_exit 0 "reference on the layer" "$SPMMFARM" reference "$WORK/l.mtx" --n 64 --json
cp "$WORK/out" "$WORK/ref.json"
[ "$(json_get "$WORK/ref.json" 'd["verified"]')" = True ] && pass "reference verified" || fail "reference verified"
expect_exit 2 "reference without --n" "$SPMMFARM" reference "$WORK/l.mtx"
expect_exit 2 "inspect a missing file" "$SPMMFARM" inspect "$WORK/missing.mtx"
expect_grep "missing.mtx" "$WORK/err" "the error names the file"
finish
