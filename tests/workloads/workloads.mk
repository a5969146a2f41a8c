# Test workloads with known behaviour (built by `make workloads`).
WL := tests/workloads
WLBIN := $(WL)/bin
WORKLOADS :=

workloads: $(WORKLOADS)
