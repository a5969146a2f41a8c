# Test workloads with known behaviour. Each tests/workloads/mk/*.mk adds its
# binaries to WORKLOADS; `make workloads` builds them into tests/workloads/bin.
WL    := tests/workloads
WLBIN := $(WL)/bin
WL_CFLAGS := -g -Wall -Wextra -pthread
