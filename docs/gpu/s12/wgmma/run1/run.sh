#!/bin/bash
# wgmma helper's device run: diag (cubins on crafted inputs), then tcdense cases (check + timing)
here=$(cd "$(dirname "$0")" && pwd)
CASES=${1:-$here/cases1.txt}; BUDGET=${BUDGET:-100}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
timeout 40 python3 "$here/diag.py" "$here/diag" "$OUT" > "$OUT/diag.txt" 2>&1; echo "diag rc $?" >> "$OUT/diag.txt"
cat "$OUT/diag.txt"
start=$(date +%s)
while read -r line; do
  case "$line" in ''|\#*) continue;; esac
  if [ $(( $(date +%s) - start )) -ge "$BUDGET" ]; then echo "budget spent: not run: $line" >> "$OUT/tc.err"; continue; fi
  t0=$(date +%s.%N)
  timeout 40 "$here/bin/tcdense" $line >> "$OUT/tc.jsonl" 2>> "$OUT/tc.err"
  rc=$?
  echo "case '$line' rc $rc $(echo "$(date +%s.%N) - $t0" | bc) s" | tee -a "$OUT/tc.err"
done < "$CASES"
python3 "$here/table.py" "$OUT/tc.jsonl" > "$OUT/table.txt" 2>&1; cat "$OUT/table.txt"
