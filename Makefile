# The front door. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE24 := . scripts/node24.sh &&

.PHONY: help install test test-native test-docker test-cluster lint typecheck unit env dev dev-down migrate rotate-key format certs up up-ha up-load down logs logs-tail scenarios bench docker-setup ci-images test-containers test-fresh-machine audit images dockerfiles outdated seed unseed load observe api-docs config-docs doc-figures k8s-check k8s-render k8s-templates

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## install dependencies (npm ci) on Node 24
	$(NODE24) npm ci --no-audit --no-fund

# Every target that runs Node code depends on this file: npm ci runs first when node_modules is missing (a fresh
# clone) or older than package-lock.json.
NODE_MODULES := node_modules/.package-lock.json
$(NODE_MODULES): package-lock.json
	@echo "make: node_modules is missing or older than package-lock.json; running make install"
	$(NODE24) npm ci --no-audit --no-fund
	@touch $(NODE_MODULES)
# The same as a shell step, for recipes that need node_modules on one branch only (seed, unseed, scenarios).
ENSURE_NODE_MODULES = { [ -f $(NODE_MODULES) ] && [ ! package-lock.json -nt $(NODE_MODULES) ]; } || \
  { echo "make: node_modules is missing or older than package-lock.json; running make install" && \
  $(NODE24) npm ci --no-audit --no-fund && touch $(NODE_MODULES); }

test: ## every check: natively when this host has the toolchain, else in the test container (needs only Docker)
	@if missing="$$(bash scripts/test-toolchain.sh)"; then $(MAKE) --no-print-directory test-native; \
	elif docker info >/dev/null 2>&1; then \
	  echo "make test: not on this host: $$missing; running the suite in the test container (make test-docker)"; \
	  $(MAKE) --no-print-directory test-docker; \
	else \
	  echo "make test: not on this host: $$missing; and no Docker engine answers for the test container." >&2; \
	  echo "make test: install them (docs/testing.md) or start Docker" >&2; exit 1; \
	fi

test-native: $(NODE_MODULES) lint typecheck unit ## lint, typecheck and every test on this host (Node 24, nginx, openssl, chromium, wrk, redis-server; DATABASE_URL and REDIS_URL, or Docker)

test-docker: ## lint, typecheck and every test in the test container (docker-compose.test.yml; needs only Docker)
	bash scripts/test-docker.sh

lint: $(NODE_MODULES) ## biome: lint and formatting check
	$(NODE24) npx biome check .

format: $(NODE_MODULES) ## biome: apply formatting and safe fixes
	$(NODE24) npx biome check --write .

typecheck: $(NODE_MODULES) ## tsc --noEmit over every package and service
	$(NODE24) npm run typecheck

unit: $(NODE_MODULES) ## the test suites (node:test through tsx)
	$(NODE24) npm test

# The seed list names every primary: the tests' Redis proxies (createRedisProxy) put one in front of each.
# The auth and resource suites, the e2e tests of the resource with the real auth (no gateway), and the fixtures'
# own test (clearRedisPrefix on every primary).
CLUSTER_SUITES := "services/auth/test/**/*.test.ts" "services/resource/test/**/*.test.ts" \
  packages/testing/test/fixture.teardown.test.ts \
  e2e/resource.with-auth.test.ts e2e/resource.study-endpoints.test.ts e2e/session-mode.revocation.test.ts \
  e2e/admin.demoted-across-services.test.ts
test-cluster: $(NODE_MODULES) ## the auth and resource suites (and their e2e tests) against a three-primary Redis Cluster (127.0.0.1:7101-7103, started and stopped here)
	bash scripts/redis-cluster.sh start
	status=0; $(NODE24) REDIS_CLUSTER_NODES=$$(bash scripts/redis-cluster.sh nodes) node --import tsx --test \
	  --test-global-setup=packages/testing/src/global-setup.ts --test-concurrency=2 --test-timeout=120000 \
	  $(CLUSTER_SUITES) || status=$$?; \
	  [ -n "$${KEEP_CLUSTER:-}" ] || bash scripts/redis-cluster.sh stop; exit $$status

env: ## write .env (configuration) and secrets/ (random secret files) when missing
	bash scripts/make-env.sh

dev: $(NODE_MODULES) ## start the native stack in the background (loads .env)
	bash scripts/dev.sh up

dev-down: ## stop the native stack
	bash scripts/dev.sh down

migrate: $(NODE_MODULES) ## create the database when missing and apply migrations (loads .env)
	$(NODE24) . scripts/lib.sh && load_env .env && node services/auth/src/migrate.ts

rotate-key: $(NODE_MODULES) ## stage a new signing key (loads .env)
	$(NODE24) . scripts/lib.sh && load_env .env && node services/auth/src/cli/rotate-key.ts

USERS ?= 1000
USERS_FILE := load-tests/data/users.json
LOAD_TEST_USERS_CLI := services/auth/src/cli/load-test-users.ts

