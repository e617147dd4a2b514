# Two commands for a fresh machine (see README.md):
#   make lab    set up .venv on first use and open the course in JupyterLab
#   make test   set up .venv on first use and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra pip arguments for torch, e.g. a CPU-only index on machines where a plain
# `pip install torch` pulls the multi-GB CUDA build (see README.md).
TORCH_PIP_ARGS ?=
TORCH_VERSION := 2.13.0
PIP_VERSION := 26.3
UV_VERSION := 0.13.8
# Every other package comes at the version in the lock (make lock, docs/development.md "Locked versions").
LOCK := requirements/test.lock.txt
# The TensorFlow appendix's packages, in a folder of their own that only that notebook
# puts on its path (scripts/lock.py says why they stay out of the environment).
TF_LOCK := requirements/tf.lock.txt
TF_SITE := $(VENV)/tf-site
PYTEST_ARGS ?=

.PHONY: setup lab test test-latest lock bench clean notebooks grade chromium sandbox hub-tools

setup: $(VENV)/.installed sandbox

# torch first (the CPU build, see TORCH_PIP_ARGS), then the lock, which is complete:
# pip installs exactly what it lists and resolves nothing.
$(VENV)/.installed: pyproject.toml $(LOCK) $(TF_LOCK) Makefile
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] in [(3, 11), (3, 12)], "Python 3.11 or 3.12 is needed, this is " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --no-deps torch==$(TORCH_VERSION) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -rf $(TF_SITE)
	$(BIN)/python -m pip install --quiet --no-deps --target $(TF_SITE) -r $(TF_LOCK)
	$(BIN)/python -m arena_grading install-kernel
	touch $@

# The repository is the server root (nbgrader needs the course inside it); the
# first notebook opens. Containers often run as root, which Jupyter refuses unless told.
# A fixed hash seed makes a training run repeat with the same RLlib seed (see `start`).
lab: setup
	PYTHONHASHSEED=0 $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks/01_arena/01_rl_and_the_arena.ipynb \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup chromium hub-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "tests/test_browser.py needs Chromium at /usr/bin/chromium: sudo apt-get install chromium"; exit 1; \
		fi; }

# JupyterHub's proxy, from npm into the venv (deploy/jupyterhub/ and tests/test_hub.py use it), and
# axe-core, the accessibility checker the tests inject into pages in Chromium.
CHP_VERSION := 5.3.0
AXE_VERSION := 4.14.1
hub-tools: setup
	@command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else \
			echo "JupyterHub's proxy needs Node.js and npm: sudo apt-get install nodejs npm"; exit 1; \
		fi; }
	test -x $(VENV)/node/node_modules/.bin/configurable-http-proxy || \
		npm install --silent --no-fund --no-audit --prefix $(VENV)/node configurable-http-proxy@$(CHP_VERSION)
	test -f $(VENV)/node/node_modules/axe-core/axe.min.js || \
		npm install --silent --no-fund --no-audit --prefix $(VENV)/node axe-core@$(AXE_VERSION)

# Grading runs each student's kernel in bubblewrap (arena_grading/sandbox.py).
sandbox:
	@command -v bwrap >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
		else \
			echo "grading needs bubblewrap (bwrap): sudo apt-get install bubblewrap"; \
		fi; }

# The lock files from pyproject.toml's ranges, newest versions today (scripts/lock.py).
lock: setup
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/lock.py

# Before each term: the newest releases pyproject.toml allows, ignoring the lock, in
# .venv-latest; prints what moved and runs the quick tests and every notebook.
test-latest: chromium sandbox
	$(PYTHON) scripts/test_latest.py

# Every benchmark, each writing its section of docs/performance.md. startup sets start_ray()
# beside ray.init(); time_to_reward sets the course (and the course with two EnvRunners)
# beside the PyTorch reference and the TensorFlow appendix on all cores, and the
# course beside the reference in the Binder box; fast_and_light, last, measures the course's
# speed and memory goals (the course beside RLlib's default and the PyTorch reference, each
# notebook in the Binder box, start-up, grading in the sandbox).
bench: setup
	$(BIN)/python -m bench.env_steps
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.iteration_profile
	$(BIN)/python -m bench.iteration_profile --profile
	$(BIN)/python -m bench.notebook_series
	$(BIN)/python -m bench.scaling
	$(BIN)/python -m bench.module_comparison
	$(BIN)/python -m bench.time_to_reward --seeds 1 2 3 4 5 --configs course course:num_env_runners=2 pytorch-reference tensorflow-old-stack
	$(BIN)/python -m bench.time_to_reward --seeds 1 2 3 4 5 --configs course pytorch-reference --binder
	$(BIN)/python -m bench.grading
	$(BIN)/python -m bench.tournament
	$(BIN)/python -m bench.copy_similarity
	$(BIN)/python -m bench.fast_and_light

clean:
	rm -rf $(VENV) .venv-latest build *.egg-info .pytest_cache

# Grade one assignment for the class: make grade ASSIGNMENT=01_arena (docs/instructors.md);
# the same as python -m arena_grading grade ASSIGNMENT in the activated environment.
grade: setup
	$(BIN)/python -m arena_grading grade $(ASSIGNMENT)

# Regenerate the student notebooks (notebooks/) from the sources (solutions/).
notebooks: setup
	for dir in solutions/*/; do PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment "$$(basename $$dir)" --force || exit 1; done
