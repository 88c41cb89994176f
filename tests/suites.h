/* suites.h: the in-VM suites, in the order they run. Add a suite: write tests/test_NAME.c
 * with KTAP_SUITE(NAME, ...), declare it here, list it in suites.c. */
#ifndef HVLAB_SUITES_H
#define HVLAB_SUITES_H
#include "ktap.h"
#include "../vmm/vmm.h"

extern const struct ktap_suite boot_suite;
extern const struct ktap_suite vmx_caps_suite;
extern const struct ktap_suite vmxon_suite;
extern const struct ktap_suite guest_boot_suite;
extern const struct ktap_suite exit_cpuid_suite;
extern const struct ktap_suite exit_vmcall_suite;
extern const struct ktap_suite exit_io_suite;
extern const struct ktap_suite exit_msr_suite;
extern const struct ktap_suite exit_cr_suite;
extern const struct ktap_suite exit_vmx_insns_suite;
extern const struct ktap_suite exit_xsetbv_suite;
extern const struct ktap_suite exit_other_suite;
extern const struct ktap_suite triple_fault_suite;
extern const struct ktap_suite ept_identity_suite;
extern const struct ktap_suite ept_split_suite;
extern const struct ktap_suite user_mode_suite;
extern const struct ktap_suite hypercall_fuzz_suite;
extern const struct ktap_suite views_suite;
extern const struct ktap_suite ept_access_suite;
extern const struct ktap_suite vmfunc_suite;
extern const struct ktap_suite ve_suite;
extern const struct ktap_suite traps_suite;
extern const struct ktap_suite emulated_regions_suite;
extern const struct ktap_suite emulated_regions_guest_suite;
extern const struct ktap_suite hostile_suite;
extern const struct ktap_suite guest_page_walk_suite;
extern const struct ktap_suite guest_fuzz_suite;
extern const struct ktap_suite fuzz_suite;
extern const struct ktap_suite bench_regions_suite;
extern const struct ktap_suite bench_views_suite;
extern const struct ktap_suite selftest_ktap_suite;
extern const struct ktap_suite selftest_crash_suite;
extern const struct ktap_suite selftest_panic_suite;
#ifdef HVLAB_COVERAGE /* the coverage runtime's own suite (COVERAGE=1 builds only), only when named */
extern const struct ktap_suite selftest_gcov_suite;
#define COV_SELFTEST_SUITE &selftest_gcov_suite,
#else
#define COV_SELFTEST_SUITE
#endif
extern const struct ktap_suite bench_exits_suite;
extern const struct ktap_suite bench_fuzz_suite;
extern const struct ktap_suite smp_suite;
extern const struct ktap_suite shootdown_suite;
extern const struct ktap_suite shootdown_stress_suite;
extern const struct ktap_suite guest_interrupts_suite;
extern const struct ktap_suite bench_smp_suite;

extern const struct ktap_suite *const ktap_suites[];
extern const int ktap_nsuites;
void ktap_probe(void);
const char *skip_unless_vmx(void);
#define TEST_GUEST_RAM (32UL << 20)
/* What one test VM takes: its RAM, up to 2 MiB lost to its alignment, and at most 1 MiB for
 * its VMCS, bitmaps, EPT tables and the interpreter's state. vmm_setup skips a suite on a
 * machine that never had that much free. */
#define TEST_VM_NEEDS (TEST_GUEST_RAM + (3UL << 20))
const char *vmm_setup(void);
void vmm_fini(void);
int test_vm_create(struct vm *vm);
int prepare_scenario(struct vm *vm, const char *scenario, u64 arg);
enum vm_stop run_prepared(struct vm *vm);
/* run_prepared after prepare_scenario, expecting a clean HC_EXIT(0); returns the guest's out[],
 * or NULL when the VM could not be prepared */
const unsigned long long *scenario_ok(struct vm *vm, const char *name, u64 arg);

/* A case never goes on with a VM that could not be created or booted (prepare_scenario has
 * reported the ERROR and left *vm zeroed): these end the case there, as ASSERT_* do.
 * ASSERT_RUN boots `scenario` in a fresh VM, runs it and expects the stop `want`;
 * ASSERT_SCENARIO_OK is scenario_ok and evaluates to the guest's out[]. */
#define ASSERT_RUN(vm, scenario, arg, want)                                                     \
	do {                                                                                    \
		if (prepare_scenario(vm, scenario, arg))                                        \
			return;                                                                 \
		EXPECT_EQ(run_prepared(vm), want);                                              \
	} while (0)
#define ASSERT_SCENARIO_OK(vm, name, arg)                                                       \
	({                                                                                      \
		const unsigned long long *out_ = scenario_ok(vm, name, arg);                   \
		if (!out_)                                                                      \
			return;                                                                 \
		out_;                                                                           \
	})
#endif
