#!/bin/sh
# Slurm for real, on this machine: munged, slurmctld and slurmd of Debian's
# Slurm 22.05 with their own configuration in a scratch directory; a
# coordinator with CurveZMQ certificates kept in a directory standing for
# the shared file system; conf/slurm/worker.sbatch submitted as a job array
# of 2 tasks x 2 sim workers, exactly as docs/CLUSTER.md says. Checks that
# the workers join, that a campaign runs to the end and exports, that
# `scancel` of one array task mid-campaign requeues its workers' jobs (BYE)
# and the others finish them, and that cancelling the array leaves no job
# and a verifiable store. Skipped (exit 77) with the reason when Slurm is
# not installed or its daemons cannot start here.
. "$(dirname "$0")/testlib.sh"

skip () {
    echo "SKIP: $*"
    exit 77
}

for b in munged munge slurmctld slurmd sbatch squeue scancel sinfo; do
    command -v "$b" >/dev/null 2>&1 \
        || skip "$b is not installed (Debian: apt-get install slurmctld slurmd slurm-client munge; ./quickstart does)"
done

S="$WORK/slurm"                 # Slurm's own files
SHARED="$WORK/shared"           # what a cluster shares: certificates, program, outputs
mkdir -p "$S/state" "$S/spool" "$S/munge" "$SHARED" && chmod 700 "$S/munge"
# four ports: slurmctld, slurmd, workers, clients; below Linux's ephemeral
# range (32768 up), where another test's connection can hold one
P=$((20000 + ($$ % 3000) * 4))
WEP="tcp://127.0.0.1:$((P + 2))"
CEP="tcp://127.0.0.1:$((P + 3))"
ME=$(id -un)
PIDS=""
cleanup () {
    [ -n "${JOB:-}" ] && SLURM_CONF="$S/slurm.conf" scancel "$JOB" >/dev/null 2>&1
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# munge: a key of our own and a socket in the scratch directory.
dd if=/dev/urandom of="$S/munge/munge.key" bs=128 count=1 2>/dev/null && chmod 400 "$S/munge/munge.key"
munged -F -f -S "$S/munge/sock" --key-file="$S/munge/munge.key" --log-file="$S/munge/log" \
    --pid-file="$S/munge/pid" --seed-file="$S/munge/seed" 2>"$S/munge/err" &
PIDS="$PIDS $!"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S "$S/munge/sock" ] && break; sleep 0.5; done
munge -S "$S/munge/sock" -n 2>/dev/null | unmunge -S "$S/munge/sock" >/dev/null 2>&1 \
    || skip "munged does not start here: $(tail -2 "$S/munge/err" "$S/munge/log" 2>/dev/null | tr '\n' ' ')"

cat > "$S/slurm.conf" <<EOF
ClusterName=spmmfarmtest
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$P
SlurmdPort=$((P + 1))
SlurmUser=$ME
SlurmdUser=$ME
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=10
NodeName=node1 NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=8 RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
SLURM_CONF="$S/slurm.conf"; export SLURM_CONF
slurmctld -D -f "$SLURM_CONF" >"$S/slurmctld.out" 2>&1 &
PIDS="$PIDS $!"
slurmd -D -N node1 -f "$SLURM_CONF" >"$S/slurmd.out" 2>&1 &
PIDS="$PIDS $!"
up=0
for i in $(seq 1 60); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && { up=1; break; }
    sleep 0.5
done
[ "$up" = 1 ] || skip "slurmctld/slurmd do not come up here (as $ME): $(tail -3 "$S/slurmctld.log" "$S/slurmd.log" \
    "$S/slurmctld.out" "$S/slurmd.out" 2>/dev/null | grep -v '^$' | tail -4 | tr '\n' ' ')"
pass "slurmctld and slurmd up: node1 idle"
# Can slurmd start a job step here (as this user)? If not, that is the
# environment (e.g. slurmd without the rights it needs), not our script.
timeout 60 srun -N1 -n1 -t1 true >"$S/srun.out" 2>&1 \
    || skip "slurmd cannot run a job step here (as $ME): $(tail -2 "$S/srun.out" "$S/slurmd.log" 2>/dev/null \
        | grep -v '^$' | tail -3 | tr '\n' ' ')"
pass "a trivial job step runs (srun true)"

# The recipe of docs/CLUSTER.md: certificates on the shared file system,
# the workers' and the client's public halves in the coordinator's
# allow-list.
C="$SHARED/certs"
for name in coordinator worker client; do
    "$SPMMFARM" keygen "$C" --name "$name" >/dev/null || fail "keygen $name"
