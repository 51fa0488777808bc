# Included from Makefile.am: the benchmarks (never part of make check).
#	make bench [BENCH_SECONDS=10] [BENCH_ROUNDS=3] [BENCH_SMOKE=1]
#	           [BENCH_OUT=results.json]
#	make bench-wordpress	WordPress 6.1 side by side (installs it)
#	make bench-callgrind	instruction counts against the baseline
#	make bench-baseline	rewrite bench/callgrind.baseline
# bench/run.sh says what each scenario does; doc/PERFORMANCE.md has
# the figures of the latest run.
BENCH_PROGS = bench/bare_fault bench/origin
EXTRA_PROGRAMS = $(BENCH_PROGS)
CLEANFILES += $(BENCH_PROGS)
bench_bare_fault_SOURCES = bench/bare_fault.c
bench_bare_fault_LDADD = $(LIBEVENT_LIBS)
bench_origin_SOURCES = bench/origin.c
bench_origin_LDADD = $(LIBEVENT_LIBS)

# Empty: bench.py's defaults (10 s and 3 rounds; smoke: 2 s and 1 round).
BENCH_SECONDS =
BENCH_ROUNDS =
BENCH_SMOKE =
BENCH_ENV = PINGBACKD='$(abs_top_builddir)/src/pingbackd' \
	BENCH_BIN='$(abs_top_builddir)/bench' \
	BENCH_SRC='$(abs_top_srcdir)/bench' \
	BENCH_SECONDS='$(BENCH_SECONDS)' BENCH_ROUNDS='$(BENCH_ROUNDS)' \
	BENCH_SMOKE='$(BENCH_SMOKE)' BENCH_OUT='$(BENCH_OUT)' \
	PYTHON3='$(PYTHON3)'
BENCH_OUT =

bench: src/pingbackd $(BENCH_PROGS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/bench/run.sh
bench-wordpress: src/pingbackd $(BENCH_PROGS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/bench/wordpress.sh
bench-callgrind: src/pingbackd $(BENCH_PROGS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/bench/callgrind.sh check
bench-baseline: src/pingbackd $(BENCH_PROGS)
	$(BENCH_ENV) $(SHELL) $(srcdir)/bench/callgrind.sh baseline
.PHONY: bench bench-wordpress bench-callgrind bench-baseline

EXTRA_DIST += bench/local.mk bench/bare_fault.c bench/origin.c \
	bench/run.sh bench/wordpress.sh bench/callgrind.sh \
	bench/bench.py bench/pbclient.py \
	bench/fault.lua bench/verified.lua \
	bench/callgrind.baseline doc/PERFORMANCE.md
