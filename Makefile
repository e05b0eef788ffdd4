# mcp-invoiced - one plain Makefile.
#   make            build bin/mcp-invoiced
#   make run        set up everything under var/ and serve on https://127.0.0.1:8443/mcp (Ctrl-C or make stop ends both)
#   make test       unit tests (ASan+UBSan), fuzz smoke runs, integration tests, test-cluster
#   make test-cluster  two hosts behind HAProxy in network namespaces (root)
#   make bench      throughput and latency beside pgbench on the same SQL
#   make bench-cluster  the parts of the several-hosts model (one host per core, HAProxy, PostgreSQL)
#   make install    honours DESTDIR and PREFIX

VERSION  := 0.1.0
CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
PKGS     := libpq json-c openssl libjwt libseccomp libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   ?= -O2 -g
# Every #include "..." names its file from the top of the tree (-iquote .);
# -MMD -MP writes each object's header dependencies next to it.
DEPFLAGS := -iquote . -MMD -MP
ALL_CFLAGS := $(DEPFLAGS) -std=c11 -D_GNU_SOURCE -DMCPI_VERSION=\"$(VERSION)\" $(WARN) $(HARDEN) $(CFLAGS) $(PKG_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LIBS     := $(PKG_LIBS)

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The sanitizer build (what the tests run) also compiles the test-only hooks
# (MCPI_TEST_HOOKS: sandbox_test_hook); release builds never contain them.
SAN_CFLAGS := $(DEPFLAGS) -std=c11 -D_GNU_SOURCE -DMCPI_VERSION=\"$(VERSION)\" -DMCPI_TEST_HOOKS $(WARN) -O1 -g $(SAN_FLAGS) $(PKG_CFLAGS)

# The folders are the process diagram (README: Source layout).
LIB_DIRS := server/lib server/proc server/proto server/auth shm
SRCS := $(wildcard server/*.c) $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)) \
        $(wildcard worker/*.c) $(wildcard worker/*/*.c)
