# mqlive: `make up` runs it, `make test` tests it. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MQTT_PORT ?= 1883
HTTP_PORT ?= 8080
HOST ?= 127.0.0.1
DEVICE ?=
SOURCE ?= auto
MQTT_URL ?= mqtt://127.0.0.1:$(MQTT_PORT)

# A make variable as one shell word, whatever it holds: DEVICE='my laptop' reaches the command as one argument.
quote = '$(subst ','\'',$(1))'

NODE_MODULES := node_modules/.package-lock.json
VIEWER_BUILD := viewer/dist/index.html
VIEWER_SOURCES := $(shell find viewer/src viewer/index.html viewer/vite.config.ts protocol -type f -not -name '*.test.ts' 2>/dev/null)
# The compiled mqlive command (dist/): what make up, make broker and make publisher run.
DIST_BUILD := dist/mqlive.js
DIST_SOURCES := $(shell find bin cli broker publisher recorder protocol scripts -name '*.ts' -not -name '*.test.ts' 2>/dev/null) package.json tsconfig.dist.json

.PHONY: help install deps build up broker publisher viewer-dev test tests typecheck lint fuzz bench pack clean

help:
	@echo "make up          run broker, capture publisher and viewer (MQTT_PORT, HTTP_PORT, DEVICE, SOURCE)"
	@echo "make test        typecheck, lint and every test (installs what the tests need)"
	@echo "make broker      run the broker alone          make publisher   run the publisher alone"
	@echo "make viewer-dev  Vite dev server, /mqtt proxied to the broker on HTTP_PORT"
	@echo "make install     npm ci when node_modules is missing or older than the lockfile"
	@echo "make build       the viewer (viewer/dist) and the compiled mqlive command (dist/)"
	@echo "make pack        the installable package: mqlive-VERSION.tgz (npm install ./mqlive-*.tgz && npx mqlive up)"
	@echo "make deps        Debian packages the tests use (mosquitto, Xvfb, xdotool, Chromium, openssl, Redis)"
	@echo "make fuzz        each fuzz target for MQLIVE_FUZZ_SECONDS (default 600) with a random seed"
	@echo "make bench       benchmarks side by side with Mosquitto (BENCH_SCENARIOS, BENCH_SECONDS, ...)"

install: $(NODE_MODULES)
$(NODE_MODULES): package-lock.json package.json
	@command -v node >/dev/null || { echo "mqlive needs Node.js >= 20.19 and npm: https://nodejs.org/"; exit 1; }
	@command -v npm >/dev/null || { echo "mqlive needs npm (it comes with Node.js): https://nodejs.org/"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("mqlive needs Node.js >= 20.19; this is " + process.version); process.exit(1) }'
	npm ci
	@touch $@

deps:
	@scripts/debian-packages.sh

build: $(VIEWER_BUILD) $(DIST_BUILD)
$(VIEWER_BUILD): $(NODE_MODULES) $(VIEWER_SOURCES)
	npm run --silent build:viewer
$(DIST_BUILD): $(NODE_MODULES) $(DIST_SOURCES)
	npm run --silent build:dist

up: install build
	@MQLIVE_VIA_MAKE=1 node "$(CURDIR)/dist/mqlive.js" up --mqtt-port $(call quote,$(MQTT_PORT)) --http-port $(call quote,$(HTTP_PORT)) --host $(call quote,$(HOST)) --source $(call quote,$(SOURCE)) $(if $(DEVICE),--device $(call quote,$(DEVICE)))

broker: install build
	@MQLIVE_VIA_MAKE=1 node "$(CURDIR)/dist/mqlive.js" broker --host $(call quote,$(HOST)) --mqtt-port $(call quote,$(MQTT_PORT)) --http-port $(call quote,$(HTTP_PORT))

publisher: install $(DIST_BUILD)
	@MQLIVE_VIA_MAKE=1 node "$(CURDIR)/dist/mqlive.js" publisher --url $(call quote,$(MQTT_URL)) --source $(call quote,$(SOURCE)) $(if $(DEVICE),--device $(call quote,$(DEVICE)))

viewer-dev: install
	@MQLIVE_HTTP_PORT=$(call quote,$(HTTP_PORT)) npm run --silent dev:viewer

typecheck: install
	npm run --silent typecheck

lint: install
	npm run --silent lint

tests: install
	npx vitest run

test: deps install build typecheck lint tests

# Each fuzz target for MQLIVE_FUZZ_SECONDS (default 600) with a random seed; a failure prints its seed.
MQLIVE_FUZZ_SECONDS ?= 600
fuzz: install
	MQLIVE_FUZZ_SECONDS=$(MQLIVE_FUZZ_SECONDS) npx vitest run --project unit fuzz -t 'random seed'

bench: deps install build
	npm run --silent bench

pack: install build
	npm pack

clean:
	rm -rf viewer/dist dist test-results mqlive-*.tgz
