# The front door. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE24 := . scripts/node24.sh &&

.PHONY: help install test lint typecheck unit env dev dev-down migrate rotate-key format certs up down logs scenarios bench docker-setup ci-images test-containers

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## install dependencies (npm ci) on Node 24
	$(NODE24) npm ci --no-audit --no-fund

test: lint typecheck unit ## lint, typecheck and every test (needs DATABASE_URL and REDIS_URL, or Docker)

lint: ## biome: lint and formatting check
	$(NODE24) npx biome check .

format: ## biome: apply formatting and safe fixes
	$(NODE24) npx biome check --write .

typecheck: ## tsc --noEmit over every package and service
	$(NODE24) npm run typecheck

unit: ## the test suites (node:test through tsx)
	$(NODE24) npm test

env: ## write .env (configuration) and secrets/ (random secret files) when missing
	bash scripts/make-env.sh

dev: ## start the native stack in the background (loads .env)
	bash scripts/dev.sh up

dev-down: ## stop the native stack
	bash scripts/dev.sh down

migrate: ## create the database when missing and apply migrations (loads .env)
	$(NODE24) . scripts/lib.sh && load_env .env && node services/auth/src/migrate.ts

rotate-key: ## stage a new signing key (loads .env)
	$(NODE24) . scripts/lib.sh && load_env .env && node services/auth/src/cli/rotate-key.ts

certs: ## a local CA and the gateway's server certificate in certs/ (git-ignored)
	bash infra/certs/make-certs.sh

COMPOSE := docker compose
STACK_RUNNING = $(shell docker compose ps --status running -q gateway 2>/dev/null)

up: ## the container stack: env and certs when missing, build, start, wait, then run the client scenarios
	@docker info >/dev/null 2>&1 || { echo "make up: no Docker engine answers; use 'make dev' for the native stack" >&2; exit 1; }
	@bash scripts/make-env.sh
	@bash infra/certs/make-certs.sh
	$(COMPOSE) --profile tools build
	$(COMPOSE) up -d --wait
	$(COMPOSE) run --rm client scenarios

down: ## stop the container stack and remove its containers (volumes are kept; add -v by hand to drop them)
	$(COMPOSE) --profile tools --profile load down --remove-orphans

logs: ## follow the container stack's logs
	$(COMPOSE) logs -f --tail=100

scenarios: ## the client scenarios: in the client container when the stack is up (no Node needed), else with local Node
	@if [ -n "$(STACK_RUNNING)" ]; then $(COMPOSE) run --rm client scenarios; else \
	  $(NODE24) . scripts/lib.sh && load_env .env && \
	  BASE_URL="$${BASE_URL:-https://localhost:8443}" CA_FILE="$${CA_FILE:-certs/ca.crt}" \
	  node services/client/src/cli.ts scenarios; fi

docker-setup: ## install the Docker engine, Compose v2 and buildx from Debian's packages when missing, start dockerd
	bash scripts/docker-setup.sh

ci-images: ## CI only: the pinned upstream images, or look-alikes under the same tags where they cannot be pulled
	bash scripts/ci-images.sh

test-containers: ## the container stage: make up, then the drills (scale, restarts, isolation, secrets), testcontainers
	bash scripts/container-stage.sh

bench: ## the benchmark (needs wrk and nginx): paths, verifier peers, login vs ceiling, capacity; ARGS='--only peers'
	$(NODE24) node --import tsx bench/run.ts $(ARGS)
