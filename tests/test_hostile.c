/* test_hostile.c: suite "hostile": a guest that attacks the hypervisor (issue 11). Each case
 * fails if the hypervisor crashes (the boot has no result line), hangs (the runner's timeout;
 * now the watchdog), or lets the attack through; after every run the policy invariant holds
 * (every leaf equals what policy.c computes), no step is left open, and every page given to
 * the VM comes back. The guest side is guest/scen_hostile.c; the cases on views, remaps and
 * monitors are in tests/hostile_views.c (guest/scen_hviews.c, scen_hrules.c). */
#include "suites.h"
#include "hostile.h"
#include "../kernel/x86.h"

/* Run scenario `name` with `arg` on a fresh VM with a watchdog of `watchdog_ms` (0: the
 * default), check the invariants after it, and return its stop reason; out[] copied to *out. */
static enum vm_stop run_checked(const char *name, u64 arg, u64 watchdog_ms, unsigned long long *out)
{
	struct vm vm;
	u64 free0 = kalloc_free_count();
	enum vm_stop stop = VM_STOP_ENTRY_FAILED;
	if (prepare_scenario(&vm, name, arg) == 0) {
		if (watchdog_ms)
			vm.watchdog_tsc = tsc_hz() / 1000 * watchdog_ms;
		stop = run_prepared(&vm);
		if (stop == VM_STOP_EXIT)
			EXPECT_EQ(vm.exit_status, 0);
		memcpy(out, vm_boot_info(&vm)->out, 32 * sizeof(*out));
		EXPECT_EQ(policy_check(&vm, true), 0);
		EXPECT(!vm.step.open);
		EXPECT_EQ(vm.in_region, 0);
	}
	vm_destroy(&vm);
	EXPECT_EQ(kalloc_free_count(), free0);
	return stop;
}

/* INT n in region code, its handler leaving the view by VMFUNC and destroying it: no step is
 * open (INT n is injected, not stepped), the frame has no TF, the code after the INT is emulated
 * again. */
static void int_in_region_view_dies(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 1, 0, o), VM_STOP_EXIT);
	kt_diag("INT handler calls %llu, TF in its frame %llu, HC_VIEW_DESTROY %ld, instructions %llu, stepped %llu, "
		"entries %llu", o[0], o[1], (s64)o[2], o[3], o[4], o[5]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[3], 3);
	EXPECT_EQ(o[4], 0);
	EXPECT_EQ(o[5], 2);
	EXPECT_EQ(o[6], 8);
}

/* An instruction stepped on the CPU for a region writes a trapped page: counted once, written
 * as natively, the guest goes on. */
static void trapped_write_during_step(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 2, 0, o), VM_STOP_EXIT);
	kt_diag("trap hits %llu, bytes differing from native SGDT %llu, stepped %llu", o[0], o[1], o[2]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[2], 1);
}

/* ICEBP in a region and on an execute-trapped page: the guest's #DB exactly as natively. */
static void icebp_reaches_the_guest(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 3, 0, o), VM_STOP_EXIT);
	kt_diag("native #DBs %llu; differences: region %llu, trapped page %llu; trap hits %llu", o[0], o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[3], 3);
}

/* The guest's own RFLAGS.TF over region code: one #DB per instruction, as natively. */
static void guest_single_steps_a_region(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 4, 0, o), VM_STOP_EXIT);
	kt_diag("native #DBs %llu, differences %llu", o[0], o[1]);
	EXPECT_EQ(o[0], 9);
	EXPECT_EQ(o[1], 0);
}

/* IRETQ (stepped on the CPU) loading RFLAGS with TF and without: as natively. */
static void iret_loads_rflags_in_a_step(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 5, 0, o), VM_STOP_EXIT);
	kt_diag("native #DBs %llu; differences with TF %llu, without %llu; results differing %llu", o[0], o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 3);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[2], 0);
	EXPECT_EQ(o[3], 0);
}

/* SYSCALL in a region (stepped): the RFLAGS it saves in R11 are the guest's, without our TF. */
static void syscall_saves_the_guests_rflags(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 6, 0, o), VM_STOP_EXIT);
	kt_diag("R11 natively 0x%llx, from the region 0x%llx; stepped %llu", o[0], o[1], o[2]);
	EXPECT_EQ(o[1], o[0]);
	EXPECT_EQ(o[0] & X86_RFLAGS_TF, 0);
	EXPECT_EQ(o[2], 1);
}

