#!/usr/bin/env bash
# As root: add a student or an instructor, with the password read from stdin.
#   echo 'a-good-password' | deploy/jupyterhub/add_user.sh alice student
#   echo 'another-one'     | deploy/jupyterhub/add_user.sh prof instructor
# A home only its owner may enter (no student reads another's work). An instructor also gets
# their part of the grading cgroup (ARENA_HUB_GRADING_CGROUP), owned by them.
set -euo pipefail
name=${1:?usage: add_user.sh NAME student|instructor}
role=${2:?usage: add_user.sh NAME student|instructor}
case "$role" in
    student) group=${ARENA_HUB_STUDENTS:-arena-students} ;;
    instructor) group=${ARENA_HUB_INSTRUCTORS:-arena-instructors} ;;
    *) echo "the role is student or instructor, not '$role'" >&2; exit 2 ;;
esac
id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups "$group" "$name"
usermod --append --groups "$group" "$name"
chmod 0700 "$(getent passwd "$name" | cut -d: -f6)"
read -r password
echo "$name:$password" | chpasswd
GRADING_CGROUP=${ARENA_HUB_GRADING_CGROUP:-}
if [ "$role" = instructor ] && [ -n "$GRADING_CGROUP" ]; then
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        folders=("/sys/fs/cgroup/$GRADING_CGROUP/$name")
    else
        folders=("/sys/fs/cgroup/memory/$GRADING_CGROUP/$name" "/sys/fs/cgroup/pids/$GRADING_CGROUP/$name")
    fi
    for folder in "${folders[@]}"; do
        mkdir -p "$folder/server"
        [ -f /sys/fs/cgroup/cgroup.controllers ] && echo "+memory +pids" > "$folder/cgroup.subtree_control"
        chown -R "$name" "$folder"
    done
fi
echo "added $name ($role)"
