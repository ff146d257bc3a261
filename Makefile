# graphrec: `make demo` sets up and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL ?= data/model
# Photos whose subjects classical lyrics sing of (the other samples are there to try too).
DEMO_PHOTOS := data/samples/flower.jpg data/samples/storm.jpg data/samples/dune.jpg data/samples/coffee.jpg
# The default model is rebuilt when the shipped data, the reviewed tables or the code that builds it change.
DEFAULT_DATA := $(wildcard data/songs/*.xz data/images/emoji/manifest.*) $(shell find data/images/photos -type f 2>/dev/null)
BUILD_CODE := $(shell find graphrec -name '*.py' -o -name '*.csv' -o -name '*.tsv' -o -name '*.txt' 2>/dev/null)

.PHONY: demo test typecheck bench install model clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(MODEL)/manifest.json: $(STAMP) $(DEFAULT_DATA) $(BUILD_CODE)
	$(PY) -m graphrec.cli build --out $(MODEL)

model: $(MODEL)/manifest.json

demo: $(MODEL)/manifest.json
	$(PY) -m graphrec.cli info $(MODEL)
	$(PY) -m graphrec.cli recommend --model $(MODEL) $(DEMO_PHOTOS)

test: $(STAMP)
	$(PY) -m pytest -q

# Static types of the package (configuration in pyproject.toml); CI runs it beside the tests.
typecheck: $(STAMP)
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) benchmarks/line_speed.py --generate benchmarks/results/paper_graph.txt
	$(PY) benchmarks/line_speed.py --edges benchmarks/results/paper_graph.txt --order 1 --threads 2 --samples 20000000 --out benchmarks/results/line_o1.emb
	$(PY) benchmarks/line_speed.py --edges benchmarks/results/paper_graph.txt --order 2 --threads 2 --samples 20000000 --out benchmarks/results/line_o2.emb
	$(PY) benchmarks/featurize.py

clean:
	rm -rf $(VENV) $(MODEL) .pytest_cache
