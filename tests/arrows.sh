#!/bin/sh
# The parts' arrows (docs/ARCHITECTURE.md), as the build enforces them. Each
# part's library compiles with its own include tree ($(SF_PARTS)/PART, made
# by parts.sh) instead of the repository's root, so that an #include of a
# header the part may not see fails to compile. With the build's own
# compile command of each part (read from the Makefile):
#   1. a crafted file that includes a header across a never-arrow fails, on
#      that header ("No such file or directory"), for every never-arrow;
#   2. the same file with an allowed header compiles (so (1) fails on the
#      arrow, not on the flags);
#   3. no part library is compiled with the repository's root on its path,
#      and libspmmfarm_la_SOURCES is empty (every file is in a part's library);
#   4. linked along the arrows: every sf_ function a part's objects call is
#      defined in the part's own library or a library of a part it sees (nm).
. "$(dirname "$0")/testlib.sh"

mk () {  # mk VAR: VAR's value in the build's Makefile
    printf 'sf-print-%%:\n\t@echo $($*)\n' > "$WORK/print.mk"
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP_BUILDDIR" -f Makefile -f "$WORK/print.mk" "sf-print-$1"
}
PARTS="common wire proxygen bundle store rankmodel worker coordinator experiments runtime"

# The compile command of a part's files, as the Makefile's rule has it.
cc_of () {
    echo "$(mk CC) $(mk DEFS) $(mk DEFAULT_INCLUDES) $(mk INCLUDES) $(mk "libsf_$1_la_CPPFLAGS") $(mk CPPFLAGS) $(mk AM_CFLAGS) $(mk CFLAGS)"
}
mkdir -p "$WORK/probe"
# probe PART HEADER: 0 when a file including HEADER compiles as part of PART;
# the compiler's words in $WORK/probe.err.
probe () {
    printf '#include "%s"\nint sf_probe (void);\nint sf_probe (void) { return 0; }\n' "$2" > "$WORK/probe/sf_probe.c"
    eval "$CC_PART -fsyntax-only -c '$WORK/probe/sf_probe.c'" > "$WORK/probe.err" 2>&1
}

for part in $PARTS; do
    CC_PART=$(cc_of "$part")
    case "$CC_PART" in
    *"/.parts/$part "*) ;;
    *) fail "$part: its library's flags do not name its include tree: $CC_PART"; continue ;;
    esac
    for dir in "$TOP_SRCDIR" "$TOP_BUILDDIR"; do
        for flag in "-I$dir " "-I$dir/ " "-I. " "-I$dir/. "; do
            case "$CC_PART " in *" $flag"*) fail "$part: compiled with the repository's root on its path ($flag)" ;; esac
        done
    done
    # what the part sees, then what it may never see (docs/ARCHITECTURE.md)
    case $part in
    common)      ok="common/sf_error.h common/sf_cudadrv.h common/sf_mpack.h common/sf_schema.h"
                 never="runtime/sf_manifest.h wire/sf_proto.h worker/sf_search.h bundle/sf_bundle.h store/sf_store.h" ;;
    wire)        ok="wire/sf_proto.h wire/sf_request.h common/sf_log.h common/sf_mpack.h common/sf_mpack_out.h"
                 never="worker/sf_search.h coordinator/sf_coord.h store/sf_store.h store/sf_record.h proxygen/sf_config.h" ;;
    proxygen)    ok="proxygen/sf_config.h proxygen/sf_cost.h common/sf_matrix.h"
                 never="common/sf_cudadrv.h worker/sf_gpu.h wire/sf_proto.h store/sf_store.h" ;;
    bundle)      ok="bundle/sf_bundle.h runtime/sf_manifest.h common/sf_error.h"
                 never="store/sf_store.h worker/sf_search.h wire/sf_proto.h" ;;
    store)       ok="store/sf_export.h store/sf_store.h common/sf_schema.h common/sf_mpack.h proxygen/sf_config.h bundle/sf_bundle.h store/sf_bundlemake.h"
                 never="coordinator/sf_ledger.h worker/sf_sim.h wire/sf_proto.h rankmodel/sf_rankmodel.h" ;;
    rankmodel)   ok="rankmodel/sf_sweep.h rankmodel/sf_rankstore.h store/sf_store.h proxygen/sf_space.h"
                 never="worker/sf_search.h coordinator/sf_coord.h wire/sf_request.h" ;;
    worker)      ok="worker/sf_worker.h wire/sf_proto.h rankmodel/sf_rankmodel.h proxygen/sf_jit.h common/sf_cudadrv.h"
                 never="coordinator/sf_coord.h coordinator/sf_ledger.h experiments/sf_benchrun.h cli/sf_cli.h" ;;
    coordinator) ok="coordinator/sf_ledger.h wire/sf_proto.h store/sf_store.h rankmodel/sf_rankstore.h proxygen/sf_cost.h"
                 never="worker/sf_search.h worker/sf_sim.h experiments/sf_bench.h cli/sf_cli.h" ;;
    experiments) ok="experiments/sf_bench.h worker/sf_search.h rankmodel/sf_rankmodel.h store/sf_store.h experiments/sf_bundlerun.h runtime/spmmfarm_rt.h"
                 never="coordinator/sf_coord.h coordinator/sf_farm.h cli/sf_cli.h" ;;
    runtime)     ok="runtime/sf_manifest.h runtime/spmmfarm_rt.h common/sf_sha256.h common/sf_tier.h"
                 never="common/sf_log.h common/sf_error.h bundle/sf_bundle.h store/sf_store.h" ;;
    esac
    for h in $ok; do
        probe "$part" "$h" && pass "$part may include $h" ||
            fail "$part: an allowed include of $h does not compile: $(head -3 "$WORK/probe.err")"
    done
    for h in $never; do
        [ -f "$TOP_SRCDIR/$h" ] || { fail "$h is not in the tree: the test names a header that went away"; continue; }
        if probe "$part" "$h"; then
            fail "$part includes $h and compiles: the never-arrow is not enforced"
        elif grep -q -e "$h: No such file or directory" -e "'$h' file not found" "$WORK/probe.err"; then  # gcc, clang
            pass "$part cannot include $h (No such file or directory)"
        else
            fail "$part including $h failed, but not on the include: $(head -3 "$WORK/probe.err")"
        fi
    done
