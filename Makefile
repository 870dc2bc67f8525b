# The front door. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE24 := . scripts/node24.sh &&

.PHONY: help install test lint typecheck unit env dev dev-down migrate rotate-key format certs

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
	$(NODE24) npx tsc --noEmit -p tsconfig.json

unit: ## the test suites (node:test through tsx)
	$(NODE24) npm test

env: ## write .env with random secrets when missing
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