done
mkdir -m 700 -p "$SHARED/allowed/workers" "$SHARED/allowed/clients" && cp "$C/worker.cert" "$SHARED/allowed/workers/" \
    && cp "$C/client.cert" "$SHARED/allowed/clients/"
"$SPMMFARM" coordinator --store "$WORK/store" --workers "$WEP" --clients "$CEP" \
    --cert "$C/coordinator.cert" --allowed "$SHARED/allowed" --export-dir "$WORK" --log info 2>"$WORK/coord.log" &
COORD=$!
PIDS="$PIDS $COORD"
# A coordinator that could not start (a port taken) fails the script now,
# not after every status call below has waited out its timeout.
sleep 1
kill -0 "$COORD" 2>/dev/null || { fail "the coordinator runs: $(tail -1 "$WORK/coord.log")"; finish; }
CL="--coordinator $CEP --cert $C/client.cert --server-cert $C/coordinator.cert"

# The job array: 2 tasks x 2 workers. The template's #SBATCH lines are for
# 4-GPU nodes; the flags adapt them to this CPU-only node, as a user adapts
# them to a cluster.
expect_exit 0 "sbatch the worker array" sbatch --parsable --array=0-1 --gres=none --ntasks-per-node=2 \
    --cpus-per-task=1 --time=10 --output="$SHARED/worker-%A_%a.out" \
    --export=ALL,SPMMFARM="$SPMMFARM",SPMMFARM_CONNECT="$WEP",SPMMFARM_CERT="$C/worker.cert",SPMMFARM_SERVER_CERT="$C/coordinator.cert",SPMMFARM_BACKEND=sim,SPMMFARM_COMPILE_THREADS=1,GPUS_PER_NODE=2 \
    "$TOP_SRCDIR/conf/slurm/worker.sbatch"
JOB=$(cut -d';' -f1 "$WORK/out")

# workers_in STATE: how many of the coordinator's workers are in STATE
workers_in () {
    "$SPMMFARM" status $CL --json 2>/dev/null >"$WORK/st.json" || { echo 0; return; }
    json_get "$WORK/st.json" 'len([w for w in d["workers"] if w["state"] in "'"$1"'".split()])'
}
joined=0
for i in $(seq 1 120); do
    [ "$(workers_in "idle busy")" = 4 ] && { joined=1; break; }
    sleep 0.5
done
[ "$joined" = 1 ] && pass "4 sim workers of 2 array tasks joined the coordinator (CurveZMQ)" \
    || { fail "workers joined: $(workers_in "idle busy") of 4"; squeue; tail -3 "$SHARED"/worker-*.out; }
[ "$(squeue -h -j "$JOB" -t RUNNING | wc -l)" = 2 ] && pass "squeue: both array tasks running" || fail "squeue: both array tasks running"

# 1. A campaign runs to the end.
"$SPMMFARM" gen --m 64 --k 64 --sparsity 0.9 --seed 1 -o "$WORK/a.mtx" >/dev/null
"$SPMMFARM" gen --m 96 --k 64 --sparsity 0.9 --seed 2 -o "$WORK/b.mtx" >/dev/null
expect_exit 0 "submit a campaign" "$SPMMFARM" submit "$WORK/a.mtx" "$WORK/b.mtx" --n 64 --max-configs 2 --name small --json $CL
id1=$(json_get "$WORK/out" 'd["campaign"]')
expect_exit 0 "status --watch until it is done" timeout 180 "$SPMMFARM" status "$id1" --watch --interval 300 $CL
expect_exit 0 "status --json" "$SPMMFARM" status "$id1" --json $CL
[ "$(json_get "$WORK/out" '[(c["state"], c["jobs_done"], c["complete"]) for c in d["campaigns"]]')" = "[('done', 2, True)]" ] \
    && pass "campaign 1: done, 2 of 2 jobs" || fail "campaign 1: $(cat "$WORK/out" | tr -d '\n\t ')"
expect_exit 0 "export its bundle through the coordinator" "$SPMMFARM" export "$id1" -o "$WORK/small.bundle" --allow-simulated $CL
expect_exit 0 "the bundle" "$SPMMFARM" bundle inspect "$WORK/small.bundle" --json
[ "$(json_get "$WORK/out" 'len(d["layers"])')" = 2 ] && pass "the bundle has both layers" || fail "the bundle has both layers"

# 2. scancel of one array task mid-campaign (one whose worker holds a job):
# its workers say BYE, their jobs are requeued, the other task's workers
# finish the campaign.
for i in 1 2 3 4; do
    "$SPMMFARM" gen --m 192 --k 192 --sparsity 0.95 --seed "$((10 + i))" -o "$WORK/l$i.mtx" >/dev/null
