# One command each, from a fresh clone: `make demo` (install + the main job), `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
CORPORA ?= ../shared/corpora

.PHONY: install demo test test-all lint bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned to the CPU build, so nothing below pulls a CUDA build
	$(BIN)/pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/pip install --quiet -e ".[dev,onnx,parquet,web,ranker,plot]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/govnlp match "建议加强对老旧小区物业服务企业的监管，解决小区停车难、乱收费问题"

test: install
	$(BIN)/python -m pytest -q

# the opt-in tiers: real corpora, the real default model, the notebook
test-all: install
	$(BIN)/python -m pytest -q -m "slow or corpus or model or notebook" --rootdir=. tests --corpora=$(CORPORA)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
