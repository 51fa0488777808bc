# Included from Makefile.am.  Harnesses are built only with
# --enable-fuzzing; tests/fuzz/run.sh runs each for a bounded time.
EXTRA_DIST += tests/fuzz/local.mk
