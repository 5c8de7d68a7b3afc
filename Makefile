# podkit: producer entry points. `make` (or `make help`) lists the targets.
# Every target creates the virtual environment itself when it is missing.
# Select with EP=<slug> (one episode) and FEED=<feed-id> (one feed).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PODKIT := $(BIN)/podkit
STAMP  := $(VENV)/.installed
EP     ?=
FEED   ?=
FEEDOPT := $(if $(FEED),--feed $(FEED),)
JOBS   ?= 2
# Test worker processes (pytest-xdist): one more than the cores. The tests wait on servers,
# ffmpeg pipes and deadlines; a third worker on 2 cores fills that time (2 min 52 s -> 2 min
# 33 s measured here), one per core left the cores idle a quarter of the run.
TEST_JOBS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1 if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1) + 1)")

.DEFAULT_GOAL := help
.PHONY: help setup demo check build feed validate preview publish publish-dry deliver status release cue test test-fast bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "}; /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Select with EP=<slug> and FEED=<feed-id>, e.g. make build EP=hanoi-summit"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools' "Editable installation" note warns that folders named like the package
	@# could shadow it on import: here toolkit/ is the package itself (information only).
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install podkit with its test tools
	@$(PODKIT) doctor

demo: $(STAMP) ## The main job on the sample show: check, build, feed, validate, publish to build/public, deliver
	$(PODKIT) check
	$(PODKIT) build -j $(JOBS)
	$(PODKIT) feed
	$(PODKIT) validate
	$(PODKIT) cue
	$(PODKIT) publish
	$(PODKIT) deliver

check: $(STAMP) ## Validate every feed and episode definition (writes nothing)
	$(PODKIT) check

build: $(STAMP) ## Build episode audio, tags, transcripts, notes and pages (EP=slug for one)
	$(PODKIT) build -j $(JOBS) $(FEEDOPT) $(EP)

feed: $(STAMP) ## Write the RSS feed(s) from what is built
	$(PODKIT) feed $(FEEDOPT)

validate: $(STAMP) ## Check the built feed(s) against RSS, Apple and Podcasting 2.0 rules
	$(PODKIT) validate $(FEEDOPT)

cue: $(STAMP) ## Write radio cue sheets (EP=slug for one)
	$(PODKIT) cue $(FEEDOPT) $(EP)

preview: $(STAMP) ## Serve the built show (what feed selected) on http://127.0.0.1:8000/
	$(PODKIT) preview $(FEEDOPT)

publish: $(STAMP) ## Publish to the feed's target (set PODKIT_S3_* / AWS_* to use a bucket)
	$(PODKIT) publish $(FEEDOPT)

deliver: $(STAMP) ## Send the built cuts (the air WAV) to the stations the feed names ([[delivery]])
	$(PODKIT) deliver $(FEEDOPT) $(EP)

publish-dry: $(STAMP) ## Show what publish would upload, skip and delete, changing nothing
	$(PODKIT) publish --dry-run $(FEEDOPT)

status: $(STAMP) ## One line per episode: draft, scheduled, stale, built, published...
	$(PODKIT) status $(FEEDOPT)

release: $(STAMP) ## check, build, feed, validate, publish, deliver; publishes nothing if a step fails (cron, CI)
	$(PODKIT) release -j $(JOBS) $(FEEDOPT)

# PYTHONDONTWRITEBYTECODE is cleared for the tests: with it set (some shells and images
# set it) no run keeps its compiled modules, and every run compiled podkit and rewrote
# every test module's asserts again, about 5 s of CPU in each worker and in each child.
test: $(STAMP) ## Run the whole test suite on every core (what CI runs)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadgroup --durations=30

test-fast: $(STAMP) ## The edit loop: every test but the slow end-to-end ones (under a minute)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadgroup -m "not slow"

bench: $(STAMP) ## Run every benchmark (slow: about 90 minutes, most of it the 2,000-episode catalogue and audio; see benchmarks/README.md)
	@status=0; for b in feed tag publish status catalogue audio align processing clip cluster; do \
		echo "== benchmarks/bench_$$b.py"; $(BIN)/python benchmarks/bench_$$b.py || status=1; \
	done; exit $$status

clean: ## Remove build output (never sources); keeps .venv
	rm -rf build .pytest_cache
