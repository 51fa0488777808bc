# Included from Makefile.am: make bench (never part of make check).
EXTRA_DIST += bench/local.mk
