#!/bin/bash
# wgmma helper's device run: diag (each cubin on crafted inputs, own process), then tcdense cases (check + timing)
here=$(cd "$(dirname "$0")" && pwd)
CASES=${1:-$here/cases1.txt}; BUDGET=${BUDGET:-100}
mkdir -p "$OUT" "$OUT/npz"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
for f in $(cut -d' ' -f1 "$here/diag/meta.txt"); do
  timeout 10 python3 "$here/diag.py" "$here/diag" "$OUT/npz" "$f" >> "$OUT/diag.txt" 2>&1 || echo "$f: rc $?" >> "$OUT/diag.txt"
done
cat "$OUT/diag.txt"
start=$(date +%s)
while read -r line; do
  case "$line" in ''|\#*) continue;; esac
  if [ $(( $(date +%s) - start )) -ge "$BUDGET" ]; then echo "budget spent: not run: $line" >> "$OUT/tc.err"; continue; fi
  t0=$(date +%s)
  timeout 30 "$here/bin/tcdense" $line >> "$OUT/tc.jsonl" 2>> "$OUT/tc.err"
  rc=$?
  echo "case '$line' rc $rc $(( $(date +%s) - t0 )) s" | tee -a "$OUT/tc.err"
done < "$CASES"
python3 "$here/table.py" "$OUT/tc.jsonl" > "$OUT/table.txt" 2>&1; cat "$OUT/table.txt"
(cd "$OUT" && tar czf npz.tgz npz && rm -rf npz)