LIB_SRCS := $(filter-out server/main.c,$(SRCS))
MIGRATIONS := $(sort $(wildcard sql/migrations/*.sql))
SQL_FUNCTIONS := $(sort $(wildcard sql/functions/*.sql))

OBJS     := $(SRCS:%.c=build/rel/%.o) build/rel/migrations.o
# The renderer is its own binary (exec'd by the master): only it links
# cairo, pango and qpdf (Factur-X), so no other process maps them.
RENDER_PKGS := pangocairo pangofc fontconfig json-c libseccomp libqpdf
RENDER_SRCS := $(wildcard render/*.c) $(wildcard server/lib/*.c) server/proto/ipc.c server/proc/privsep.c \
               server/proc/sandbox.c server/proto/render_proto.c
RENDER_CFLAGS = $(ALL_CFLAGS) $(shell pkg-config --cflags $(RENDER_PKGS) 2>/dev/null)
RENDER_LIBS = $(shell pkg-config --libs $(RENDER_PKGS) 2>/dev/null)
RENDER_OBJS := $(RENDER_SRCS:%.c=build/render/%.o)
# The JWKS fetcher is its own binary too: only it links libcurl, so no
# other process has an HTTP client in it.
JWKS_PKGS := libcurl json-c openssl libseccomp
JWKS_SRCS := $(wildcard server/jwks/*.c) $(wildcard server/lib/*.c) server/proto/ipc.c server/proto/keyset.c \
             server/proto/jwks_msg.c server/proc/privsep.c server/proc/sandbox.c server/auth/jws.c
JWKS_CFLAGS = $(ALL_CFLAGS) $(shell pkg-config --cflags $(JWKS_PKGS) 2>/dev/null)
JWKS_LIBS = $(shell pkg-config --libs $(JWKS_PKGS) 2>/dev/null)
LIB_OBJS := $(LIB_SRCS:%.c=build/rel/%.o) build/rel/migrations.o
SAN_OBJS := $(LIB_SRCS:%.c=build/san/%.o) build/san/migrations.o

UNIT_TESTS := $(patsubst tests/unit/%.c,build/tests/%,$(wildcard tests/unit/test_*.c))
FUZZERS    := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
RENDER_FUZZ_SRCS := $(filter-out render/renderer.c,$(RENDER_SRCS))


.PHONY: all run stop test unit fuzz integration test-cluster bench bench-cluster install clean deps check-readme check-sql
all: bin/mcp-invoiced bin/mcp-invoiced-render bin/mcp-invoiced-jwks

bin/mcp-invoiced: $(OBJS)
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

bin/mcp-invoiced-render: $(RENDER_OBJS)
	@mkdir -p bin
	$(CC) $(RENDER_CFLAGS) $(LDFLAGS) -o $@ $(RENDER_OBJS) $(RENDER_LIBS)

bin/mcp-invoiced-jwks: $(JWKS_SRCS:%.c=build/jwks/%.o)
	@mkdir -p bin
	$(CC) $(JWKS_CFLAGS) $(LDFLAGS) -o $@ $^ $(JWKS_LIBS)

build/jwks/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-JWKS $<
	@$(CC) $(JWKS_CFLAGS) -c -o $@ $<

# The fetcher the sanitizer server runs in the tests (ASan + UBSan).
bin/mcp-invoiced-jwks-san: $(JWKS_SRCS:%.c=build/jwkssan/%.o)
	@mkdir -p bin
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(JWKS_LIBS)

build/jwkssan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-JWKS-SAN $<
	@$(CC) $(SAN_CFLAGS) $(shell pkg-config --cflags $(JWKS_PKGS) 2>/dev/null) -c -o $@ $<

build/render/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-RENDER $<
	@$(CC) $(RENDER_CFLAGS) -c -o $@ $<

# The renderer the sanitizer server runs in the tests (ASan + UBSan).
bin/mcp-invoiced-render-san: $(RENDER_SRCS:%.c=build/rendersan/%.o)
	@mkdir -p bin
	$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) $(RENDER_LIBS)

build/rendersan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-RENDER-SAN $<
	@$(CC) $(SAN_CFLAGS) $(shell pkg-config --cflags $(RENDER_PKGS) 2>/dev/null) -c -o $@ $<

bin/mcp-invoiced-san: $(SAN_OBJS) build/san/server/main.o
	@mkdir -p bin
	$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

build/migrations.c: $(MIGRATIONS) $(SQL_FUNCTIONS) sql/grants.sql sql/embed.sh
	@mkdir -p build
	sh sql/embed.sh $(MIGRATIONS) $(SQL_FUNCTIONS) sql/grants.sql > $@

build/rel/migrations.o: build/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<
build/san/migrations.o: build/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC $<
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<
build/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-SAN $<
	@$(CC) $(SAN_CFLAGS) -c -o $@ $<

# The database engine's test includes db.c and brings its own libpq
# (functions in the executable take precedence over the shared library's).
ENGINE_TEST_OBJS := $(filter-out build/san/worker/db/db.o,$(SAN_OBJS))
build/tests/test_db_engine: tests/unit/test_db_engine.c $(ENGINE_TEST_OBJS)
	@mkdir -p build/tests
	$(CC) $(SAN_CFLAGS) -Wno-missing-prototypes -o $@ $< $(ENGINE_TEST_OBJS) $(LIBS) -lcmocka

build/tests/%: tests/unit/%.c $(SAN_OBJS)
	@mkdir -p build/tests
	$(CC) $(SAN_CFLAGS) -Wno-missing-prototypes -o $@ $< $(SAN_OBJS) $(LIBS) -lcmocka

# libFuzzer drivers (clang): the modules are compiled once with coverage
# instrumentation (fuzzer-no-link) and each driver links against them.
FUZZ_BASE := $(DEPFLAGS) -std=c11 -D_GNU_SOURCE -DMCPI_VERSION=\"$(VERSION)\" -g -O1 $(PKG_CFLAGS)
FUZZ_OBJS := $(LIB_SRCS:%.c=build/fuzzobj/%.o) build/fuzzobj/migrations.o
build/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-FUZZ $<
	@clang $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build/fuzzobj/migrations.o: build/migrations.c
	@mkdir -p $(dir $@)
	@clang $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p build/fuzz
	@echo LINK-FUZZ $@
	@clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(LIBS)

# The JWKS parser's driver links the fetcher's parser (server/jwks/jwk.c).
build/fuzz/fuzz_jwks: tests/fuzz/fuzz_jwks.c build/fuzzobj/server/jwks/jwk.o $(FUZZ_OBJS)
	@mkdir -p build/fuzz
	@echo LINK-FUZZ $@
	@clang $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.c %.o,$^) $(LIBS)

# The renderer's driver links the renderer's modules (and cairo/pango).
build/fuzzrender/%.o: %.c
	@mkdir -p $(dir $@)
	@echo CC-FUZZ-RENDER $<
	@clang $(FUZZ_BASE) $(shell pkg-config --cflags $(RENDER_PKGS) 2>/dev/null) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
build/fuzz/fuzz_render: tests/fuzz/fuzz_render.c $(RENDER_FUZZ_SRCS:%.c=build/fuzzrender/%.o)
	@mkdir -p build/fuzz
	@echo LINK-FUZZ $@
	@clang $(FUZZ_BASE) $(shell pkg-config --cflags $(RENDER_PKGS) 2>/dev/null) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.c %.o,$^) $(RENDER_LIBS)

deps:
	@sh tests/deps.sh

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

FUZZ_SECONDS ?= 5
fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  mkdir -p build/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 build/corpus/$$n tests/fuzz/corpus/$$n > build/fuzz/$$n.log 2>&1 || { tail -n 40 build/fuzz/$$n.log; exit 1; }; tail -n 1 build/fuzz/$$n.log; done

integration: bin/mcp-invoiced-san bin/mcp-invoiced-render-san bin/mcp-invoiced-jwks-san bin/mcp-invoiced
	python3 tests/integration/run.py

# Two hosts behind HAProxy on one PostgreSQL, in network namespaces (root);
# exit 77 = cannot run here, said why.
test-cluster: bin/mcp-invoiced
	@python3 tests/cluster/run.py; rc=$$?; [ $$rc = 0 ] || { [ $$rc = 77 ] && [ "$${CI:-}" != true ]; }

check-sql:
	@python3 tests/check-sql.py

check-readme: bin/mcp-invoiced
	@./bin/mcp-invoiced tools > build/tools.md
	@awk '/<!-- tools:begin -->/{f=1;next}/<!-- tools:end -->/{f=0}f' README.md > build/readme-tools.md
	@diff -u build/readme-tools.md build/tools.md && echo "README tool table matches the tool table"

test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) all bin/mcp-invoiced-san bin/mcp-invoiced-render-san bin/mcp-invoiced-jwks-san $(UNIT_TESTS) $(FUZZERS)
	@$(MAKE) --no-print-directory check-readme check-sql
	@python3 tests/check-layout.py
	@python3 tests/check-sql.py
	@sh tests/check-systemd.sh
	@sh tests/check-install.sh
	@sh tests/check-man.sh
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory test-cluster

run: deps all
	sh tests/run-dev.sh

# Stops what `make run` started (its server and private PostgreSQL).
stop:
	-@pkill -TERM -f "bin/mcp-invoiced serve --config $(CURDIR)/var/mcp-invoiced.conf" || true
	@if [ -d var ]; then sh tests/devenv.sh stop var; fi

bench: deps all
	sh bench/bench.sh

bench-cluster: deps all
	sh bench/cluster.sh

# The unit goes where this machine's systemd looks (pkg-config), unless
# SYSTEMD_UNIT_DIR says otherwise; the README it names is installed too.
SYSTEMD_UNIT_DIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
DOC_DIR := $(PREFIX)/share/doc/mcp-invoiced
install: bin/mcp-invoiced bin/mcp-invoiced-render bin/mcp-invoiced-jwks
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)/usr/lib/sysusers.d \
	  $(DESTDIR)/usr/lib/tmpfiles.d $(DESTDIR)/etc/mcp-invoiced $(DESTDIR)$(DOC_DIR)/docs \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 man/mcp-invoiced.8 $(DESTDIR)$(PREFIX)/share/man/man8/mcp-invoiced.8
	install -m 0644 man/mcp-invoiced.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/mcp-invoiced.conf.5
	install -m 0644 README.md $(DESTDIR)$(DOC_DIR)/README.md
	install -m 0644 docs/*.md $(DESTDIR)$(DOC_DIR)/docs/
	install -m 0644 systemd/mcp-invoiced.conf.example $(DESTDIR)$(DOC_DIR)/mcp-invoiced.conf.example
	install -m 0755 bin/mcp-invoiced $(DESTDIR)$(PREFIX)/bin/mcp-invoiced
	install -m 0755 bin/mcp-invoiced-render $(DESTDIR)$(PREFIX)/bin/mcp-invoiced-render
	install -m 0755 bin/mcp-invoiced-jwks $(DESTDIR)$(PREFIX)/bin/mcp-invoiced-jwks
	sed 's|@PREFIX@|$(PREFIX)|g' systemd/mcp-invoiced.service > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/mcp-invoiced.service
	install -m 0644 systemd/mcp-invoiced.sysusers $(DESTDIR)/usr/lib/sysusers.d/mcp-invoiced.conf
	install -m 0644 systemd/mcp-invoiced.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/mcp-invoiced.conf
	test -e $(DESTDIR)/etc/mcp-invoiced/mcp-invoiced.conf || \
	  install -m 0640 systemd/mcp-invoiced.conf.example $(DESTDIR)/etc/mcp-invoiced/mcp-invoiced.conf

clean:
	rm -rf build bin

# Objects are kept between builds (the fuzz drivers' are reached only
# through pattern rules).
.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
