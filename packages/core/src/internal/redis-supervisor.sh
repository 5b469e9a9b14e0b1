#!/bin/sh
# Runs redis-server as a child and ties its life to the Node process that started us.
#
# Usage: redis-supervisor.sh GRACE_TICKS redis-server [args...]
#   GRACE_TICKS: tenths of a second between SIGTERM and SIGKILL when stopping Redis; a whole
#   number (`[ -gt ]` compares integers only).
# Prints Redis's pid on the first line of stdout.
#
# Why a supervisor: Linux gives a child no notice when its parent dies by SIGKILL, so a
# redis-server started directly would be orphaned. Our parent holds our stdin open through a
# pipe; the kernel closes that pipe when the parent exits for any reason, which ends `cat`,
# and we stop Redis. A clean stop is the same path: the parent just closes the pipe.
grace_ticks=$1
shift

"$@" &
child=$!
echo "$child"

stop() {
  trap - TERM INT HUP
  kill -TERM "$child" 2>/dev/null
  ticks=0
  while kill -0 "$child" 2>/dev/null; do
    ticks=$((ticks + 1))
    if [ "$ticks" -gt "$grace_ticks" ]; then
      kill -KILL "$child" 2>/dev/null
    fi
    sleep 0.1
  done
  exit 0
}
trap stop TERM INT HUP

# An asynchronous command's stdin would be /dev/null; the explicit redirect keeps our pipe.
exec 3<&0
cat <&3 >/dev/null &
watcher=$!
exec 3<&-

# Leave when the parent's pipe closes or when Redis exits on its own.
while kill -0 "$child" 2>/dev/null && kill -0 "$watcher" 2>/dev/null; do
  sleep 0.1
done
kill "$watcher" 2>/dev/null
stop
