# The two commands a newcomer needs: `make run` and `make test`.
# Both install everything into .venv/ first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests drive: the browser; network namespaces, firewall rules and
# link shaping; a TURN server; GStreamer's WebRTC clients (for Debian's own python3);
# prlimit (util-linux) and openssl for the flood and CA tests; espeak-ng for the spoken
# recording notice, and the DejaVu font for Vietnamese text on the exported video.
TEST_PACKAGES := chromium nftables iproute2 iptables coturn util-linux openssl \
	espeak-ng fonts-dejavu-core \
	python3-gi python3-gst-1.0 \
	gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-nice gstreamer1.0-libav

.PHONY: install system-packages run test lint bench clean

install: $(STAMP)

system-packages:
	sh .ci/apt-need $(TEST_PACKAGES)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || sh .ci/apt-need python3-venv
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(VENV)/bin/commune-bridge --config config.yaml

lint: install
	$(VENV)/bin/ruff check bridge rooms media web tests $(wildcard bench)
	$(VENV)/bin/mypy

test: system-packages install lint
	$(PY) -m pytest -q

# The relay benchmark writes docs/benchmarks.md; the others add their sections.
bench: install
	$(PY) bench/relay_bench.py --out docs/benchmarks.md
	$(PY) -m bench.floor_bench >> docs/benchmarks.md
	$(PY) -m bench.flood_bench >> docs/benchmarks.md
	{ printf '\n## The program audio mixer\n\n`$(PY) -m bench.mixer_bench`:\n\n```\n'; \
	  $(PY) -m bench.mixer_bench; printf '```\n'; } >> docs/benchmarks.md
	{ printf '\n## Loudspeaker streams\n\n`$(PY) -m bench.speakers_bench`:\n\n```\n'; \
	  $(PY) -m bench.speakers_bench; printf '```\n'; } >> docs/benchmarks.md
	$(PY) -m bench.record_bench >> docs/benchmarks.md
	$(PY) -m bench.export_bench --seconds 120 --write docs/benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
