# Set-up is idempotent: every step checks what is already there.
# `make demo` runs everything embedded; `make test` runs the whole suite.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: a real RTSP server for tests and the demo camera, a real
# browser for UI tests, PostgreSQL for the store tests. `trafficcam doctor` checks
# them by element and file (pipeline/ops/doctor.py); a test keeps the two lists in step.
APT_PACKAGES := gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly python3-gst-1.0 python3-gi \
	gstreamer1.0-x gstreamer1.0-plugins-bad gstreamer1.0-tools gir1.2-gstreamer-1.0 \
	libgstreamer1.0-0 python3 libgl1 libglib2.0-0 chromium postgresql

# Chart.js draws the analysts' charts. Its MIT licence allows shipping the minified
# file, so it is committed (the wheel and offline machines need no npm); `make static`
# re-fetches the pinned version from the npm registry when the file is missing or stale.
CHARTJS_VERSION := 4.5.1
CHARTJS := review_ui/static/chart.umd.min.js

.PHONY: setup apt venv static models demo test lint clean

setup: apt venv static models

# The scenario generator takes its car photo from the Debian package `darknet`
# (`apt-get download`, nothing installed), so the package lists must exist too.
apt:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] || ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then \
		$$SUDO apt-get update -qq; \
	fi; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: any other request would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

static:
	@if grep -q "Chart.js v$(CHARTJS_VERSION)" $(CHARTJS) 2>/dev/null; then :; else \
		tmp=$$(mktemp -d) && \
		(cd $$tmp && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null && \
			tar xzf chart.js-$(CHARTJS_VERSION).tgz) && \
		cp $$tmp/package/dist/chart.umd.min.js $(CHARTJS) && \
		cp $$tmp/package/LICENSE.md review_ui/static/chart.js.LICENSE.md && \
		rm -rf $$tmp && echo "vendored Chart.js $(CHARTJS_VERSION)"; \
	fi

models: venv
	$(BIN)/trafficcam models pull

demo: setup
	$(BIN)/trafficcam demo

test: setup
	$(BIN)/python -m pytest -q -ra

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