done
# workers_of TASK: the ids of an array task's workers, from its output
workers_of () {
    sed -n 's/^spmmfarm worker: \([^:]*:gpu[0-9]*:[0-9]*\): .*connecting.*/\1/p' "$SHARED/worker-${JOB}_$1.out" \
        | sort -u | tr '\n' ' '
}
t0=$(workers_of 0); t1=$(workers_of 1)
[ -n "$t0" ] && [ -n "$t1" ] && pass "each array task's workers: $t0/ $t1" || fail "array tasks' workers named in their output"
expect_exit 0 "submit a campaign of 4 layers" "$SPMMFARM" submit "$WORK"/l?.mtx --n 64 --max-configs 2 --name big --json $CL
id2=$(json_get "$WORK/out" 'd["campaign"]')
# the task to cancel: one whose worker holds a job (the first workers to
# ask may take every job: capacity 2 each)
task=""
for i in $(seq 1 150); do
    "$SPMMFARM" status $CL --json >"$WORK/st.json" 2>/dev/null
    busy=$(json_get "$WORK/st.json" '" ".join(w["id"] for w in d["workers"] if w["state"] == "busy")' 2>/dev/null)
    for w in $busy; do
        case " $t0 " in *" $w "*) task=0 ;; esac
        case " $t1 " in *" $w "*) task=1 ;; esac
    done
    [ -n "$task" ] && break
    sleep 0.2
done
[ -n "$task" ] && pass "a worker of array task $task holds a job" || fail "a worker holds a job"
task=${task:-0}
if [ "$task" = 0 ]; then victims=$t0; else victims=$t1; fi
expect_exit 0 "scancel array task $task" scancel "${JOB}_$task"
gone=0
for i in $(seq 1 60); do
    squeue -h -j "${JOB}_$task" 2>/dev/null | grep -q . || { gone=1; break; }
    sleep 0.5
done
[ "$gone" = 1 ] && pass "task $task left the queue" || fail "task $task left the queue"
expect_exit 0 "status --watch until the campaign is done" timeout 300 "$SPMMFARM" status "$id2" --watch --interval 500 $CL
expect_exit 0 "status --json" "$SPMMFARM" status $CL --json
[ "$(json_get "$WORK/out" '[(c["state"], c["jobs_done"], c["jobs_failed"]) for c in d["campaigns"] if c["id"] == '"$id2"']')" \
    = "[('done', 4, 0)]" ] && pass "campaign 2: all 4 jobs done, none failed" || fail "campaign 2 finished"
states=$(json_get "$WORK/out" 'sorted(set(w["state"] for w in d["workers"] if w["id"] in "'"$victims"'".split()))')
[ "$states" = "['lost']" ] && pass "task $task's workers are gone" \
    || { fail "task $task's workers are gone: $states"; json_get "$WORK/out" 'd["workers"]'; }
requeued=0
for w in $victims; do
    grep -Eq "worker $w left \\(BYE\\); [1-9][0-9]* lease\\(s\\) requeued" "$WORK/coord.log" && requeued=1
done
[ "$requeued" = 1 ] && pass "their leases were requeued when they said BYE" || { fail "leases requeued"; grep BYE "$WORK/coord.log"; }
grep -q "job $id2/[0-9]* requeued: worker .* left (BYE)" "$WORK/coord.log" && pass "... job by job" || fail "... job by job"

# 3. Cancel the array: nothing left in the queue, every worker gone.
expect_exit 0 "scancel the array" scancel "$JOB"
left=1
for i in $(seq 1 60); do
    [ "$(squeue -h -j "$JOB" 2>/dev/null | wc -l)" = 0 ] && [ "$(workers_in "idle busy")" = 0 ] && { left=0; break; }
    sleep 0.5
done
[ "$left" = 0 ] && pass "the array is gone: no job queued, no worker connected" || fail "the array is gone"
grep -q "left (BYE)" "$WORK/coord.log" && pass "the workers said BYE on SIGTERM" || fail "the workers said BYE"
kill "$COORD"; wait "$COORD" 2>/dev/null
expect_exit 0 "the store verifies" "$SPMMFARM" store verify "$WORK/store"
expect_exit 0 "store stat" "$SPMMFARM" store stat "$WORK/store" --json
[ "$(json_get "$WORK/out" 'd["databases"]["campaigns"]["entries"]')" = 2 ] && pass "two campaigns in the store" \
    || fail "two campaigns in the store: $(tr -d '\n\t ' < "$WORK/out" | head -c 300)"
JOB=""
finish
