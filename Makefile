# The two commands of the README:
#   make demo   set up (if needed) and run the main job: a disordered two-band solve + figure
#   make test   set up (if needed) and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast bench clean

setup: $(VENV)/.largebdg-setup

$(VENV)/.largebdg-setup: scripts/setup.sh pyproject.toml
	bash scripts/setup.sh $(VENV)
	touch $@

demo: setup
	mkdir -p results
	$(VENV)/bin/largebdg solve examples/demo.toml --out results/demo.h5 --force
	$(VENV)/bin/largebdg plot results/demo.h5 --out results/demo.png --force

# the layer contract of pyproject.toml, then the suite on both cores
test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2

test-fast: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2 -m "not slow and not mpi"

bench: setup
	$(PY) benchmarks/bench_engines.py

clean:
	rm -rf results .pytest_cache
