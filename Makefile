# deidlake: the two commands of the README, and the install steps they share.
#   make demo   install what is missing, then run the whole job on the sample corpus
#   make test   install the same plus the dev tools, then run the test suite
# Every step is idempotent: a stamp under .install/ records what is done, keyed on the files it reads.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
STAMPS     := .install
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the product needs at run time (OCR, DICOM validation, fonts for the corpus generator).
APT_RUNTIME := tesseract-ocr tesseract-ocr-eng dicom3tools fonts-dejavu-core fonts-liberation2 fonts-urw-base35
# Test-only Debian packages: the browser the UI test drives (Playwright uses it, never downloads one) and
# the PostgreSQL server the instance-profile and UI tests start on a free port.
APT_TEST    := chromium postgresql
FUZZ_EXAMPLES ?= 2000
DEMO_INPUT  ?= tests/data/corpus
DEMO_OUTPUT ?= out/demo

export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: demo test fuzz install install-dev system system-test jvm jars ner-model clean-data

demo: install
	$(VENV)/bin/deidlake demo --input $(DEMO_INPUT) --output $(DEMO_OUTPUT)

test: install-dev
	$(PY) -m pytest

# The long fuzz run of the per-file steps over mutated real files (docs/operations.md, "Hostile inputs").
fuzz: install-dev
	$(PY) bench/fuzz.py --examples $(FUZZ_EXAMPLES)

install: system jvm $(STAMPS)/venv jars
install-dev: install system-test $(STAMPS)/dev

# apt_install(packages, label): install the Debian packages not yet present (update only if needed).
define apt_install
	@mkdir -p $(STAMPS)
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get install -y -q $$missing || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; }; \
	else echo "apt: $(2) packages present"; fi
	@touch $@
endef

system: $(STAMPS)/system
$(STAMPS)/system: Makefile
	$(call apt_install,$(APT_RUNTIME),runtime)

system-test: $(STAMPS)/system-test
$(STAMPS)/system-test: Makefile
	$(call apt_install,$(APT_TEST),test)

$(STAMPS)/venv: pyproject.toml .ci/constraints.txt
	@mkdir -p $(STAMPS)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c .ci/constraints.txt -e .
	@touch $@

$(STAMPS)/dev: $(STAMPS)/venv pyproject.toml .ci/constraints.txt
	$(PY) -m pip install -q -c .ci/constraints.txt -e '.[dev]'
	@touch $@

# A Java 17 runtime for Spark (installed from Debian when missing; one line saying what is missing when it
# cannot be). Maven is checked (and installed) by the jar fetch, only when jars are still to be fetched.
jvm:
	@./warehouse/jvm/check_jvm.sh

jars: jvm
	@./warehouse/jvm/fetch_jars.sh

# The Spark NLP engine's NER model is checked in (transforms/phi/models/ner: what was measured is what
# ships, and the install stays offline and fast); this rebuilds it from generated text (docs/phi-recognition.md).
ner-model: install
	$(PY) -m transforms.phi.train_ner

clean-data:
	rm -rf warehouse/data out
