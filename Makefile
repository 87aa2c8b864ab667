# imcloud — GNU make build.
#
#   make            build ./build/imcloud
#   make run        install deps, build, start a server on 127.0.0.1:8080 with ./var
#   make check      install deps, build, run every test (unit, e2e, interop,
#                   sanitizer build, fuzz corpus replay); ends "N passed, N failed"
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (clang)
#   make bench      build the load generator and benchmark binaries
#
# Modules are folders under src/; each becomes build/lib/libimc_<module>.a.
# A unit test tests/unit/<module>/test_*.c links only the archives listed in
# DEPS_<module> so one module can be built and tested while another is broken.
# BUILD=dir keeps parallel builds apart (the sanitizer build uses build-asan).

BUILD    ?= build
CC       ?= cc
SAN      ?=
PKGS     := libuv jansson sqlite3 libcrypto zlib
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALLCFLAGS = -std=gnu11 -Wall -Wextra -Werror $(CFLAGS) $(SAN) -D_GNU_SOURCE -Isrc \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser \
            -lroaring -lpthread -lm
CMOCKA   := $(shell pkg-config --libs cmocka 2>/dev/null)

# Link order: a module may use the modules to its right.
MODULES := cli api im meter tenant plan billing auth store net util
DEPS_util    := util
DEPS_net     := net util
DEPS_auth    := auth util
DEPS_store   := store util
DEPS_billing := billing util
DEPS_plan    := plan billing util
DEPS_tenant  := tenant plan billing store auth util
DEPS_meter   := meter tenant plan billing store auth util
DEPS_im      := im plan billing store util
DEPS_api     := $(filter-out cli,$(MODULES))
DEPS_cli     := $(MODULES)

