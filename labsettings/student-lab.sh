#!/usr/bin/env bash
# A student's JupyterLab, in the Python environment given (Binder's postBuild and the student
# release's `make lab` run it): the course, not the instructor's nbgrader tools (Validate stays;
# the Assignments tab needs a hub, whose own configuration shows it; without it, the Nbgrader
# menu would be an empty menu, so it goes too), no news pop-up over the first notebook, and a
# notebook's kernel (and its Ray) shut down when its tab is closed, as Binder's 2 GB needs.
set -euo pipefail
prefix="$("${1:-python}" -c 'import sys; print(sys.prefix)')"
bin="$(dirname "$("${1:-python}" -c 'import sys; print(sys.executable)')")"
mkdir -p "$prefix/share/jupyter/lab/settings"
cp "$(dirname "$0")/overrides.json" "$prefix/share/jupyter/lab/settings/overrides.json"
for plugin in menu formgrader create-assignment course-list assignment-list; do
    "$bin/jupyter" labextension disable --level=sys_prefix "@jupyter/nbgrader:$plugin" >/dev/null
done
for extension in formgrader course_list assignment_list; do
    "$bin/jupyter" server extension disable --sys-prefix "nbgrader.server_extensions.$extension" >/dev/null
done
