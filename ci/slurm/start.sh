#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the tests that submit sharded screens as job arrays:
# Debian 12's slurm-wlm (22.05) and munge, configured for one node named after `hostname -s` with the CPUs and
# memory `slurmd -C` reports. No systemd: the daemons are started directly. Idempotent: when the node is
# already up it only says so. Must run as root (daemons, /etc, /var/spool). Usage: sudo ci/slurm/start.sh
set -euo pipefail

up() { sinfo --noheader --format=%T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; }
if up && [ "$(id -u)" -ne 0 ]; then echo "slurm: node $(hostname -s) is up"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ci/slurm/start.sh: Slurm is not running and starting it needs root (munged, slurmctld, slurmd): run sudo $0" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "slurm: installing slurm-wlm and munge (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- munge: a key readable by munge only, then the daemon --------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
munge -n </dev/null | unmunge >/dev/null || { echo "slurm: munged does not answer (see /var/log/munge/munged.log)" >&2; exit 1; }

# --- slurm.conf ------------------------------------------------------------------------------------------
host="$(hostname -s)"
node="$(slurmd -C | head -n 1)"   # NodeName=<host> CPUs=… Boards=… SocketsPerBoard=… CoresPerSocket=… ThreadsPerCore=… RealMemory=…
install -d -m 0755 /etc/slurm /var/log/slurm
install -d -m 0700 /var/spool/slurmctld /var/spool/slurmd
conf="$(mktemp)"
cat > "$conf" <<CONF
# Written by ci/slurm/start.sh: one node, for tests.
ClusterName=organicscreen
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
# A merge job whose array failed is cancelled instead of waiting forever on afterok.
DependencyParameters=kill_invalid_depend
# Finished jobs stay visible to squeue for 10 minutes, so screen-status can name a failed task.
MinJobAge=600
ReturnToService=2
${node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
if cmp -s "$conf" /etc/slurm/slurm.conf; then
  rm -f "$conf"
  if up; then echo "slurm: node ${host} is up"; exit 0; fi
else
  install -m 0644 "$conf" /etc/slurm/slurm.conf
  rm -f "$conf"
  # A running cluster rereads the new configuration; a stopped one is started below.
  if up; then scontrol reconfigure; echo "slurm: node ${host} is up (configuration updated)"; exit 0; fi
fi

# --- daemons -----------------------------------------------------------------------------------------------
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
  up && break
  # A node that was down (e.g. an earlier unclean stop) is put back into service.
  if sinfo --noheader --format=%T 2>/dev/null | grep -qE '^(down|drain)'; then scontrol update nodename="$host" state=resume 2>/dev/null || true; fi
  sleep 1
done
if ! up; then
  echo "slurm: the node did not become idle in 60 s; sinfo says: $(sinfo --noheader 2>&1 | tr '\n' ' ')" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  exit 1
fi
echo "slurm: node ${host} is up ($(sinfo --noheader --format='%c CPUs, %m MB, state %T'))"
