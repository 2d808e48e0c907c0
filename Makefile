# Two commands for a new user: `make demo` and `make test`. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils
OUT := out

.PHONY: setup system-deps browser-deps demo test bench bench-review eval calibrate samples clean

setup: system-deps $(STAMP)

# Tesseract's English and orientation models and poppler come from the OS; installed through apt when root.
system-deps:
	@missing=""; \
	command -v tesseract >/dev/null || missing="$$missing tesseract"; \
	command -v pdftoppm >/dev/null || missing="$$missing pdftoppm"; \
	ls /usr/share/tesseract-ocr/*/tessdata/osd.traineddata >/dev/null 2>&1 || missing="$$missing osd"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages: $(SYSTEM_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing. Install them first, e.g.: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing (browser tests need it): sudo apt-get install chromium" >&2; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (log: $(VENV)/pip.log)"
	@$(BIN)/pip install -q --upgrade pip > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@$(BIN)/pip install -q -e '.[dev]' >> $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	touch $(STAMP)

demo: setup
	@rm -rf $(OUT)/workspace && mkdir -p $(OUT)
	$(BIN)/python samples/voter_file.py samples/scans/truth.json -o $(OUT)/voters.csv
	$(BIN)/petition voters import $(OUT)/voters.csv --workspace $(OUT)/workspace
	$(BIN)/petition add samples/scans --workspace $(OUT)/workspace --workers 2
	$(BIN)/petition status --workspace $(OUT)/workspace
	$(BIN)/petition export rows -o $(OUT)/rows.csv --workspace $(OUT)/workspace
	$(BIN)/petition export roster -o $(OUT)/roster.csv --workspace $(OUT)/workspace
	@echo; echo "Accuracy against the samples' ground truth (petition eval --rows $(OUT)/rows.csv):"
	$(BIN)/petition eval samples/scans --rows $(OUT)/rows.csv
	@echo; echo "Will it qualify? (signers matched to the sample voter file as they were added)"
	$(BIN)/petition report -o $(OUT)/report.html --required 50 --workspace $(OUT)/workspace

test: setup browser-deps
	OMP_THREAD_LIMIT=1 $(BIN)/python -m pytest -q

bench: setup
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/bench_read.py --pages 12 --out BENCHMARKS.md
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/bench_cluster.py --pages 12 --out BENCHMARKS.md --scaling docs/scaling.md
	$(BIN)/python bench/bench_dedupe.py --sizes 10000,100000,1000000 --out BENCHMARKS.md
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/bench_register.py --pages 8 --out BENCHMARKS.md
	$(BIN)/python bench/bench_review.py --users 20 --seconds 20 --out BENCHMARKS.md
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/bench_voters.py --voters 1000000 --lines 10000 --sheets 60 --eval-voters 50000 --out BENCHMARKS.md
	$(BIN)/python bench/bench_roster.py --entries 1000000 --out BENCHMARKS.md

# Review app under load alone: 20 simulated volunteers on loopback for 20 s.
bench-review: setup
	$(BIN)/python bench/bench_review.py --users 20 --seconds 20 --out BENCHMARKS.md

# Accuracy on the samples and on a larger rendered set, written to ACCURACY.md.
eval: setup
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/accuracy.py --eval-sheets 42 --test-sheets 60 --out ACCURACY.md

# Fit the recognizer's confidence on the calibration fonts (writes scanner/calibration.json; then run make eval).
calibrate: setup
	OMP_THREAD_LIMIT=1 $(BIN)/python bench/calibrate.py --sheets 240 --own-font-sheets 0 --out scanner/calibration.json

# Re-render the committed sample scans (deterministic: the same bytes every time).
samples: setup
	$(BIN)/python samples/render.py samples/scans
	$(BIN)/python samples/city_form.py samples/city --count 5 --seed 2 --form samples/forms/city-form.toml

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
