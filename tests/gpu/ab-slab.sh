#!/bin/bash
# ab-slab.sh: on the GPU machine, from the repository root with .devpack/
# carried (session 8, issue 3). Three bench205 problems whose U winner
# changed between two bench runs, searched three times each with bench's
# settings: without the slab kernel, with it, and without it again, to tell
# the slab's effect from run-to-run changes of the proxy strategy's U
# finalists. Prints each run's winner, U finalists and best D; JSON under
# $OUT/ab. (Measured: the two runs without the slab differ as much as the
# one with it; docs/BENCHMARKS.md.)
export LD_LIBRARY_PATH=$PWD/.devpack/lib:/usr/local/cuda/lib64
S=$PWD/.devpack/bin/spmmfarm
mkdir -p $OUT/ab
for spec in 232x232@0.8:205802 384x64@0.5:205000 64x384@0.5:205001; do
  mk=${spec%%@*}; rest=${spec#*@}; sp=${rest%%:*}; seed=${rest#*:}
  $S gen --m ${mk%x*} --k ${mk#*x} --sparsity $sp --seed $seed -o /tmp/ab-$mk.smtx > /dev/null
  for v in plain slab plain2; do
    extra=--no-d-slab; [ $v = slab ] && extra=
    $S tune-local /tmp/ab-$mk.smtx --n 784 --max-configs 16 --proxy-top 2 --max-code-fmas 30000 $extra --no-store --json -q > $OUT/ab/$mk-$v.json 2>/dev/null
    python3 - $OUT/ab/$mk-$v.json $mk $v <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))
full=[(round(c['us'],2),c['config']) for c in d['candidates'] if not c['proxy'] and c['status']=='ok']
u=sorted(x for x in full if x[1].startswith('U')); dd=sorted(x for x in full if x[1].startswith('D'))
print(sys.argv[2], sys.argv[3], 'best', d['best']['config'], round(d['best']['us'],2), 'U full', u[:3], 'D best', dd[:2], 'sgemm', round(d['baselines']['sgemm_us'],1))
PY
  done
done
