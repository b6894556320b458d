#!/bin/sh
# spmmfarm keygen: makes a CurveZMQ certificate pair, never overwrites a
# secret, checks its arguments; the Slurm template is valid shell.
. "$(dirname "$0")/testlib.sh"

expect_exit 0 "keygen --help" "$SPMMFARM" keygen --help
expect_grep "^usage: spmmfarm keygen" "$WORK/out" "keygen --help shows usage"
expect_exit 0 "help keygen" "$SPMMFARM" help keygen
expect_exit 0 "help lists keygen" "$SPMMFARM" help
expect_grep "keygen" "$WORK/out" "keygen is in the command list"

# A coordinator's certificate in a new directory.
expect_exit 0 "keygen coordinator" "$SPMMFARM" keygen "$WORK/certs" --name coordinator
[ -f "$WORK/certs/coordinator.cert" ] && pass "public file" || fail "public file"
[ -f "$WORK/certs/coordinator.cert_secret" ] && pass "secret file" || fail "secret file"
expect_grep "public-key" "$WORK/certs/coordinator.cert" "public file holds the public key"
if grep -q "secret-key" "$WORK/certs/coordinator.cert"; then fail "public file holds no secret"; else
    pass "public file holds no secret"; fi
expect_grep "secret-key" "$WORK/certs/coordinator.cert_secret" "secret file holds the secret key"
mode=$(stat -c %a "$WORK/certs/coordinator.cert_secret")
[ "$mode" = 600 ] && pass "secret is mode 600" || fail "secret is mode 600 (is $mode)"
mode=$(stat -c %a "$WORK/certs")
[ "$mode" = 700 ] && pass "new directory is mode 700" || fail "new directory is mode 700 (is $mode)"

# Never overwrite a secret: exit 2, the file unchanged.
cp "$WORK/certs/coordinator.cert_secret" "$WORK/before"
expect_exit 2 "keygen refuses to overwrite" "$SPMMFARM" keygen "$WORK/certs" --name coordinator
expect_grep "refusing to overwrite" "$WORK/err" "the refusal says why"
cmp -s "$WORK/before" "$WORK/certs/coordinator.cert_secret" && pass "secret unchanged" \
    || fail "secret unchanged"

# JSON output, the default name (the short host name), two keys differ.
expect_exit 0 "keygen --json" "$SPMMFARM" keygen "$WORK/certs" --name worker --json
cp "$WORK/out" "$WORK/worker.json"
[ "$(json_get "$WORK/worker.json" 'd["public"]')" = "$WORK/certs/worker.cert" ] \
    && pass "JSON: public path" || fail "JSON: public path"
[ "$(json_get "$WORK/worker.json" 'len(d["public_key"])')" = 40 ] \
    && pass "JSON: a Z85 public key" || fail "JSON: a Z85 public key"
grep -qF -- "$(json_get "$WORK/worker.json" 'd["public_key"]')" "$WORK/certs/worker.cert" \
    && pass "JSON key is the file's" || fail "JSON key is the file's"
cmp -s "$WORK/certs/worker.cert" "$WORK/certs/coordinator.cert" && fail "two keys differ" \
    || pass "two keys differ"
host=$(hostname | cut -d. -f1)
expect_exit 0 "keygen with the default name" "$SPMMFARM" keygen "$WORK/certs"
[ -f "$WORK/certs/$host.cert" ] && pass "default name is the short host name" \
    || fail "default name is the short host name"

# Bad usage: exit 2.
expect_exit 2 "keygen without DIR" "$SPMMFARM" keygen
expect_exit 2 "keygen with two DIRs" "$SPMMFARM" keygen "$WORK/a" "$WORK/b"
expect_exit 2 "keygen with a bad name" "$SPMMFARM" keygen "$WORK/certs" --name "team/alice"
expect_grep "letters, digits" "$WORK/err" "the bad name is explained"
expect_exit 2 "keygen with an unknown option" "$SPMMFARM" keygen "$WORK/certs" --frob
# A runtime failure: the parent directory does not exist.
expect_exit 1 "keygen under a missing directory" "$SPMMFARM" keygen "$WORK/no/such/dir"

# The Slurm template is valid shell.
if bash -n "$TOP_SRCDIR/conf/slurm/worker.sbatch" 2>"$WORK/err"; then pass "worker.sbatch parses"; else
    fail "worker.sbatch parses"; cat "$WORK/err"; fi
finish
