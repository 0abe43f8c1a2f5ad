# Accreditor — the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export FLASK_APP := accreditor
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup setup-test migrate demo lint format messages clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pybabel compile --statistics -d translations
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pybabel compile --statistics -d translations
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

migrate: setup
	ACCREDITOR_ENV=development $(BIN)/flask db upgrade

demo: migrate
	ACCREDITOR_ENV=development $(BIN)/flask demo

## make run: set up, migrate the SQLite default under instance/, load demo data and serve.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	ACCREDITOR_ENV=development $(BIN)/flask run --host $(HOST) --port $(PORT)

## make test: set up the test extras and run the whole suite (SQLite unless TEST_DATABASE_URL).
test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup-test
	$(BIN)/ruff check .

format: setup-test
	$(BIN)/ruff format accreditor tests bench

messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations
	$(BIN)/pybabel compile --statistics -d translations

clean:
	rm -rf $(VENV) instance .pytest_cache
