/* test_regions_guest.c: suite "emulated_regions_guest", the guest-scenario cases of issue 6
 * (the hypervisor-only cases are "emulated_regions", test_regions.c). The guest makes the
 * checks it can (native vs emulated results, fault delivery, hypercall results; docs/guest.md);
 * these cases check what it reports in out[] against what only the hypervisor knows: region
 * entries and VM exits, instructions emulated, stepped and unsupported ones. */
#include "suites.h"
#include "../vmm/vmcs.h"

static const char *const workloads[] = {"checksum", "fib", "strings", "callout", "user"};

/* Each workload natively, then as a region: same registers, flags, memory; one VM exit per
 * region entry and none on leaving (the guest's HC_GET_STATS delta and the region's count). */
static void same_results_native_and_emulated(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_same", 0);
	static const u64 entries[] = {1, 1, 1, 3, 1};
	EXPECT_EQ(o[31], ARRAY_SIZE(workloads));
	EXPECT_EQ(o[30], 0); /* differences */
	for (u32 w = 0; w < ARRAY_SIZE(workloads); w++) {
		const unsigned long long *r = &o[6 * w];
		kt_diag("%s: %llu instructions, %llu entries, %llu exits (%llu seen by the guest); TSC native %llu, "
			"emulated %llu",
			workloads[w], r[2], r[3], r[4], r[5], r[0], r[1]);
		EXPECT(r[2] > 0);
		EXPECT_EQ(r[3], entries[w]);
		EXPECT_EQ(r[4], r[3]);
		EXPECT_EQ(r[5], r[3]);
	}
	EXPECT_EQ(vm.in_region, 0);
	EXPECT(!vm.step.open);
	vm_destroy(&vm);
}

/* #PF (U, not present + restart, SMEP), #UD, #DE, #GP from a region, as the CPU delivers them. */
static void faults_as_the_cpu_delivers_them(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_faults", 0);
	EXPECT_EQ(o[0], 5); /* P | U, read */
	EXPECT_EQ(o[1], 1);
	EXPECT_EQ(o[2], 1); /* one #PF for the not-present page */
	EXPECT_EQ(o[3], 2); /* entries: the call and the restart */
	if (o[4])
		EXPECT_EQ(o[5], 0x11); /* P | I/D */
	else
		kt_diag("SMEP case skipped: CPUID.7.0:EBX[7] = 0");
	EXPECT_EQ(o[6], 6);
	EXPECT_EQ(o[7], 0);
	EXPECT_EQ(o[8], 13);
	EXPECT_EQ(o[9], 2);       /* a write to a not-present page */
	EXPECT_EQ(o[10], 0x1000); /* CR2: the first byte on that page */
	EXPECT_EQ(o[11], 1);      /* REP MOVSB: one #PF */
	EXPECT_EQ(o[12], 203);    /* and every iteration emulated once */
	EXPECT_EQ(vm.in_region, 0);
	EXPECT(!vm.step.open);
	vm_destroy(&vm);
}

/* An instruction the interpreter leaves to the CPU faults there (VPXOR with CR4.OSXSAVE = 0:
 * #UD). The guest's handler must see the frame it would natively (no TF from our single step)
 * and the region's next instructions must be emulated again, not run on the CPU. */
static void stepped_instruction_faults_cleanly(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_stepfault", 0);
	kt_diag("handler saw RFLAGS.TF=%llu; %llu instructions emulated (3 expected); single-step by %s", o[0] >> 8,
		o[1], step_mtf_works() ? "MTF" : "RFLAGS.TF and #DB");
	EXPECT_EQ(o[0], 0);
	EXPECT_EQ(o[1], 3);
	EXPECT(!vm.step.open);
	EXPECT_EQ(vm.in_region, 0);
	vm_destroy(&vm);
}

/* The RFLAGS image the guest's handler finds for a fault raised in a region must be the one
 * the CPU pushes natively: RF = 1 for fault-class exceptions (SDM "EFLAGS.RF"; both Bochs
 * models do it for #PF, #DE, #GP and an execute-time #UD). Counted by the guest (#UD from
 * UD2 excluded: the two Bochs models differ there). */
