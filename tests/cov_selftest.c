/* cov_selftest.c: suite "selftest_gcov", in the COVERAGE=1 build only and never part of "all"
 * (so the coverage build runs the same suites as the normal one). It checks the coverage
 * runtime from inside: the objects are registered, a function called exactly N times has N in
 * its counter and one never called has 0, and the guest's counters reach the hypervisor once per
 * run. `make coverage` boots it and checks the same numbers in the .gcda files it gets
 * (tests/host/coverage.py, selftest). */
#include "suites.h"
#include "../kernel/gcov.h"

#define PROBE_CALLS 7       /* tests/host/coverage.py expects these */
#define GUEST_PROBE_CALLS 5

static volatile u64 probe_sink;

/* noipa: neither inlined nor cloned, so each has its own counters under its own name. */
__attribute__((noipa)) void cov_probe_counted(void) { probe_sink++; }
__attribute__((noipa)) void cov_probe_never(void) { probe_sink += 2; }

struct elf64_sym {
	u32 st_name;
	u8 st_info, st_other;
	u16 st_shndx;
	u64 st_value, st_size;
};

/* A function's counters, by the name gcc gives them (__gcov0.NAME, a local symbol), from the
 * kernel's symbol table that GRUB loads. */
static const s64 *counters_of(const char *fn)
{
	char want[64];
	const struct elf64_sym *syms = (const void *)boot_info.symtab;
	const char *names = (const char *)boot_info.strtab;
	snprintf(want, sizeof(want), "__gcov0.%s", fn);
	for (u64 i = 0; syms && names && i < boot_info.symtab_size / sizeof(*syms); i++)
		if (syms[i].st_name < boot_info.strtab_size && !strcmp(names + syms[i].st_name, want))
			return (const s64 *)syms[i].st_value;
	return NULL;
}

static void objects_registered(void)
{
	EXPECT(cov_find("/obj/tests/cov_selftest.c.gcda", false) != NULL);
	EXPECT(cov_find("/obj/vmm/vm.c.gcda", false) != NULL);
	EXPECT(cov_find("/obj/kernel/main.c.gcda", false) != NULL);
	EXPECT(cov_find("/obj/kernel/gcov.c.gcda", false) == NULL); /* the runtime is not instrumented */
}

static void counted_exactly(void)
{
	const s64 *counted = counters_of("cov_probe_counted"), *never = counters_of("cov_probe_never");
	ASSERT_TRUE(counted && never);
	s64 before = counted[0];
	for (int i = 0; i < PROBE_CALLS; i++)
		cov_probe_counted();
	EXPECT_EQ(counted[0] - before, PROBE_CALLS);
	EXPECT_EQ(before, 0); /* nothing else calls it */
	EXPECT_EQ(never[0], 0);
}

/* The guest's counters are added to the hypervisor's copy at the end of each run and cleared in
 * the guest: resuming the same VM (the guest halts after HC_EXIT) adds nothing to scen_gcov.c,
 * whose code does not run again. */
static void guest_counters_collected(void)
{
	struct vm vm;
	const char *why = vmm_setup();
	if (why)
		SKIP("%s", why);
	ASSERT_TRUE(scenario_ok(&vm, "gcov_probe", GUEST_PROBE_CALLS) != NULL);
	const struct gcov_info *copy = cov_find("/guest-obj/scen_gcov.c.gcda", true);
	EXPECT(copy != NULL);
	u64 first = copy ? gcov_info_sum(copy) : 0;
	EXPECT(first >= GUEST_PROBE_CALLS);
	vm_run(&vm); /* the guest goes on after HC_EXIT and halts */
	EXPECT_EQ(vm.stop, VM_STOP_HLT);
	EXPECT_EQ(copy ? gcov_info_sum(copy) : 0, first);
	EXPECT(cov_find("/guest-obj/main.c.gcda", true) != NULL);
	vm_destroy(&vm);
	vmm_fini();
}

KTAP_SUITE(selftest_gcov, NULL, NULL, KTAP_CASE(objects_registered), KTAP_CASE(counted_exactly),
	   KTAP_CASE(guest_counters_collected));
