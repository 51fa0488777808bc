# Included from Makefile.am.  Harnesses are built only with
# --enable-fuzzing; tests/fuzz/run.sh runs each for a bounded time:
#	make fuzz FUZZ_SECONDS=60
FUZZ_PROGS = \
	tests/fuzz/fuzz_xmlrpc \
	tests/fuzz/fuzz_verify \
	tests/fuzz/fuzz_url \
	tests/fuzz/fuzz_config
FUZZ_SECONDS = 60

if FUZZING
noinst_PROGRAMS = $(FUZZ_PROGS)
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_common.c
FUZZ_LINK_LIBS = src/libpbd.a $(LIBDEP_LIBS)
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_xmlrpc_SOURCES = tests/fuzz/fuzz_xmlrpc.c $(FUZZ_COMMON)
tests_fuzz_fuzz_xmlrpc_LDADD = $(FUZZ_LINK_LIBS)
tests_fuzz_fuzz_xmlrpc_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_verify_SOURCES = tests/fuzz/fuzz_verify.c $(FUZZ_COMMON)
tests_fuzz_fuzz_verify_LDADD = $(FUZZ_LINK_LIBS)
tests_fuzz_fuzz_verify_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_url_SOURCES = tests/fuzz/fuzz_url.c $(FUZZ_COMMON)
tests_fuzz_fuzz_url_LDADD = $(FUZZ_LINK_LIBS)
tests_fuzz_fuzz_url_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_COMMON)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LINK_LIBS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)

fuzz: $(FUZZ_PROGS)
	$(SHELL) $(srcdir)/tests/fuzz/run.sh '$(abs_top_builddir)' \
	    '$(FUZZ_SECONDS)'
else
fuzz:
	@echo "make fuzz: the harnesses are not built here; configure" \
	    "with CC=clang --enable-fuzzing (Debian packages clang and" \
	    "libclang-rt-14-dev)" >&2; exit 1
endif
.PHONY: fuzz

EXTRA_DIST += tests/fuzz/local.mk tests/fuzz/run.sh \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_common.c \
	tests/fuzz/fuzz_xmlrpc.c tests/fuzz/fuzz_verify.c \
	tests/fuzz/fuzz_url.c tests/fuzz/fuzz_config.c \
	tests/fuzz/xmlrpc.dict tests/fuzz/verify.dict tests/fuzz/url.dict \
	tests/fuzz/config.dict
EXTRA_DIST += tests/fuzz/corpus/xmlrpc tests/fuzz/corpus/verify \
	tests/fuzz/corpus/url tests/fuzz/corpus/config
