#!/usr/bin/env bash
# The GPU box as a network-namespace test host: a namespace, a veth pair, a private /24 that the rig assigns
# to both ends (host .1, box .2). "down" takes the box's link down, so new connections hang and open ones
# stall exactly as they do to a powered-off machine; "on" brings it back. Tests send traffic only to the
# addresses printed by "up"/"addr" and to loopback.
#
# Usage: gpubox-rig.sh [-n NAME] VERB [ARGS...]     (NAME may also come from GPUBOX_NAME)
#   up            create namespace and link; prints "netns=... host=10.203.X.1 box=10.203.X.2"
#   addr          prints the same line for a rig that exists
#   down          box asleep: its link goes down
#   on            box awake: its link comes back up
#   exec CMD...   runs CMD inside the box's network namespace (nsenter: mounts and cgroups stay the host's,
#                 which a Docker engine needs; `ip netns exec` remounts /sys and hides the cgroup tree)
#   docker        starts the box's own Docker engine inside the namespace (containers with --network host
#                 live on the box); prints "docker_host=unix:///run/gpubox-rig/NAME/docker.sock"
#   state         prints up, down or absent
#   destroy       removes the box's containers, stops its engine, kills what runs in the namespace, deletes
#                 namespace, veth and state; safe to call twice
#   reap          destroys rigs whose owner process (GPUBOX_OWNER_PID at "up", default the caller) is gone
# Needs root and iproute2 (scripts/setup-test-host.sh).
set -euo pipefail

die() { echo "gpubox-rig: $*" >&2; exit 2; }

