/* scen_gcov.c: the "gcov_probe" scenario, in the COVERAGE=1 build only: calls
 * gcov_probe_counted exactly bi->arg times and never gcov_probe_never, so that suite
 * selftest_gcov and `make coverage` (tests/host/coverage.py) can check the guest's counters. */
#include "guest.h"

static volatile u64 probe_sink;

/* noipa: neither inlined nor cloned, so each keeps its own counters under its own name. */
__attribute__((noipa)) void gcov_probe_counted(void) { probe_sink++; }
__attribute__((noipa)) void gcov_probe_never(void) { probe_sink += 2; }

void scen_gcov_probe(struct hv_boot_info *bi)
{
	for (u64 i = 0; i < bi->arg; i++)
		gcov_probe_counted();
	bi->out[0] = probe_sink;
}
