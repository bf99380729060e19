# Voicelane: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := .voicelane/.apt-installed
APT_PACKAGES := sip-tester espeak-ng sox chromium baresip
DEV_PORT ?= 8000

.PHONY: demo demo-voicemail test dev synth bench lint typecheck setup apt openapi clean

$(STAMP): layers/voicelane/pyproject.toml media-fargate/pyproject.toml layers/local/pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e layers/voicelane -e media-fargate -e layers/local -r requirements-dev.txt
	# silero-vad's metadata requires torch, which we never load: its ONNX model runs on onnxruntime.
	$(BIN)/pip install -q --no-deps silero-vad
	# pyrnnoise's metadata requires audiolab and matplotlib; the node only loads its librnnoise.so.
	$(BIN)/pip install -q --no-deps pyrnnoise==0.4.5
	touch $(STAMP)

$(APT_STAMP):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "note: not root or no apt-get; install $(APT_PACKAGES) yourself"; fi
	mkdir -p .voicelane && touch $(APT_STAMP)

apt: $(APT_STAMP)
setup: $(STAMP) $(APT_STAMP)

## The main job: a real call through the local platform.
demo: setup
	$(BIN)/voicelane demo

demo-voicemail: setup  # a voicemail drop: detection, the beep, the agent's message
	$(BIN)/voicelane demo voicemail

## Every test: lint, types, unit, integration, interop, infra (with synth).
# The webhook no-loss acceptance test (1,000 lifecycles, ~100 s of mostly waiting on retries)
# runs in a pytest process of its own beside types, synth and the other tests: the second core
# is otherwise idle for most of the run. Its output is printed when it ends; either failing
# fails `make test`.
NO_LOSS := tests/voicelane/webhooks/test_no_loss.py
test: setup
	$(BIN)/ruff check .
	@mkdir -p .voicelane; \
	$(BIN)/pytest -q -p no:cacheprovider $(NO_LOSS) > .voicelane/no-loss.log 2>&1 & nl=$$!; \
	trap 'kill $$nl 2>/dev/null' EXIT; \
	$(BIN)/mypy && $(BIN)/python infra/build_layer.py && $(BIN)/python infra/app.py \
	  && $(BIN)/pytest -q -p no:cacheprovider --ignore=$(NO_LOSS); rest=$$?; \
	wait $$nl; lost=$$?; trap - EXIT; \
	echo "--- $(NO_LOSS) (its own process):"; cat .voicelane/no-loss.log; \
	test $$rest -eq 0 && test $$lost -eq 0

## The local platform until Ctrl-C (`make dev DEV_PORT=0`: the API on any free port).
dev: setup
	$(BIN)/voicelane dev --port $(DEV_PORT)

synth: setup
	$(BIN)/python infra/build_layer.py
	$(BIN)/python infra/app.py

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) cdk.out build .voicelane demo-output
