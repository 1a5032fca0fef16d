# Two commands on a fresh machine: `make run` (the daemon) and `make test` (the suite).
# Every target bootstraps .venv/ from nothing on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run once test check-rules quality bench-matching bench-stories bench-feeds image-check soak screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)          ## the daemon in the foreground on config.toml
	$(BIN)/monitor run

once: $(STAMP)         ## one full cycle now (every source, every digest), then exit
	$(BIN)/monitor run --once

test: $(STAMP)         ## the whole test suite
	$(BIN)/python -m pytest

check-rules: $(STAMP)  ## validate rules/ and run their self-tests without starting the daemon
	$(BIN)/monitor rules check
	$(BIN)/monitor rules test

quality: $(STAMP)      ## story grouping and rule firing on the labeled corpora (tuning and held-out), in seconds
	$(BIN)/python benchmarks/story_quality.py
	$(BIN)/python benchmarks/story_quality.py --corpus tests/data/stories/heldout.jsonl
	$(BIN)/python benchmarks/rule_quality.py
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout2.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout3.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout4.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout5.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout6.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout7.jsonl
	$(BIN)/python benchmarks/rule_quality.py --corpus tests/data/rules/heldout8.jsonl

bench-stories: $(STAMP)   ## story clustering speed at 10,000 and 100,000 articles against brute force (several minutes)
	$(BIN)/python benchmarks/stories.py

bench-matching: $(STAMP)  ## matching speed at 10..100,000 rules against one regex per rule (slow)
	$(BIN)/python benchmarks/matching.py

bench-feeds: $(STAMP)     ## feed ingestion against reader on 2,000 local feeds, with and without latency (a few minutes)
	$(BIN)/python benchmarks/feeds.py

image-check:           ## build the container image with podman (no registry needed) and run a cycle in it
	bash deploy/image-check.sh

soak: $(STAMP)         ## the daemon against a busy local feed server for 10 minutes (MINUTES=N)
	$(BIN)/python benchmarks/soak.py --minutes $(or $(MINUTES),10)

screenshots: $(STAMP)  ## the seed digest in headless Chromium at desktop and phone widths -> var/digest-*.png
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends chromium; \
	  else echo "chromium is missing; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2; exit 1; fi; \
	fi
	$(BIN)/python benchmarks/screenshots.py

clean:
	rm -rf $(VENV) var *.egg-info .pytest_cache