static void fault_frames_match_native(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_faults", 0);
	unsigned long long faults = o[15];
	vm_destroy(&vm);
	o = ASSERT_SCENARIO_OK(&vm, "regions_stepfault", 0);
	kt_diag("faults whose frame had another RFLAGS.RF than natively: %llu of 7 in regions_faults, %llu of 1 "
		"in regions_stepfault",
		faults, o[2] >> 16);
	EXPECT_EQ(faults, 0);
	EXPECT_EQ(o[2], 0);
	vm_destroy(&vm);
}

/* CR0.WP, NX, SMAP (with RFLAGS.AC) and A/D bits in the interpreter's page walk, as natively. */
static void paging_rights_as_the_cpu(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_rights", 0);
	EXPECT_EQ(o[0], 3);    /* WP = 1: P | W */
	EXPECT_EQ(o[1], 2);    /* WP = 0: both stores landed */
	EXPECT_EQ(o[2], 0x11); /* NX: P | I/D */
	if (o[3]) {
		EXPECT_EQ(o[4], 1);
		EXPECT_EQ(o[5], 2);
	} else {
		kt_diag("SMAP case skipped: CPUID.7.0:EBX[20] = 0");
	}
	EXPECT_EQ(o[6], 7);
	EXPECT_EQ(o[7], o[6]);
	vm_destroy(&vm);
}

/* A region is emulated in views made before and after it, by GPA too; removed, it is native
 * in every view. */
static void every_view_and_by_gpa(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_views", 0);
	kt_diag("3 views: %llu entries, %llu instructions; by GPA: %llu entry; after removal %llu exits", o[0], o[1],
		o[2], o[3]);
	EXPECT_EQ(o[0], 3);
	EXPECT_EQ(o[2], 1);
	EXPECT_EQ(o[3], 0);
	for (u32 v = 0; v < 3; v++) {
		EXPECT(vm.sh->view_live[v]);
		EXPECT_EQ(view_get_access(&vm, v, o[4]), EPT_RWX); /* execute is back in each view */
	}
	vm_destroy(&vm);
}

/* A write trap on a page that region code writes: every write counted, as natively, and
 * each instruction emulated once. */
static void traps_hit_from_a_region(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_traps", 0);
	kt_diag("write trap hits: native %llu, emulated %llu; %llu region entries", o[0], o[1], o[3]);
	EXPECT_EQ(o[0], 4);
	EXPECT_EQ(o[1], 4);
	EXPECT_EQ(o[2], 2);
	EXPECT(!vm.step.open);
	EXPECT_EQ(vm.in_region, 0);
	vm_destroy(&vm);
}

/* Random instruction sequences: the CPU (Bochs's, under Bochs) against the interpreter. */
static void cpu_is_the_reference(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_diff", 0);
	kt_diag("%llu sequences, %llu instructions, %llu mismatches; the region ran %llu instructions in %llu "
		"entries, %llu exits",
		o[0], o[1], o[2], o[3], o[4], o[5]);
	EXPECT(o[0] >= 100);
	EXPECT_EQ(o[2], 0);
	EXPECT(o[3] > o[0]); /* instructions emulated (Jcc skip some, REP repeats some) */
	EXPECT_EQ(o[4], o[0]);
	EXPECT_EQ(o[5], o[0]);
	vm_destroy(&vm);
}

/* FNSTENV (x87 beyond the control words: left to the CPU), CPUID and OUT (left to the hypervisor) in a
 * region run on the CPU, single-stepped, and the code goes on. */
static void unsupported_and_hypervisor_instructions_stepped(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_cpu", 0);
	kt_diag("x87: %llu entries, %llu stepped, %llu unsupported, %llu exits; CPUID stepped %llu; print "
		"stepped %llu for %llu bytes",
		o[0], o[1], o[2], o[3], o[5], o[6], o[7]);
	EXPECT_EQ(o[2], 0); /* nothing is unsupported: the x87 instruction goes to the CPU as a stop */
	EXPECT(o[1] >= 1);
	EXPECT_EQ(o[4], 0x616c7668);
	EXPECT_EQ(o[5], 1);
	EXPECT_EQ(o[6], o[7]);
	EXPECT(vm.stats.by_reason[EXIT_REASON_IO_INSTRUCTION] >= o[7]);
	EXPECT(vm.stats.by_reason[EXIT_REASON_CPUID] >= 1);
	EXPECT(!vm.step.open);
	vm_destroy(&vm);
}

