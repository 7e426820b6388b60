# sbcc-bot — the two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
# test processes (pytest-xdist): one per core; each has its own Synapse and schemas
JOBS   ?= auto

.PHONY: run test lint translations bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

# With a config.yaml: run against the configured homeserver; without: an embedded local Synapse.
run: $(STAMP)
	@if [ -f config.yaml ]; then \
		$(BIN)/sbcc-bot run --config config.yaml; \
	else \
		$(BIN)/python -c 'import synapse' 2>/dev/null || $(BIN)/pip install --quiet 'matrix-synapse>=1.120'; \
		$(BIN)/sbcc-bot demo; \
	fi

test: $(TSTAMP)
	$(BIN)/ruff check bot commands rooms tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(JOBS) --dist worksteal $(PYTEST_ARGS)

lint: $(TSTAMP)
	$(BIN)/ruff check bot commands rooms tests bench
	$(BIN)/mypy

# Re-extract source strings and merge them into every catalog.
translations: $(TSTAMP)
	$(BIN)/pybabel extract -F translations/babel.cfg -k N_ -k _ -k ngettext:1,2 -k ngettext_template:1,2 \
		--no-location --sort-output --omit-header -o translations/messages.pot bot commands rooms
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages --no-fuzzy-matching \
		--ignore-obsolete

bench: $(TSTAMP)
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/advice.py
	$(BIN)/python bench/strategies.py

clean:
	rm -rf $(VENV) .demo .pytest_cache