/* MOV SS in a region: a TF step would run two instructions, so without a working MTF the guest
 * is stopped with a report; with MTF it is stepped. Either way nothing runs unmonitored. */
static void mov_ss_never_runs_two(void)
{
	unsigned long long o[32] = {0};
	enum vm_stop stop = run_checked("hostile", 7, 0, o);
	kt_diag("stopped by %s (single steps by %s)", vm_stop_str(stop), step_mtf_works() ? "MTF" : "RFLAGS.TF");
	EXPECT_EQ(stop, step_mtf_works() ? VM_STOP_EXIT : VM_STOP_BAD_GUEST);
}

/* An exception whose frame the CPU pushes onto a write-trapped page: the delivery is stepped
 * with MTF or a preemption timer of 0 and counted; on a CPU with neither (simulated by hiding
 * the timer) the guest is stopped with a report, never stepped with TF. */
static void delivery_through_a_trapped_frame(void)
{
	unsigned long long o[32] = {0};
	EXPECT_EQ(run_checked("hostile", 8, 0, o), VM_STOP_EXIT);
	kt_diag("#UDs %llu, TF in the frame %llu, frame RIP right %llu, trap hits %llu", o[0], o[1], o[2], o[3]);
	EXPECT_EQ(o[0], 1);
	EXPECT_EQ(o[1], 0);
	EXPECT_EQ(o[2], 1);
	EXPECT(o[3] >= 1);
	if (step_mtf_works())
		return kt_diag("the case without MTF and timer is not simulated where MTF works");
	bool timer = vmx_caps.preemption_timer;
	vmx_caps.preemption_timer = false;
	enum vm_stop stop = run_checked("hostile", 8, 0, o);
	vmx_caps.preemption_timer = timer;
	EXPECT_EQ(stop, VM_STOP_BAD_GUEST);
}

/* A guest that never ends is stopped by the watchdog with a report: a loop with no exits (the
 * VMX-preemption timer), the same loop as an emulated region (the region's deadline checks), an
 * exit storm (the check at every exit). */
static void watchdog_stops_endless_guests(void)
{
	static const char *const what[] = {"native loop", "region loop", "exit storm"};
	unsigned long long o[32];
	for (u64 arg = 0; arg < 3; arg++) {
		if (arg == 0 && !vmx_caps.preemption_timer) {
			kt_diag("native loop skipped: this CPU has no VMX-preemption timer");
			continue;
		}
		u64 t0 = rdtsc();
		enum vm_stop stop = run_checked("spin", arg, 200, o);
		kt_diag("%s: stopped by %s after %lu ms", what[arg], vm_stop_str(stop), (rdtsc() - t0) / (tsc_hz() / 1000));
		EXPECT_EQ(stop, VM_STOP_WATCHDOG);
	}
}

KTAP_SUITE(hostile, vmm_setup, vmm_fini, KTAP_CASE(int_in_region_view_dies), KTAP_CASE(trapped_write_during_step),
	   KTAP_CASE(icebp_reaches_the_guest), KTAP_CASE(guest_single_steps_a_region),
	   KTAP_CASE(iret_loads_rflags_in_a_step), KTAP_CASE(syscall_saves_the_guests_rflags),
	   KTAP_CASE(mov_ss_never_runs_two), KTAP_CASE(delivery_through_a_trapped_frame),
	   KTAP_CASE(watchdog_stops_endless_guests), KTAP_CASE(hostile_region_reads_remapped_frame),
	   KTAP_CASE(hostile_region_write_denied_by_view), KTAP_CASE(hostile_remap_onto_region_frame),
	   KTAP_CASE(hostile_remap_onto_trapped_frame), KTAP_CASE(hostile_rights_change_under_monitor),
	   KTAP_CASE(hostile_ve_on_monitored_page), KTAP_CASE(hostile_region_fetch_without_view_x),
	   KTAP_CASE(hostile_gva_monitor_through_remap), KTAP_CASE(hostile_monitor_removal_gives_view_rights),
	   KTAP_CASE(hostile_get_access_is_the_views), KTAP_CASE(hostile_vmfunc_inside_region_code),
	   KTAP_CASE(hostile_vmfunc_between_region_calls), KTAP_CASE(hostile_region_rewrites_page_tables),
	   KTAP_CASE(hostile_region_rewrites_its_code));