seed: ## USERS=N load-test accounts straight into PostgreSQL (container stack when up, else native), users file for k6
	@mkdir -p load-tests/data load-tests/results
	@umask 077; if [ -n "$(STACK_RUNNING)" ]; then $(COMPOSE) $(STACK_FILES) exec -T auth node $(LOAD_TEST_USERS_CLI) seed $(USERS) > $(USERS_FILE).tmp; else \
	  $(ENSURE_NODE_MODULES) && \
	  $(NODE24) . scripts/lib.sh && load_env .env && node $(LOAD_TEST_USERS_CLI) seed $(USERS) > $(USERS_FILE).tmp; fi
	@mv $(USERS_FILE).tmp $(USERS_FILE) && echo "wrote $(USERS_FILE)"

unseed: ## remove every load-test account and its sessions (container stack when up, else native)
	@if [ -n "$(STACK_RUNNING)" ]; then $(COMPOSE) $(STACK_FILES) exec -T auth node $(LOAD_TEST_USERS_CLI) unseed; else \
	  $(ENSURE_NODE_MODULES) && \
	  $(NODE24) . scripts/lib.sh && load_env .env && node $(LOAD_TEST_USERS_CLI) unseed; fi
	@rm -f $(USERS_FILE)

SCRIPT ?= 01-login
PROFILE ?= smoke
RATE ?= 8
# The stack that runs (plain or ha, with the observability profile: STACK_FILES) and the raised limits of
# docker-compose.load.yml, except for the credential-stuffing script: it tests the human limits. While the
# observability profile runs, recreating the gateway must recreate the exporter in its network namespace: the profile
# is part of STACK_FILES.
OBSERVING = $(shell docker compose ps --status running -q prometheus 2>/dev/null)
LOAD_FILES = $(STACK_FILES) $(if $(findstring credential-stuffing,$(SCRIPT)),,-f docker-compose.load.yml)
LOAD_COMPOSE = $(COMPOSE) $(LOAD_FILES)
# nginx resolves the services' addresses when it starts: after an `up` that recreated one of them and not the gateway,
# the gateway (and the exporter in its network namespace) is recreated (scripts/gateway-refresh.sh).
GATEWAY_REFRESH = bash scripts/gateway-refresh.sh

up-load: ## the running container stack (plain or ha, observed or not) with the raised limits of docker-compose.load.yml (what make load runs k6 against); make up restores the human limits
	$(COMPOSE) $(STACK_FILES) -f docker-compose.load.yml up -d --wait
	$(GATEWAY_REFRESH) $(STACK_FILES) -f docker-compose.load.yml

load: ## k6 on the container stack, load limits: SCRIPT=01-login PROFILE=average RATE=8 [K6_ARGS='-e MAX_RATE=80'] (make seed first)
	@test -f $(USERS_FILE) || { echo "make load: no $(USERS_FILE); run make seed USERS=1000 first" >&2; exit 1; }
	@test -f load-tests/$(SCRIPT).ts || { echo "make load: no load-tests/$(SCRIPT).ts" >&2; exit 1; }
	@mkdir -p load-tests/results
	$(LOAD_COMPOSE) up -d --wait
	$(GATEWAY_REFRESH) $(LOAD_FILES)
	report=$(SCRIPT)-$(PROFILE)-$$(date -u +%Y%m%dT%H%M%SZ); \
	K6_USER=$$(id -u):$$(id -g) K6_PROFILE=$(PROFILE) K6_RATE=$(RATE) K6_DURATION=$${DURATION:-} K6_REPORT=$$report \
	  $(LOAD_COMPOSE) --profile load run --rm k6 run --tag testid=$$report \
	  $(if $(OBSERVING),-o experimental-prometheus-rw) $(K6_ARGS) /load-tests/$(SCRIPT).ts
	@echo "reports in load-tests/results/ (observing: Grafana's k6 dashboard, Test run = the report's name); 'make up' (or 'make up-ha') restores the human limits"

observe: ## the observability profile on the stack that runs (plain or ha): Prometheus :9090, Grafana :3000 (dashboards authstack and k6), Jaeger :16686, on 127.0.0.1
	@bash scripts/k6-dashboard.sh
	$(COMPOSE) $(shell bash scripts/stack-files.sh --observe) up -d --wait
	$(GATEWAY_REFRESH) $(shell bash scripts/stack-files.sh --observe)
	@echo "Grafana http://127.0.0.1:$${GRAFANA_PORT:-3000} (anonymous viewer; admin password in secrets/grafana_admin_password)"

certs: ## a local CA and the gateway's server certificate in certs/ (git-ignored)
	bash infra/certs/make-certs.sh

COMPOSE := docker compose
# The commit the images report on /healthz (unknown outside a git checkout).
export BUILD_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
STACK_RUNNING = $(shell docker compose ps --status running -q gateway 2>/dev/null)
# The compose arguments of the stack that runs (scripts/stack-files.sh: plain or ha, and the observability override
# and profile while Prometheus runs), asked once per make run, when a recipe first needs them.
STACK_FILES = $(eval STACK_FILES := $(shell bash scripts/stack-files.sh))$(STACK_FILES)

