# mqlive: `make up` runs it, `make test` tests it. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MQTT_PORT ?= 1883
HTTP_PORT ?= 8080
HOST ?= 127.0.0.1
DEVICE ?=
SOURCE ?= auto
MQTT_URL ?= mqtt://127.0.0.1:$(MQTT_PORT)

NODE_MODULES := node_modules/.package-lock.json
VIEWER_BUILD := viewer/dist/index.html
VIEWER_SOURCES := $(shell find viewer/src viewer/index.html viewer/vite.config.ts protocol -type f -not -name '*.test.ts' 2>/dev/null)

.PHONY: help install deps build up broker publisher viewer-dev test typecheck lint unit bench clean

help:
	@echo "make up          run broker, capture publisher and viewer (MQTT_PORT, HTTP_PORT, DEVICE, SOURCE)"
	@echo "make test        typecheck, lint and every test (installs what the tests need)"
	@echo "make broker      run the broker alone          make publisher   run the publisher alone"
	@echo "make viewer-dev  Vite dev server, /mqtt proxied to the broker on HTTP_PORT"
	@echo "make install     npm ci when node_modules is missing or older than the lockfile"
	@echo "make deps        Debian packages the tests use (mosquitto, Xvfb, xdotool, Chromium, openssl, Redis)"
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

build: $(VIEWER_BUILD)
$(VIEWER_BUILD): $(NODE_MODULES) $(VIEWER_SOURCES)
	npm run --silent build:viewer

up: install build
	@MQLIVE_VIA_MAKE=1 node --import tsx bin/mqlive.ts up --mqtt-port $(MQTT_PORT) --http-port $(HTTP_PORT) --host $(HOST) --source $(SOURCE) $(if $(DEVICE),--device $(DEVICE))

broker: install
	@MQLIVE_VIA_MAKE=1 node --import tsx bin/mqlive.ts broker --host $(HOST) --mqtt-port $(MQTT_PORT) --http-port $(HTTP_PORT)

publisher: install
	@MQLIVE_VIA_MAKE=1 node --import tsx bin/mqlive.ts publisher --url $(MQTT_URL) --source $(SOURCE) $(if $(DEVICE),--device $(DEVICE))

viewer-dev: install
	@MQLIVE_HTTP_PORT=$(HTTP_PORT) npm run --silent dev:viewer

typecheck: install
	npm run --silent typecheck

lint: install
	npm run --silent lint

unit: install
	npx vitest run

test: deps install build typecheck lint unit

bench: deps install build
	npm run --silent bench

clean:
	rm -rf viewer/dist test-results
