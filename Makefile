# LineGuard. `make` alone prints this help.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
EXTRAS  ?= dev,train

.DEFAULT_GOAL := help
.PHONY: help venv run test bench model data prompts demo-audio clean

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml edge/scripts/system-deps.sh
	edge/scripts/system-deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install LineGuard (+ Debian packages if missing)

run: $(STAMP)  ## run the gateway (simulated line with the demo call unless the config names hardware)
	$(BIN)/lineguard run $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP)  ## speed and memory figures
	$(BIN)/python -m pytest -q tests/bench --benchmark-only 2>/dev/null || true

prompts: $(STAMP)  ## regenerate the bundled warning prompts (espeak-ng)
	$(BIN)/python edge/scripts/make_prompts.py

demo-audio: $(STAMP)  ## regenerate the bundled demo call
	$(BIN)/python edge/scripts/make_demo_call.py

clean:  ## remove the venv and generated data
	rm -rf $(VENV) .pytest_cache