src_of  = $(filter-out src/cli/main.c,$(wildcard src/$(1)/*.c))
obj_of  = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
lib_of  = $(BUILD)/lib/libimc_$(1).a
libs_for = $(foreach m,$(DEPS_$(1)),$(call lib_of,$(m)))

ALL_LIBS := $(foreach m,$(MODULES),$(call lib_of,$(m)))
BIN      := $(BUILD)/imcloud

# Generated sources (embedded data) are compiled into libimc_<module> too.
GEN_SRC  := $(BUILD)/gen/pricebooks_data.c
GEN_OBJ  := $(BUILD)/obj/gen/pricebooks_data.o
PRICEBOOKS := $(sort $(wildcard data/pricebooks/*.json))

.PHONY: all run check deps unit e2e interop asan fuzz fuzz-build fuzz-replay bench bench-build clean tests-build $(foreach m,$(MODULES),unit-$(m))
all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -c $< -o $@

# data/pricebooks/*.json embedded into the binary (the code has no price literal;
# the books are data and the binary still runs from any directory).
$(GEN_SRC): $(PRICEBOOKS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(PRICEBOOKS)
$(GEN_OBJ): $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

# Version: the tree's `git describe` is compiled into util/version.o (rebuilt
# when it changes; empty outside a git checkout).
GIT_DESCRIBE := $(shell git describe --always --dirty 2>/dev/null | tr -cd 'A-Za-z0-9._+-')
VERSION_STAMP := $(BUILD)/gen/git-describe
$(VERSION_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(GIT_DESCRIBE)' | cmp -s - $@ || echo '$(GIT_DESCRIBE)' > $@
$(BUILD)/obj/src/util/version.o: $(VERSION_STAMP)
$(BUILD)/obj/src/util/version.o: ALLCFLAGS += -DIMC_GIT_DESCRIBE='"$(GIT_DESCRIBE)"'
.PHONY: FORCE
FORCE:

define MODULE_RULES
$(call lib_of,$(1)): $(call obj_of,$(1)) $(if $(filter billing,$(1)),$(GEN_OBJ))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call MODULE_RULES,$(m))))

$(BIN): $(BUILD)/obj/src/cli/main.o $(ALL_LIBS)
	$(CC) $(SAN) -o $@ $< -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LDLIBS)
	@ln -sf $(notdir $@) $(BUILD)/imc 2>/dev/null || true

# ---- tests -----------------------------------------------------------------
UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
E2E_SRC   := $(wildcard tests/e2e/test_*.c)
E2E_BIN   := $(patsubst tests/e2e/%.c,$(BUILD)/tests/e2e/%,$(E2E_SRC))
TLIB_SRC  := $(wildcard tests/lib/*.c)
TLIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(TLIB_SRC))

define UNIT_RULE
$(BUILD)/tests/unit/$(1)/%: tests/unit/$(1)/%.c $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $(ALLCFLAGS) -MMD -MP -Itests/lib -o $$@ $$< -Wl,--start-group $(call libs_for,$(1)) -Wl,--end-group $(CMOCKA) $$(LDLIBS)
unit-$(1): $(filter $(BUILD)/tests/unit/$(1)/%,$(UNIT_BIN))
	sh scripts/run-tests.sh unit $$^
endef
$(foreach m,$(MODULES),$(eval $(call UNIT_RULE,$(m))))
# wslay only as the reference the server's own frame code (src/net/ws_frame.c) is checked against
$(BUILD)/tests/unit/net/test_ws_frame: LDLIBS += -lwslay
# the C2C unread counts a conversation page runs, counted around the store's function
$(BUILD)/tests/unit/im/test_conv_unread: LDLIBS += -Wl,--wrap=store_msg_unread -Wl,--wrap=store_grp_member_get
# the chunks due a stop drives, their jobs failing as a full writer queue refuses them
$(BUILD)/tests/unit/im/test_group_due: LDLIBS += -Wl,--wrap=store_grp_due_first

$(BUILD)/tests/e2e/%: tests/e2e/%.c $(TLIB_OBJ) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -Itests/lib -o $@ $< $(TLIB_OBJ) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(CMOCKA) $(LDLIBS)

tests-build: $(BIN) $(UNIT_BIN) $(E2E_BIN)

deps:
	sh scripts/deps.sh

run: deps
	$(MAKE) all
	sh scripts/run.sh

check: deps
	sh scripts/check.sh

unit: $(UNIT_BIN)
	sh scripts/run-tests.sh unit $(UNIT_BIN)

e2e: $(BIN) $(E2E_BIN)
	IMCLOUD_BIN=$(abspath $(BIN)) sh scripts/run-tests.sh e2e $(E2E_BIN)

# ---- fuzzing (clang libFuzzer) -----------------------------------------------
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" OPT=-O1 build-fuzz/lib/libimc_util.a $(foreach m,$(MODULES),build-fuzz/lib/libimc_$(m).a)
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Isrc $$(pkg-config --cflags $(PKGS)) \
	    -o build-fuzz/$$n $$f -Wl,--start-group $(foreach m,$(MODULES),build-fuzz/lib/libimc_$(m).a) -Wl,--end-group $(LDLIBS) || exit 1; done
fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p tests/fuzz/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $$([ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict) tests/fuzz/corpus/$$n || exit 1; done
fuzz-replay: fuzz-build
	sh scripts/run-tests.sh fuzz $(FUZZ_BIN)

# ---- benchmarks --------------------------------------------------------------
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: bench/%.c $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -Ibench -o $@ $< -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(LDLIBS)
# LD_PRELOAD shims for benchmarks (bench/shim/*.c): shared objects, not programs
BENCH_SHIM := $(patsubst bench/shim/%.c,$(BUILD)/bench/%.so,$(wildcard bench/shim/*.c))
$(BUILD)/bench/%.so: bench/shim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -shared -fPIC -o $@ $< -ldl

# bench-build: the benchmark binaries; make check builds them (and runs none) so a benchmark that no longer compiles is caught
bench-build: $(BIN) $(BENCH_BIN) $(BENCH_SHIM)

bench: $(BIN) $(BENCH_BIN) $(BENCH_SHIM)

clean:
	rm -rf build build-asan build-fuzz build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
# the test programs' header dependencies (tests/lib/*.h among them)
-include $(shell find $(BUILD)/tests -name '*.d' 2>/dev/null)
# the benchmarks' header dependencies (bench/*.h)
-include $(shell find $(BUILD)/bench -name '*.d' 2>/dev/null)