/* RDRAND, INT3, INT $4, INT1, single steps (RFLAGS.TF) and a data breakpoint in a region: the
 * hypervisor completes or injects them itself (vmm/emu_glue.c), nothing is stepped on the CPU,
 * and the guest sees what it sees natively. */
static void hypervisor_finishes_without_a_step(void)
{
	struct vm vm;
	const unsigned long long *o = scenario_ok(&vm, "regions_glue", 0);
	kt_diag("RDRAND %s (CF %llu); INT3/INT 4/INT1 frames right %llu/%llu/%llu of 2; TF traps native %llu, "
		"emulated %llu, RIPs right %llu of 10, BS %llu of 5; data breakpoint native %llu, emulated %llu; "
		"%llu entries, %llu stepped",
		o[0] ? "run" : "absent", o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[13], o[11]);
	for (u32 i = 2; i <= 4; i++)
		EXPECT_EQ(o[i], 2);
	EXPECT_EQ(o[5], 5);
	EXPECT_EQ(o[6], 5);
	EXPECT_EQ(o[7], 10);
	EXPECT_EQ(o[8], 5);
	EXPECT_EQ(o[10], 1);
	kt_diag("TF over REP STOSB: trap RIPs right %llu of 14; RF in the frames native 0x%llx (Bochs pushes 0), "
		"emulated 0x%llx",
		o[14], o[15], o[16]);
	EXPECT_EQ(o[14], 14);
	EXPECT_EQ(o[16], 6); /* RF = 1 after iterations 1 and 2 of 3 */
	EXPECT_EQ(o[11], 0); /* stepped */
	EXPECT_EQ(o[12], 0); /* unsupported */
	EXPECT_EQ(vm.in_region, 0);
	EXPECT(!vm.step.open);
	vm_destroy(&vm);
}

/* Refused region calls from the guest, and HC_REGION_REMOVE of its own region from inside. */
static void bad_input_from_the_guest(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_bad", 0);
	EXPECT_EQ(o[0], (u64)-HV_EBUSY);
	EXPECT_EQ(o[1], 0);
	for (u32 i = 0; i < HV_REGION_MAX; i++)
		EXPECT(!vm.sh->regions[i].live);
	vm_destroy(&vm);
}

/* Every data access of region code, in order, with its GVA, GPA, size, kind and value. */
static void access_log_exact(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_log", 0);
	kt_diag("%llu log entries: %llu data accesses (%llu wrong), %llu fetches", o[0], o[1], o[2], o[3]);
	EXPECT_EQ(o[1], 9);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[4], HV_REGION_LOG); /* a long run: the last 256 kept */
	vm_destroy(&vm);
}

/* A GVA region's code run through another linear address of the same page is still emulated
 * (the range is derived from the faulting page), and does not loop. */
static void region_through_an_alias(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "regions_alias", 0);
	EXPECT_EQ(o[0], 610); /* fib(15) */
	EXPECT(o[1] >= 1 && o[2] > 0);
	vm_destroy(&vm);
}

KTAP_SUITE(emulated_regions_guest, vmm_setup, vmm_fini, KTAP_CASE(same_results_native_and_emulated),
	   KTAP_CASE(faults_as_the_cpu_delivers_them), KTAP_CASE(stepped_instruction_faults_cleanly),
	   KTAP_CASE(fault_frames_match_native), KTAP_CASE(paging_rights_as_the_cpu), KTAP_CASE(every_view_and_by_gpa),
	   KTAP_CASE(traps_hit_from_a_region),
	   KTAP_CASE(cpu_is_the_reference),
	   KTAP_CASE(unsupported_and_hypervisor_instructions_stepped), KTAP_CASE(hypervisor_finishes_without_a_step),
	   KTAP_CASE(bad_input_from_the_guest),
	   KTAP_CASE(access_log_exact), KTAP_CASE(region_through_an_alias));