done
# the runtime's installed library: the same tree
case "$(mk runtime_libspmmfarm_rt_la_CPPFLAGS)" in
*/.parts/runtime*) pass "libspmmfarm-rt compiles with the runtime's include tree" ;;
*) fail "libspmmfarm-rt's flags do not name the runtime's include tree" ;;
esac
[ -z "$(mk libspmmfarm_la_SOURCES)" ] && pass "libspmmfarm_la_SOURCES is empty: every file is in a part's library" ||
    fail "libspmmfarm_la_SOURCES lists files: move them to their part's libsf_PART_la_SOURCES"

# 4. linked along the arrows: the parts a part sees (SF_PARTS_SPEC, as
# parts.sh reads it), and their libraries' symbols.
spec=$(mk SF_PARTS_SPEC)
sees () {  # the parts whose headers part $1 sees
    for s in $spec; do
        case "$s" in "$1":*) printf '%s\n' "${s#*:}" | tr ',' '\n' | sed 's/[-/].*//' | sort -u ;; esac
    done
}
defined () { nm -g --defined-only "$TOP_BUILDDIR/.libs/libsf_$1.a" 2>/dev/null | awk 'NF == 3 { print $3 }'; }
for part in $PARTS; do
    lib="$TOP_BUILDDIR/.libs/libsf_$part.a"
    [ -f "$lib" ] || { fail "no $lib (built?)"; continue; }
    : > "$WORK/allowed"
    for q in $(sees "$part"); do defined "$q" >> "$WORK/allowed"; done
    sort -u "$WORK/allowed" -o "$WORK/allowed"
    nm -u "$lib" | awk '{ print $NF }' | grep -E '^(sf|sfrt)_' | sort -u > "$WORK/calls"
    bad=$(comm -23 "$WORK/calls" "$WORK/allowed" | tr '\n' ' ')
    [ -s "$WORK/calls" ] || [ "$part" = common ] || fail "$part: nm found no call of ours (nm broken?)"
    [ -z "$bad" ] && pass "$part calls only parts it sees ($(wc -l < "$WORK/calls") functions)" ||
        fail "$part calls functions of parts it may not see: $bad"
done
# the check of (4) can fail: a library that sees less than it calls
: > "$WORK/allowed"
defined common > "$WORK/allowed"
sort -u "$WORK/allowed" -o "$WORK/allowed"
nm -u "$TOP_BUILDDIR/.libs/libsf_worker.a" | awk '{ print $NF }' | grep '^sf_' | sort -u > "$WORK/calls"
[ -n "$(comm -23 "$WORK/calls" "$WORK/allowed")" ] && pass "the link check refuses a part that calls beyond what it sees" ||
    fail "the link check cannot fail"
finish
