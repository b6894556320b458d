#!/bin/sh
# The parts' never-arrows (docs/ARCHITECTURE.md): reads every #include "X/..."
# of the library's parts and fails on one that breaks a never-arrow and is
# not a known exception below, and on a known exception that no longer
# exists (fixed: take it off the list). No build needed.
. "$(dirname "$0")/testlib.sh"

cd "$TOP_SRCDIR" || exit 1

# Known violations, "FILE HEADER" (docs/ARCHITECTURE.md "Known violations").
KNOWN="common/sf_bundle.h runtime/sf_manifest.h
coordinator/sf_coord.c worker/sf_search.h
store/sf_export.c worker/sf_sim.h
rankmodel/sf_sweep.h worker/sf_search.h"

# why FILE HEADER: the never-arrow HEADER breaks when FILE includes it, or "".
why () {
    part=${1%%/*} target=${2%%/*}
    [ "$target" = "$part" ] && { echo ""; return; }
    [ "$target" = cli ] && { echo "nothing reaches back into cli/"; return; }
    [ "$target" = experiments ] && { echo "nothing but the program reaches into experiments/"; return; }
    case "$part" in
    common) echo "common knows no component" ;;
    wire) [ "$target" = common ] && echo "" || echo "the wire knows no component" ;;
    proxygen)
        if [ "$2" = common/sf_cudadrv.h ]; then echo "proxygen knows no GPU"
        elif [ "$target" = common ]; then echo ""
        else echo "proxygen knows no GPU and no farm"; fi ;;
    worker) [ "$target" = coordinator ] && echo "workers and the coordinator meet only on the wire" || echo "" ;;
    coordinator) [ "$target" = worker ] && echo "workers and the coordinator meet only on the wire" || echo "" ;;
    store)
        case "$target" in coordinator|worker|wire) echo "the store knows no farm" ;; *) echo "" ;; esac ;;
    experiments) [ "$target" = coordinator ] && echo "experiments run searches, not farms" || echo "" ;;
    rankmodel) [ "$target" = worker ] && echo "the rank model is plugged into the search, not the reverse" || echo "" ;;
    runtime)
        case "$2" in common/sf_sha256.h|common/sf_tier.h) echo "" ;; *) echo "the runtime stands alone" ;; esac ;;
    *) echo "" ;;
    esac
}

found=""
for f in common/*.[ch] wire/*.[ch] proxygen/*.[ch] worker/*.[ch] coordinator/*.[ch] store/*.[ch] \
         rankmodel/*.[ch] runtime/*.[ch] experiments/*.[ch]; do
    [ -f "$f" ] || continue
    for h in $(sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([a-z_]*\/[A-Za-z0-9_.]*\)".*/\1/p' "$f"); do
        reason=$(why "$f" "$h")
        [ -n "$reason" ] || continue
        found="$found$f $h
"
        if printf '%s\n' "$KNOWN" | grep -qxF "$f $h"; then
            pass "known exception: $f includes $h ($reason)"
        else
            fail "$f includes $h: $reason (docs/ARCHITECTURE.md)"
        fi
    done
done
# every listed exception still exists (else it was fixed: remove it)
printf '%s\n' "$KNOWN" | while read -r f h; do
    printf '%s' "$found" | grep -qxF "$f $h" || echo "STALE $f $h"
done > "$WORK/stale"
while read -r tag f h; do
    fail "$f no longer includes $h: remove it from the known exceptions (tests/arrows.sh, docs/ARCHITECTURE.md)"
done < "$WORK/stale"
# the rules catch what they should (a check that cannot fail is no check)
[ -n "$(why common/sf_x.c worker/sf_search.h)" ] && [ -n "$(why store/sf_x.c wire/sf_proto.h)" ] &&
    [ -n "$(why runtime/sfrt.c common/sf_log.h)" ] && [ -z "$(why runtime/sfrt.c common/sf_tier.h)" ] &&
    [ -n "$(why proxygen/sf_x.c common/sf_cudadrv.h)" ] && [ -n "$(why worker/sf_x.c cli/sf_cli.h)" ] &&
    [ -n "$(why coordinator/sf_x.c worker/sf_gpu.h)" ] && [ -z "$(why coordinator/sf_x.c wire/sf_proto.h)" ] &&
    [ -n "$(why worker/sf_x.c experiments/sf_benchrun.h)" ] && [ -n "$(why experiments/sf_x.c coordinator/sf_coord.h)" ] &&
    [ -z "$(why experiments/sf_x.c worker/sf_search.h)" ] && [ -z "$(why experiments/sf_x.c experiments/sf_y.h)" ] &&
    pass "the rules refuse what docs/ARCHITECTURE.md forbids" || fail "the rules are wrong"
finish
