#!/bin/sh
# parts.sh: the include trees of the parts (docs/ARCHITECTURE.md, "How the
# build enforces the arrows"). Run by make (Makefile.am), not by hand.
#
#   parts.sh SRCDIR BUILDDIR OUT SPEC...
#
# Each SPEC is PART:ENTRY,ENTRY,... and makes OUT/PART/, the only folder of
# ours on PART's include path (-I OUT/PART), holding links to what PART may
# include, as `#include "DIR/FILE.h"` names them:
#   DIR             OUT/PART/DIR -> SRCDIR/DIR (every header of that part)
#   DIR/FILE.h      that header alone
#   DIR-FILE.h      every header of DIR but FILE.h (one or more: DIR-A.h-B.h)
# and OUT/PART/config.h -> BUILDDIR/config.h; then OUT/.stamp, touched only
# when the trees changed. A header reached no other way
# ("worker/sf_search.h" from a part that may not include worker/) is then
# "No such file or directory" when that part compiles.
set -eu
[ $# -ge 3 ] || { echo "usage: parts.sh SRCDIR BUILDDIR OUT SPEC..." >&2; exit 2; }
src=$1 build=$2 out=$3
shift 3
case "$src" in /*) ;; *) echo "parts.sh: SRCDIR must be absolute" >&2; exit 2 ;; esac
case "$build" in /*) ;; *) echo "parts.sh: BUILDDIR must be absolute" >&2; exit 2 ;; esac

rm -rf "$out.new"
mkdir -p "$out.new"
for spec in "$@"; do
    part=${spec%%:*}
    entries=${spec#*:}
    case "$part" in ''|*/*|*[!a-z0-9_]*) echo "parts.sh: bad part name in '$spec'" >&2; exit 2 ;; esac
    [ "$entries" != "$spec" ] || { echo "parts.sh: '$spec' is not PART:ENTRY,..." >&2; exit 2; }
    dir="$out.new/$part"
    mkdir -p "$dir"
    ln -s "$build/config.h" "$dir/config.h"
    old_ifs=$IFS
    IFS=,
    for entry in $entries; do
        IFS=$old_ifs
        case "$entry" in
        */*.h)  # one header
            [ -f "$src/$entry" ] || { echo "parts.sh: $part: no $src/$entry" >&2; exit 1; }
            mkdir -p "$dir/${entry%/*}"
            ln -s "$src/$entry" "$dir/$entry" ;;
        *-*.h)  # a folder's headers but some
            folder=${entry%%-*}
            but=" $(printf '%s' "${entry#*-}" | sed 's/\.h-/.h /g') "
            [ -d "$src/$folder" ] || { echo "parts.sh: $part: no folder $src/$folder" >&2; exit 1; }
            mkdir -p "$dir/$folder"
            for h in "$src/$folder"/*.h; do
                [ -f "$h" ] || continue
                case "$but" in *" ${h##*/} "*) continue ;; esac
                ln -s "$h" "$dir/$folder/${h##*/}"
            done ;;
        *[!a-z0-9_]*|'')
            echo "parts.sh: $part: bad entry '$entry'" >&2; exit 2 ;;
        *)      # a whole part
            [ -d "$src/$entry" ] || { echo "parts.sh: $part: no folder $src/$entry" >&2; exit 1; }
            ln -s "$src/$entry" "$dir/$entry" ;;
        esac
        IFS=,
    done
    IFS=$old_ifs
done
# The same trees as before: keep them and their stamp's time, so that the
# parts' objects (which depend on OUT/.stamp) are not compiled again.
s_list () { (cd "$1" && find . -path ./.stamp -prune -o -path ./.made -prune -o -print | sort |
             while read -r f; do printf '%s %s\n' "$f" "$(readlink "$f" || true)"; done); }
if [ -f "$out/.stamp" ] && [ "$(s_list "$out")" = "$(s_list "$out.new")" ]; then
    rm -rf "$out.new"
else
    rm -rf "$out"
    mv "$out.new" "$out"
    touch "$out/.stamp"
fi