up: ## the plain container stack (and the observability profile when it runs): env and certs when missing, build, start, wait, then the client scenarios
	@docker info >/dev/null 2>&1 || { echo "make up: no Docker engine answers; use 'make dev' for the native stack" >&2; exit 1; }
	@bash scripts/make-env.sh
	@bash infra/certs/make-certs.sh
	$(COMPOSE) --profile tools build
	$(COMPOSE) $(shell bash scripts/stack-files.sh plain) up -d --wait
	$(GATEWAY_REFRESH) $(shell bash scripts/stack-files.sh plain)
	$(COMPOSE) run --rm client scenarios

COMPOSE_HA := $(COMPOSE) -f docker-compose.yml -f docker-compose.ha.yml

up-ha: ## the container stack with Redis Sentinel (primary, two replicas, three Sentinels; docker-compose.ha.yml; and the observability profile when it runs), then the scenarios
	@docker info >/dev/null 2>&1 || { echo "make up-ha: no Docker engine answers" >&2; exit 1; }
	@bash scripts/make-env.sh
	@bash infra/certs/make-certs.sh
	$(COMPOSE) --profile tools build
	$(COMPOSE) $(shell bash scripts/stack-files.sh ha) up -d --wait
	$(GATEWAY_REFRESH) $(shell bash scripts/stack-files.sh ha)
	$(COMPOSE_HA) run --rm client scenarios

down: ## stop the container stack (also the ha profile's) and remove its containers (volumes are kept; add -v by hand to drop them)
	$(COMPOSE) --profile tools --profile load --profile observability down --remove-orphans

api-docs: $(NODE_MODULES) ## rewrite docs/api.md's endpoint tables from the OpenAPI documents (a test checks they are current)
	$(NODE24) node scripts/api-docs.ts

config-docs: $(NODE_MODULES) ## rewrite .env.example, README's configuration table and the docs' quoted defaults from the config schemas (a test checks they are current)
	$(NODE24) node scripts/config-docs.ts

doc-figures: $(NODE_MODULES) ## rewrite the figures the docs quote (<!-- figure:... --> markers) from bench/results/latest.json (a test checks them)
	$(NODE24) node scripts/doc-figures.ts

logs: ## follow the logs of the container stack that runs (plain or ha, with the observability profile while it runs)
	$(COMPOSE) $(STACK_FILES) logs -f --tail=100

logs-tail: ## the container stack's states and last 100 log lines of each service, without following (CI prints it on failure)
	$(COMPOSE) $(STACK_FILES) ps -a
	$(COMPOSE) $(STACK_FILES) logs --no-color --tail=100

scenarios: ## the client scenarios: in the client container when the stack is up (no Node needed), else with local Node
	@if [ -n "$(STACK_RUNNING)" ]; then $(COMPOSE) run --rm client scenarios; else \
	  $(ENSURE_NODE_MODULES) && $(NODE24) . scripts/lib.sh && load_env .env && \
	  BASE_URL="$${BASE_URL:-https://localhost:8443}" CA_FILE="$${CA_FILE:-certs/ca.crt}" \
	  node services/client/src/cli.ts scenarios; fi

docker-setup: ## install the Docker engine, Compose v2 and buildx from Debian's packages when missing, start dockerd
	bash scripts/docker-setup.sh

ci-images: ## CI only: the pinned upstream images, or look-alikes under the same tags where they cannot be pulled
	bash scripts/ci-images.sh

test-containers: $(NODE_MODULES) ## the container stage: make up, then the drills (scale, restarts, isolation, secrets), testcontainers
	bash scripts/container-stage.sh

test-fresh-machine: ## CI: make up then make test inside a container holding only the Docker CLI, Compose v2, make and git
	bash scripts/fresh-machine-stage.sh

audit: $(NODE_MODULES) ## npm audit of the production dependencies, failing on high and critical advisories (needs the registry's advisory API)
	$(NODE24) npm audit --omit=dev --audit-level=high

outdated: $(NODE_MODULES) ## dependencies behind their latest version (majors not taken are explained in docs/operations.md)
	$(NODE24) npm outdated || true

images: ## build the three service images (as make up does)
	$(COMPOSE) --profile tools build

dockerfiles: $(NODE_MODULES) ## rewrite services/*/Dockerfile from their one template, infra/build/dockerfiles.ts (a test checks they are current)
	$(NODE24) node infra/build/dockerfiles.ts

OVERLAY ?= laptop
k8s-check: $(NODE_MODULES) ## Kubernetes manifests: render both overlays, validate against the pinned API schemas, check the invariants
	$(NODE24) node --import tsx --test infra/test/k8s.manifests.test.ts

k8s-templates: $(NODE_MODULES) ## rewrite deploy/k8s/base/gateway/ from infra/nginx/templates (a test checks it is current)
	$(NODE24) node infra/k8s/gateway-templates.ts

k8s-render: $(NODE_MODULES) ## print a Kubernetes overlay as kubectl kustomize would: OVERLAY=laptop (or production)
	@$(NODE24) node infra/k8s/render.ts $(OVERLAY)

bench: $(NODE_MODULES) ## the benchmark (needs wrk and nginx): paths, overload, verifier peers, login vs ceiling, capacity; ARGS='--only peers'
	$(NODE24) node --import tsx bench/run.ts $(ARGS)
