/* test_views_guest.c: suites "ept_access", "vmfunc", "ve", "traps" and the guest-visible cases
 * of "views": the guest scenarios of the same names make the guest-side checks; these cases
 * check what only the hypervisor knows: exit counts, which path (hardware or software) was
 * taken, and that hardware and software #VE give the guest the same information. */
#include "suites.h"
#include "../vmm/vmcs.h"

static const unsigned long long *scenario_ok(struct vm *vm, const char *name, u64 arg)
{
	EXPECT_EQ(run_scenario(vm, name, arg), VM_STOP_EXIT);
	EXPECT_EQ(vm->exit_status, 0);
	return vm_boot_info(vm)->out;
}

/* Rights x {read, write, fetch} x {exit, #VE}: 9 of the 18 (rights, access) pairs violate
 * with execute-only pages, 7 of 15 without. */
static void permission_matrix(void)
{
	struct vm vm;
	const unsigned long long *o = scenario_ok(&vm, "ept_access", 0);
	bool xo = o[3];
	EXPECT_EQ(xo, vmx_caps.ept_execute_only);
	EXPECT_EQ(o[0], xo ? 36 : 30);
	EXPECT_EQ(o[1], xo ? 9 : 7);
	EXPECT_EQ(o[2], xo ? 9 : 7);
	/* Without hardware #VE, each #VE was injected by us; with it, none was. */
	EXPECT_EQ(vm.stats.soft_ve, vmx_caps.ept_violation_ve ? 0 : o[2]);
	kt_diag("%llu cases, %llu violations as exits, %llu as #VE (%s)", o[0], o[1], o[2],
		vmx_caps.ept_violation_ve ? "hardware #VE" : "software #VE");
	vm_destroy(&vm);
}

KTAP_SUITE(ept_access, vmm_setup, vmm_fini, KTAP_CASE(permission_matrix));

static void remap_visible_only_in_its_view(void)
{
	struct vm vm;
	scenario_ok(&vm, "views_remap", 0);
	vm_destroy(&vm);
}

static void change_takes_effect_at_once(void)
{
	struct vm vm;
	scenario_ok(&vm, "views_invept", 0);
	EXPECT(vm.stats.by_reason[EXIT_REASON_EPT_VIOLATION] >= 3);
	vm_destroy(&vm);
}

static void active_view_not_destroyed(void)
{
	struct vm vm;
	scenario_ok(&vm, "views_busy", 0);
	EXPECT(vm.stats.hypercall_errors >= 8);
	vm_destroy(&vm);
}

const struct ktap_case views_guest_cases[] = {
	KTAP_CASE(remap_visible_only_in_its_view),
	KTAP_CASE(change_takes_effect_at_once),
	KTAP_CASE(active_view_not_destroyed),
};
const int views_guest_ncases = ARRAY_SIZE(views_guest_cases);

/* 2000 view switches: no VM exit at all with the CPU's VMFUNC; one #UD exit each without. */
static void switch_without_exits(void)
{
	struct vm vm;
	const unsigned long long *o = scenario_ok(&vm, "vmfunc", 0);
	EXPECT_EQ(o[0], 2000);
	if (vmx_caps.eptp_switching) {
		EXPECT_EQ(o[1], 0);
		EXPECT_EQ(o[2], 0);
	} else {
		EXPECT_EQ(o[2], 2000);
		EXPECT_EQ(o[1], 2000);
	}
	kt_diag("%s VMFUNC: %llu exits for %llu switches", vmx_caps.eptp_switching ? "hardware" : "emulated",
		o[1], o[0]);
	vm_destroy(&vm);
}

KTAP_SUITE(vmfunc, vmm_setup, vmm_fini, KTAP_CASE(switch_without_exits));

/* The guest's #VE handler cannot tell the CPU's #VE from ours: same fields, same rules. */
static void hardware_and_software_alike(void)
{
	struct vm vm;
	unsigned long long first[6];
	const unsigned long long *o = scenario_ok(&vm, "ve", 0);
	memcpy(first, o, sizeof(first));
	u64 soft = vm.stats.soft_ve;
	EXPECT_EQ(first[0], EXIT_REASON_EPT_VIOLATION);
	EXPECT_EQ(first[4], 1); /* EPTP index: view 1 */
	vm_destroy(&vm);
	if (!vmx_caps.ept_violation_ve) {
		EXPECT_EQ(soft, first[5]);
		SKIP("this CPU has no EPT-violation #VE: only the software #VE ran (and passed)");
	}
	EXPECT_EQ(soft, 0);
	ASSERT_EQ(prepare_scenario(&vm, "ve", 0), 0);
	vm.ve_soft_only = true; /* the same scenario with the #VEs injected by the hypervisor */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT);
	EXPECT_EQ(vm.exit_status, 0);
	o = vm_boot_info(&vm)->out;
	for (int i = 0; i < 6; i++)
		if (!EXPECT_EQ(o[i], first[i]))
			kt_diag("out[%d]: hardware 0x%llx, software 0x%llx", i, first[i], o[i]);
	EXPECT_EQ(vm.stats.soft_ve, first[5]);
	vm_destroy(&vm);
}

KTAP_SUITE(ve, vmm_setup, vmm_fini, KTAP_CASE(hardware_and_software_alike));

static void hits_counted_once(void)
{
	struct vm vm;
	scenario_ok(&vm, "traps", 0);
	for (u32 t = 0; t < HV_TRAP_MAX; t++)
		EXPECT(!vm.traps[t].live || vm.traps[t].hits > 0);
	EXPECT(!vm.stepping);
	vm_destroy(&vm);
}

KTAP_SUITE(traps, vmm_setup, vmm_fini, KTAP_CASE(hits_counted_once));
