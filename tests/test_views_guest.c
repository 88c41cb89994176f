/* test_views_guest.c: suites "ept_access", "vmfunc", "ve", "traps" and the guest-visible cases
 * of "views": the guest scenarios of the same names make the guest-side checks; these cases
 * check what only the hypervisor knows: exit counts, which path (hardware or software) was
 * taken, and that hardware and software #VE give the guest the same information. The guest
 * cases of "views" are in test_views.c. */
#include "suites.h"
#include "../vmm/vmcs.h"

/* Rights x {read, write, fetch} x {exit, #VE}: 9 of the 18 (rights, access) pairs violate
 * with execute-only pages, 7 of 15 without. */
static void permission_matrix(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "ept_access", 0);
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

/* 2000 view switches: no VM exit at all with the CPU's VMFUNC; one #UD exit each without. */
static void switch_without_exits(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "vmfunc", 0);
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

/* #VE fields and conversion rules (guest side), with the CPU's #VE where it has one and the
 * hypervisor's otherwise. */
static void fields_and_rules(void)
{
	struct vm vm;
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "ve", 0);
	EXPECT_EQ(o[0], EXIT_REASON_EPT_VIOLATION);
	EXPECT_EQ(o[4], 1); /* EPTP index: view 1 */
	EXPECT_EQ(vm.stats.soft_ve, vmx_caps.ept_violation_ve ? 0 : o[5]);
	kt_diag("%llu #VEs delivered by the %s", o[5], vmx_caps.ept_violation_ve ? "CPU" : "hypervisor");
	vm_destroy(&vm);
}

/* The guest's #VE handler cannot tell the CPU's #VE from ours: the same scenario with the #VEs
 * injected by the hypervisor leaves the same fields. */
static void hardware_and_software_alike(void)
{
	if (!vmx_caps.ept_violation_ve)
		SKIP("this CPU has no EPT-violation #VE to compare with (the software #VE is checked above)");
	struct vm vm;
	unsigned long long hw[6];
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "ve", 0);
	memcpy(hw, o, sizeof(hw));
	vm_destroy(&vm);
	ASSERT_EQ(prepare_scenario(&vm, "ve", 0), 0);
	vm.ve_soft_only = true;
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT);
	EXPECT_EQ(vm.exit_status, 0);
	const unsigned long long *sw = vm_boot_info(&vm)->out;
	for (int i = 0; i < 6; i++)
		if (!EXPECT_EQ(sw[i], hw[i]))
			kt_diag("out[%d]: hardware 0x%llx, software 0x%llx", i, hw[i], sw[i]);
	EXPECT_EQ(vm.stats.soft_ve, hw[5]);
	vm_destroy(&vm);
}

KTAP_SUITE(ve, vmm_setup, vmm_fini, KTAP_CASE(fields_and_rules), KTAP_CASE(hardware_and_software_alike));

static void hits_counted_once(void)
{
	struct vm vm;
	ASSERT_SCENARIO_OK(&vm, "traps", 0);
	for (u32 t = 0; t < HV_TRAP_MAX; t++)
		EXPECT(!vm.sh->pol.traps[t].live || vm.sh->pol.traps[t].hits > 0);
	EXPECT(!vm.step.open);
	vm_destroy(&vm);
}

/* Only accesses of the trapped kind count: with a read trap (which must also remove W, EPT has
 * no write-only), a read then a write of the page make two violations and one hit, and both
 * accesses complete. Code written at the guest's entry point: mov rax,[P]; mov [P],rax; hlt. */
static void only_its_kind_counts(void)
{
	struct vm vm;
	const u64 page = 0x800000;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	u8 *code = vm_gpa(&vm, vmcs_read(GUEST_RIP), 17);
	memcpy(code, "\x48\x8b\x04\x25\x00\x00\x80\x00\x48\x89\x04\x25\x00\x00\x80\x00\xf4", 17);
	*(u64 *)vm_gpa(&vm, page, 8) = 0x1122334455667788UL;
	s64 t = trap_add(&vm, HV_TRAP_GPA, page, HV_ACCESS_R);
	ASSERT_TRUE(t >= 0);
	EXPECT(vm.sh->pol.trap[page / PAGE_SIZE] == t + 1 && !vm.sh->pol.trap[page / PAGE_SIZE + 1]);
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.sh->pol.traps[t].hits, 1);
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_EPT_VIOLATION], 2);
	EXPECT_EQ(vm.regs[0], 0x1122334455667788UL);
	EXPECT_EQ(*(u64 *)vm_gpa(&vm, page, 8), 0x1122334455667788UL);
	EXPECT(!vm.step.open);
	EXPECT_EQ(trap_remove(&vm, t), 0);
	EXPECT(!vm.sh->pol.trap[page / PAGE_SIZE]);
	EXPECT_EQ(policy_leaf(&vm, 0, page / PAGE_SIZE) & EPT_RWX, EPT_RWX); /* the rights are back */
	vm_destroy(&vm);
}

KTAP_SUITE(traps, vmm_setup, vmm_fini, KTAP_CASE(hits_counted_once), KTAP_CASE(only_its_kind_counts));
