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
# The main pytest process (real-time calls: sipp, baresip, browsers, the phone path) waits on
# audio clocks most of the time and leaves the second core idle, so the work that needs CPU,
# not a quiet clock, runs beside it in processes of their own, niced so the calls keep first
# claim on the cores: types, the layer build, synth and the CDK tests (one chain: the tests
# share build/layer with the synth), and the API fuzz run. The webhook no-loss acceptance test
# (1,000 lifecycles, ~100 s of mostly waiting on retries, with a deadline) runs beside them
# un-niced. Each side process's output is printed when the main one ends; any failing fails
# `make test`.
NO_LOSS := tests/voicelane/webhooks/test_no_loss.py
FUZZ := tests/voicelane/api/test_api_fuzz.py
INFRA := tests/infra
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
test: setup
	$(BIN)/ruff check .
	@mkdir -p .voicelane; \
	nice -n 10 bash -c '$(BIN)/mypy && $(BIN)/python infra/build_layer.py && $(BIN)/python infra/app.py \
	  && $(PYTEST) $(INFRA)' > .voicelane/types-synth-infra.log 2>&1 & ts=$$!; \
	nice -n 10 $(PYTEST) $(FUZZ) > .voicelane/fuzz.log 2>&1 & fz=$$!; \
	$(PYTEST) $(NO_LOSS) > .voicelane/no-loss.log 2>&1 & nl=$$!; \
	trap 'kill $$ts $$fz $$nl 2>/dev/null' EXIT; \
	$(PYTEST) $(addprefix --ignore=,$(NO_LOSS) $(FUZZ) $(INFRA)); rest=$$?; \
	wait $$ts; ts_rc=$$?; wait $$fz; fz_rc=$$?; wait $$nl; nl_rc=$$?; trap - EXIT; \
	echo "--- types (mypy), layer build, synth and $(INFRA) (their own process):"; \
	cat .voicelane/types-synth-infra.log; \
	echo "--- $(FUZZ) (its own process):"; cat .voicelane/fuzz.log; \
	echo "--- $(NO_LOSS) (its own process):"; cat .voicelane/no-loss.log; \
	test $$rest -eq 0 && test $$ts_rc -eq 0 && test $$fz_rc -eq 0 && test $$nl_rc -eq 0

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
