# wsemu — everything a fresh machine needs: `make demo`, `make test`, `make bench`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# The package (and its native extension) is reinstalled when any of these change.
SOURCES := pyproject.toml setup.py native/build_native.py native/build_cface.py \
           $(wildcard native/include/*.h native/include/wsemu/*.h native/src/*)

.PHONY: install demo test bench apt-deps clean conformance-record

install: $(STAMP)

$(STAMP): $(SOURCES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/wsemu demo

# mingw-w64 lets the ABI tests check every Windows constant and layout against Microsoft's
# headers; iproute2's `ip -j addr` is what the netstate tests compare the interface list with.
# They are installed when apt is usable (CI runs as root), else those tests are skipped.
apt-deps:
	@missing=""; \
	command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing="$$missing mingw-w64"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing (ABI headers, ip for the netstate tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(STAMP) apt-deps
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) scripts/bench.py

# Re-record tests/conformance/expected under Wine 8 (installs wine64 + mingw-w64 with apt).
conformance-record: $(STAMP)
	$(PY) scripts/conformance_record.py

clean:
	rm -rf $(VENV) build *.egg-info wsemu/_native*.so wsemu/lib .pytest_cache .hypothesis