name=${GPUBOX_NAME:-}
if [[ ${1:-} == -n ]]; then
  (($# >= 2)) || die "-n needs a NAME"
  name=$2
  shift 2
fi
verb=${1:-}
[[ -n $verb ]] || die "usage: gpubox-rig.sh [-n NAME] up|addr|down|on|exec CMD...|docker|state|destroy|reap"
shift

state_dir=/run/gpubox-rig
prefix=10.203

need_name() {
  [[ -n $name ]] || die "no rig name: pass -n NAME or set GPUBOX_NAME"
  [[ $name =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "bad rig name '$name': use 1-40 of a-z, 0-9, '-'"
  ns=gpubox-$name
  # Interface names are limited to 15 bytes: a hash of the name keeps them unique and short.
  local hash
  hash=$(printf %s "$name" | cksum | cut -d' ' -f1)
  tag=$(printf %08x "$hash")
  host_if=gbh$tag
  box_if=gbb$tag
  seed=$((hash % 250 + 2))
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

# The box's Docker engine keeps its socket, data and exec roots here (short: unix socket paths max 108 bytes).
engine_dir() { echo "$state_dir/$name"; }
# Every engine call is bounded: a wedged engine must not hang a teardown.
engine_cli() { timeout 30 docker -H "unix://$(engine_dir)/docker.sock" "$@"; }

wait_gone() { # PIDS...: up to 5 s
  for _ in $(seq 50); do
    local alive=0
    for p in "$@"; do [[ -d /proc/$p ]] && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

stop_engine() {
  local dir
  dir=$(engine_dir)
  [[ -d $dir ]] || return 0
  if [[ -S $dir/docker.sock ]] && engine_cli info >/dev/null 2>&1; then
    local ids
    ids=$(engine_cli ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || engine_cli rm -f $ids >/dev/null 2>&1 || true
  fi
  if [[ -f $dir/docker.pid ]]; then
    local pid
    pid=$(cat "$dir/docker.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && [[ -d /proc/$pid ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # The engine bind-mounts its namespace file and container roots under its folders; a killed engine leaves them.
  { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  rm -rf "$dir"
}

# The third octet in use by this rig, read back from the host's end of the link.
octet() {
  ip -4 -o addr show dev "$host_if" 2>/dev/null | sed -n "s|.* inet $prefix\.\([0-9]*\)\.1/24.*|\1|p" | head -n1
}

print_addr() {
  local x
  x=$(octet)
  [[ -n $x ]] || die "rig '$name' has no address (not up?)"
  echo "netns=$ns host=$prefix.$x.1 box=$prefix.$x.2 host_if=$host_if box_if=$box_if"
}

destroy() {
  stop_engine
  if ns_exists "$ns"; then
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      # shellcheck disable=SC2086
      wait_gone $pids || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
  fi
  # Deleting the namespace deletes the box's end and with it the pair; this covers a half-made rig.
  ip link del "$host_if" 2>/dev/null || true
  rm -f "$state_dir/$name.owner"
}

case $verb in
  up)
    need_name
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
    command -v ip >/dev/null || die "iproute2 is not installed; run scripts/setup-test-host.sh"
    mkdir -p "$state_dir"
    ns_exists "$ns" && die "rig '$name' already exists; destroy it first"
    # Two rigs coming up at once must not pick the same subnet.
    exec 9>"$state_dir/.lock"
    flock -w 10 9 || die "could not lock $state_dir/.lock"
    x=
    for i in $(seq 0 249); do
      candidate=$(((seed - 2 + i) % 250 + 2))
      if ! ip -4 -o addr show | grep -q " inet $prefix\.$candidate\." \
        && [[ -z $(ip -4 route show "$prefix.$candidate.0/24" 2>/dev/null) ]]; then
        x=$candidate
        break
      fi
    done
    [[ -n $x ]] || die "no free $prefix.X.0/24 subnet left"
    echo "${GPUBOX_OWNER_PID:-$PPID}" >"$state_dir/$name.owner"
    trap 'destroy' ERR
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "$host_if" type veth peer name "$box_if"
    ip link set "$box_if" netns "$ns"
    ip addr add "$prefix.$x.1/24" dev "$host_if"
    ip -n "$ns" addr add "$prefix.$x.2/24" dev "$box_if"
    ip link set "$host_if" up
    ip -n "$ns" link set "$box_if" up
    trap - ERR
    print_addr
    ;;
  addr)
    need_name
    ns_exists "$ns" || die "rig '$name' does not exist"
    print_addr
    ;;
  down | on)
    need_name
    ns_exists "$ns" || die "rig '$name' does not exist"
    ip -n "$ns" link set "$box_if" "$([[ $verb == on ]] && echo up || echo down)"
    ;;
  state)
    need_name
    if ! ns_exists "$ns"; then
      echo absent
    elif ip -n "$ns" -o link show "$box_if" | grep -q '[<,]UP[,>]'; then
      echo up
    else
      echo down
    fi
    ;;
  exec)
    need_name
    ns_exists "$ns" || die "rig '$name' does not exist"
    (($# > 0)) || die "exec needs a command"
    exec nsenter --net="/run/netns/$ns" -- "$@"
    ;;
  docker)
    need_name
    ns_exists "$ns" || die "rig '$name' does not exist"
    command -v dockerd >/dev/null || die "dockerd is not installed; run scripts/setup-test-host.sh"
    dir=$(engine_dir)
    [[ ! -S $dir/docker.sock ]] || die "rig '$name' already has a Docker engine"
    mkdir -p "$dir"
    nsenter --net="/run/netns/$ns" -- setsid -f sh -c "exec dockerd --iptables=false --bridge=none \
      -H 'unix://$dir/docker.sock' --data-root '$dir/data' --exec-root '$dir/exec' --pidfile '$dir/docker.pid' \
      >>'$dir/dockerd.log' 2>&1"
    for _ in $(seq 300); do
      engine_cli info >/dev/null 2>&1 && break
      sleep 0.1
    done
    engine_cli info >/dev/null 2>&1 || die "the box's dockerd did not answer within 30 s; log: $dir/dockerd.log"
    echo "docker_host=unix://$dir/docker.sock"
    ;;
  destroy)
    need_name
    destroy
    ;;
  reap)
    [[ -d $state_dir ]] || exit 0
    for owner in "$state_dir"/*.owner; do
      [[ -e $owner ]] || continue
      pid=$(cat "$owner")
      if [[ ! $pid =~ ^[0-9]+$ ]] || [[ ! -d /proc/$pid ]]; then
        name=$(basename "$owner" .owner)
        need_name
        echo "gpubox-rig: reaping rig '$name' (owner $pid is gone)"
        destroy
      fi
    done
    ;;
  *)
    die "unknown verb '$verb'; known: up addr down on exec docker state destroy reap"
    ;;
esac
