# instaclone: the local stack and the test suite. The logic lives in deploy/bootstrap.sh (installs)
# and deploy/stack.py (services); see `.venv/bin/python deploy/stack.py --help`.
#
#   make up      install what is missing, start the dev stack, print its URL
#   make down    stop the dev stack (data kept)        make status   what runs where
#   make test    start the test stack (own ports), run pytest against it
#   make bench   test-profile data services, then python -m tests.bench
#   make fuzz-images  100,000 mutated images through both image paths (FUZZ_IMAGES_ARGS)
#   make lint    ruff check + ruff format --check     make clean    stop both stacks, delete .run
#   make fuzz-api  Schemathesis over the v1 API through the test stack's nginx (>= 10,000 cases)
#   make fuzz      both fuzz runs

SHELL := /bin/bash
VPY := .venv/bin/python
# down/status/clean also work before bootstrap: stack.py needs only the standard library.
ANYPY := $$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)
PYTEST_ARGS ?=
BENCH_ARGS ?=
FUZZ_IMAGES_ARGS ?=

.PHONY: bootstrap up down status test bench fuzz fuzz-api fuzz-images lint clean

bootstrap:
	@bash deploy/bootstrap.sh

up: bootstrap
	@$(VPY) deploy/stack.py up --profile dev

down:
	@$(ANYPY) deploy/stack.py down --profile dev

status:
	@$(ANYPY) deploy/stack.py status --profile dev

# pytest's exit status passes through: 5 (no tests collected) fails the target like any failure.
test: bootstrap
	@$(VPY) deploy/stack.py up --profile test
	@eval "$$($(VPY) deploy/stack.py env --profile test)" && $(VPY) -m pytest $(PYTEST_ARGS); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

bench: bootstrap
	@$(VPY) deploy/stack.py up --profile test
	@eval "$$($(VPY) deploy/stack.py env --profile test)" && $(VPY) -m tests.bench $(BENCH_ARGS)

# The long run of tests/fuzz/api (the short one is part of `make test`); prints its figures.
fuzz-api: bootstrap
	@$(VPY) deploy/stack.py up --profile test
	@eval "$$($(VPY) deploy/stack.py env --profile test)" && FUZZ_API_SCALE=full \
	$(VPY) -m pytest tests/fuzz/api -q -s -p no:cacheprovider

# In process, no stack needed; findings are saved under tests/fuzz/results/ (see its --help).
fuzz-images: bootstrap
	@$(VPY) -m tests.fuzz.images $(FUZZ_IMAGES_ARGS)

# Both long fuzz runs, with the figures issue 9 asks for (the short runs are in `make test`).
fuzz: fuzz-api fuzz-images

lint: bootstrap
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

clean:
	@$(ANYPY) deploy/stack.py down --profile dev --purge
	@$(ANYPY) deploy/stack.py down --profile test --purge
