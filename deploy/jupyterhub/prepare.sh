#!/usr/bin/env bash
# As root, once per machine (and after a reboot, for the grading cgroup): the groups, folders and
# proxy that jupyterhub_config.py expects. Safe to run again. The same variables as the config.
set -euo pipefail
STUDENTS=${ARENA_HUB_STUDENTS:-arena-students}
INSTRUCTORS=${ARENA_HUB_INSTRUCTORS:-arena-instructors}
EXCHANGE=${ARENA_HUB_EXCHANGE:-/srv/nbgrader/exchange}
STATE=${ARENA_HUB_STATE:-/srv/jupyterhub}
GRADING_CGROUP=${ARENA_HUB_GRADING_CGROUP:-}

getent group "$STUDENTS" >/dev/null || groupadd "$STUDENTS"
getent group "$INSTRUCTORS" >/dev/null || groupadd "$INSTRUCTORS"
# nbgrader's exchange: every user writes into it; nbgrader gives each course's folders their own
# rights (students may put into inbound/, but not list or read it).
mkdir -p "$EXCHANGE" && chmod 0777 "$EXCHANGE"
mkdir -p "$STATE" && chmod 0700 "$STATE"
# The grading sandbox limits each kernel in a cgroup: one delegated to the instructors.
if [ -n "$GRADING_CGROUP" ]; then
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        mkdir -p "/sys/fs/cgroup/$GRADING_CGROUP"
        echo "+memory +pids" > "/sys/fs/cgroup/$GRADING_CGROUP/cgroup.subtree_control"
    else
        mkdir -p "/sys/fs/cgroup/memory/$GRADING_CGROUP" "/sys/fs/cgroup/pids/$GRADING_CGROUP"
    fi
fi
command -v "${ARENA_HUB_PROXY:-configurable-http-proxy}" >/dev/null || {
    echo "configurable-http-proxy is missing: npm install -g configurable-http-proxy (or set ARENA_HUB_PROXY)" >&2
    exit 1
}
echo "ready: groups $STUDENTS and $INSTRUCTORS, exchange $EXCHANGE, hub state $STATE${GRADING_CGROUP:+, grading cgroup $GRADING_CGROUP}"
