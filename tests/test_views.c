/* test_views.c: suite "views" (hypervisor side): view limits, the EPTP list, and every bad
 * input of the view and #VE calls, each refused with its error code and changing nothing.
 * Also the guest-visible cases: a remap seen only in its view, a change effective at the next
 * access (INVEPT), the active view not destroyed. VMFUNC and #VE: test_views_guest.c. */
#include "suites.h"
#include "../vmm/vmcs.h"

/* A fingerprint of every view's leaves over the first 8 MiB: equal before and after a refused
 * call means it changed nothing. */
static u64 fingerprint(struct vm *vm)
{
	u64 h = 1469598103934665603UL;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		for (u64 gpa = 0; vm->sh->view_live[v] && gpa < (8UL << 20); gpa += PAGE_SIZE) {
			int level;
			u64 *e = ept_leaf(&vm->sh->views[v], gpa, &level);
			h = (h ^ (e ? *e : 0) ^ (u64)level ^ v) * 1099511628211UL;
		}
	return h ^ (u64)vm->ve_info ^ vm->sh->eptp_list[1];
}

static void create_destroy_limits(void)
{
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	for (u64 v = 1; v < HV_VIEW_MAX; v++)
		EXPECT_EQ(view_create(&vm), v);
	EXPECT_EQ(view_create(&vm), (u64)-HV_ENOSPC);
	for (u64 v = 1; v < HV_VIEW_MAX; v++)
		EXPECT_EQ(vm.sh->eptp_list[v], ept_eptp(&vm.sh->views[v]));
	EXPECT_EQ(vm.sh->eptp_list[HV_VIEW_MAX], 0);
	EXPECT_EQ(view_destroy(&vm, 5), 0);
	EXPECT_EQ(vm.sh->eptp_list[5], 0);
	EXPECT_EQ(view_destroy(&vm, 5), (u64)-HV_EINVAL); /* already gone */
	EXPECT_EQ(view_create(&vm), 5);                  /* the slot is reused */
	u64 before = kalloc_free_count();
	for (u64 v = 1; v < HV_VIEW_MAX; v++)
		EXPECT_EQ(view_destroy(&vm, v), 0);
	EXPECT(kalloc_free_count() > before); /* their tables were given back */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT); /* and the guest still runs in view 0 */
	vm_destroy(&vm);
}

static void bad_input_refused(void)
{
	struct vm vm;
	u64 ram = TEST_GUEST_RAM;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	ASSERT_EQ(view_create(&vm), 1);
	ASSERT_EQ(view_switch(&vm, 1), 0);
	u64 fp = fingerprint(&vm);
	EXPECT_EQ(view_set_access(&vm, 99, 0x200000, PAGE_SIZE, HV_ACCESS_R), (u64)-HV_EINVAL);  /* no view */
	EXPECT_EQ(view_set_access(&vm, 2, 0x200000, PAGE_SIZE, HV_ACCESS_R), (u64)-HV_EINVAL);   /* not live */
	EXPECT_EQ(view_set_access(&vm, 1, 0x200800, PAGE_SIZE, HV_ACCESS_R), (u64)-HV_EINVAL);   /* unaligned */
	EXPECT_EQ(view_set_access(&vm, 1, 0x200000, 0x800, HV_ACCESS_R), (u64)-HV_EINVAL);       /* partial page */
	EXPECT_EQ(view_set_access(&vm, 1, 0x200000, 0, HV_ACCESS_R), (u64)-HV_EINVAL);           /* empty */
	EXPECT_EQ(view_set_access(&vm, 1, ram, PAGE_SIZE, HV_ACCESS_R), (u64)-HV_EFAULT);        /* past RAM */
	EXPECT_EQ(view_set_access(&vm, 1, ram - PAGE_SIZE, 2 * PAGE_SIZE, HV_ACCESS_R), (u64)-HV_EFAULT);
	EXPECT_EQ(view_set_access(&vm, 1, PAGE_SIZE, ~0UL - 4095, HV_ACCESS_R), (u64)-HV_EFAULT); /* wraps */
	EXPECT_EQ(view_set_access(&vm, 1, 0x200000, PAGE_SIZE, HV_ACCESS_W), (u64)-HV_EINVAL);   /* W without R */
	EXPECT_EQ(view_set_access(&vm, 1, 0x200000, PAGE_SIZE, HV_ACCESS_W | HV_ACCESS_X), (u64)-HV_EINVAL);
	EXPECT_EQ(view_set_access(&vm, 1, 0x200000, PAGE_SIZE, 8), (u64)-HV_EINVAL);             /* not a right */
	if (!vmx_caps.ept_execute_only)
		EXPECT_EQ(view_set_access(&vm, 1, 0x200000, PAGE_SIZE, HV_ACCESS_X), (u64)-HV_EINVAL);
	EXPECT_EQ(view_get_access(&vm, 3, 0), (u64)-HV_EINVAL);
	EXPECT_EQ(view_get_access(&vm, 1, ram), (u64)-HV_EFAULT);
	EXPECT_EQ(view_set_ve(&vm, 1, 0x200000, PAGE_SIZE, 2), (u64)-HV_EINVAL);
	EXPECT_EQ(view_set_ve(&vm, 1, ram, PAGE_SIZE, 1), (u64)-HV_EFAULT);
	EXPECT_EQ(view_remap(&vm, 1, 0x200000, ram), (u64)-HV_EFAULT);                           /* target past RAM */
	EXPECT_EQ(view_remap(&vm, 1, 0x200010, 0x300000), (u64)-HV_EINVAL);
	EXPECT_EQ(view_destroy(&vm, 0), (u64)-HV_EINVAL);     /* view 0 is never destroyed */
	EXPECT_EQ(view_destroy(&vm, 1), (u64)-HV_EBUSY);      /* the vCPU is in it */
	EXPECT_EQ(view_switch(&vm, 7), (u64)-HV_EINVAL);
	EXPECT_EQ(view_set_policy(&vm, 1, 9, 0), (u64)-HV_EINVAL);
	EXPECT_EQ(view_set_policy(&vm, 1, HV_POLICY_SWITCH, 9), (u64)-HV_EINVAL);
	EXPECT_EQ(ve_register(&vm, 0x5800), (u64)-HV_EINVAL);                /* unaligned */
	EXPECT_EQ(ve_register(&vm, ram), (u64)-HV_EFAULT);                   /* outside RAM */
	EXPECT_EQ(ve_register(&vm, (u64)vm.vmcs | (1UL << 40)), (u64)-HV_EFAULT); /* a host address */
	EXPECT_EQ(trap_add(&vm, 2, 0x200000, HV_ACCESS_W), (u64)-HV_EINVAL); /* no such kind */
	EXPECT_EQ(trap_add(&vm, HV_TRAP_GPA, 0x200000, 0), (u64)-HV_EINVAL); /* traps nothing */
	EXPECT_EQ(trap_add(&vm, HV_TRAP_GPA, ram, HV_ACCESS_W), (u64)-HV_EFAULT);
	EXPECT_EQ(trap_remove(&vm, 3), (u64)-HV_EINVAL);
	EXPECT_EQ(trap_hits(&vm, HV_TRAP_MAX), (u64)-HV_EINVAL);
	EXPECT_EQ(violations_read(&vm, 0x6004, 4), (u64)-HV_EINVAL);        /* unaligned buffer */
	EXPECT_EQ(violations_read(&vm, ram - 8, 4), (u64)-HV_EFAULT);
	EXPECT_EQ(fingerprint(&vm), fp); /* nothing changed */
	EXPECT_EQ(view_switch(&vm, 0), 1);
	/* A view another view's policy switches to cannot go: a later violation would loop. */
	ASSERT_EQ(view_create(&vm), 2);
	EXPECT_EQ(view_set_policy(&vm, 1, HV_POLICY_SWITCH, 2), 0);
	EXPECT_EQ(view_destroy(&vm, 2), (u64)-HV_EBUSY);
	EXPECT_EQ(view_set_policy(&vm, 1, HV_POLICY_STOP, 0), 0);
	EXPECT_EQ(view_destroy(&vm, 2), 0);
	/* Composition (docs/views.md, "One policy per page"): a trap may sit on a page with #VE
	 * on; the leaf keeps #VE suppressed so that the hypervisor sees the violations first. One
	 * monitor per frame. */
	EXPECT_EQ(view_set_ve(&vm, 1, 0x900000, PAGE_SIZE, 1), 0);
	EXPECT(!(policy_leaf(&vm, 1, 0x900) & EPT_SUPPRESS_VE));
	s64 t = trap_add(&vm, HV_TRAP_GPA, 0x900000, HV_ACCESS_W);
	EXPECT(t >= 0);
	EXPECT(policy_leaf(&vm, 1, 0x900) & EPT_SUPPRESS_VE);
	EXPECT_EQ(trap_add(&vm, HV_TRAP_GPA, 0x900000, HV_ACCESS_R), (u64)-HV_EBUSY);
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, 0x900000, PAGE_SIZE), (u64)-HV_EBUSY);
	EXPECT_EQ(trap_remove(&vm, t), 0);
	EXPECT(!(policy_leaf(&vm, 1, 0x900) & EPT_SUPPRESS_VE)); /* the guest's #VE setting is back */
	t = trap_add(&vm, HV_TRAP_GPA, 0x901000, HV_ACCESS_R);
	EXPECT(t >= 0);
	/* A read trap removes R and W from the leaf, and X too where execute-only pages do not
	 * exist; the rights the view gives stay what the guest set. */
	EXPECT_EQ(policy_leaf(&vm, 0, 0x901) & EPT_RWX, vmx_caps.ept_execute_only ? EPT_X : 0);
	EXPECT_EQ(view_get_access(&vm, 0, 0x901000), EPT_RWX);
	EXPECT_EQ(policy_check(&vm, true), 0);
	vm_destroy(&vm);
}

/* Permissions change only where asked: large pages are split only at the edges of a range. */
static void split_only_where_needed(void)
{
	struct vm vm;
	int level;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	ASSERT_EQ(view_create(&vm), 1);
	u64 tables = vm.sh->views[1].tables;
	EXPECT_EQ(view_set_access(&vm, 1, 4UL << 20, 4UL << 20, HV_ACCESS_R), 0); /* two whole 2 MiB pages */
	EXPECT_EQ(vm.sh->views[1].tables, tables);
	EXPECT(ept_leaf(&vm.sh->views[1], 5UL << 20, &level) && level == (vmx_caps.ept_2m ? 2 : 1));
	EXPECT_EQ(view_set_access(&vm, 1, (8UL << 20) + PAGE_SIZE, PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_X), 0);
	EXPECT_EQ(vm.sh->views[1].tables, tables + (vmx_caps.ept_2m ? 1 : 0));
	EXPECT_EQ(view_get_access(&vm, 1, (8UL << 20) + PAGE_SIZE), HV_ACCESS_R | HV_ACCESS_X);
	EXPECT_EQ(view_get_access(&vm, 1, 8UL << 20), EPT_RWX);
	EXPECT_EQ(view_get_access(&vm, 0, 5UL << 20), EPT_RWX); /* other views untouched */
	EXPECT_EQ(view_remap(&vm, 1, 0x300000, 0x301000), 0);
	EXPECT_EQ(ept_translate(&vm.sh->views[1], 0x300010), (u64)vm.ram + 0x301010);
	/* Every change invalidates that view's cached translations. Bochs drops them on every VM
	 * entry anyway, so the guest-side "touch, change, touch" test (views_invept) cannot see a
	 * missing INVEPT there: this checks the call itself. */
	u64 n = vm.invepts;
	EXPECT_EQ(view_set_access(&vm, 1, 0x400000, PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_W), 0);
	EXPECT_EQ(view_set_ve(&vm, 1, 0x400000, PAGE_SIZE, 1), 0);
	EXPECT_EQ(view_remap(&vm, 1, 0x401000, 0x402000), 0);
	EXPECT_EQ(vm.invepts, n + 3);
	EXPECT_EQ(vm.last_invept_eptp, ept_eptp(&vm.sh->views[1]));
	EXPECT_EQ(ept_translate(&vm.sh->views[0], 0x300010), (u64)vm.ram + 0x300010);
	vm_destroy(&vm);
}

/* Guest-visible: the guest scenarios of the same names check what the guest sees. */
static void remap_visible_only_in_its_view(void)
{
	struct vm vm;
	ASSERT_SCENARIO_OK(&vm, "views_remap", 0);
	vm_destroy(&vm);
}

static void change_takes_effect_at_once(void)
{
	struct vm vm;
	ASSERT_SCENARIO_OK(&vm, "views_invept", 0);
	EXPECT(vm.stats.by_reason[EXIT_REASON_EPT_VIOLATION] >= 3);
	vm_destroy(&vm);
}

static void active_view_not_destroyed(void)
{
	struct vm vm;
	ASSERT_SCENARIO_OK(&vm, "views_busy", 0);
	EXPECT(vm.stats.hypercall_errors >= 8);
	vm_destroy(&vm);
}

/* A switch the hypervisor makes (the hypercall, emulated VMFUNC, a SWITCH policy) updates
 * vm->view, which the policy layer and the interpreter read without asking the VMCS
 * (exercise 07). */
static void switch_sets_the_view(void)
{
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	ASSERT_EQ(view_create(&vm), 1);
	ASSERT_EQ(view_create(&vm), 2);
	EXPECT_EQ(view_switch(&vm, 2), 0);
	EXPECT_EQ(vmcs_read(EPT_POINTER), ept_eptp(&vm.sh->views[2]));
	EXPECT_EQ(vm.view, 2);
	EXPECT_EQ(view_switch(&vm, 1), 2);
	EXPECT_EQ(vm.view, 1);
	EXPECT_EQ(vmcs_read(EPT_POINTER), ept_eptp(&vm.sh->views[1]));
	vm_destroy(&vm);
}

/* Where the CPU has EPT-violation #VE, a switch the hypervisor makes keeps the VMCS's EPTP
 * index current: a #VE reports it (SDM "Virtualization Exceptions", exercise 07). Read from the
 * VMCS: Bochs 2.7 reports in its #VE the index of the last VMFUNC, not this field (its VM entry
 * never loads it), so a guest under Bochs cannot see a missing write. */
static void switch_sets_eptp_index(void)
{
	if (!vmx_caps.ept_violation_ve)
		SKIP("this CPU has no EPT-violation #VE, so no EPTP index (exercise 08's software #VE reads vm->view)");
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	ASSERT_EQ(view_create(&vm), 1);
	ASSERT_EQ(view_create(&vm), 2);
	EXPECT_EQ(vmcs_read(EPTP_INDEX), 0);
	EXPECT_EQ(view_switch(&vm, 2), 0);
	EXPECT_EQ(vmcs_read(EPTP_INDEX), 2);
	EXPECT_EQ(view_switch(&vm, 1), 2);
	EXPECT_EQ(vmcs_read(EPTP_INDEX), 1);
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT); /* the guest runs in view 1 */
	EXPECT_EQ(vmcs_read(EPTP_INDEX), 1);
	vm_destroy(&vm);
}

KTAP_SUITE(views, vmm_setup, vmm_fini, KTAP_CASE(create_destroy_limits), KTAP_CASE(bad_input_refused),
	   KTAP_CASE(split_only_where_needed), KTAP_CASE(remap_visible_only_in_its_view),
	   KTAP_CASE(change_takes_effect_at_once), KTAP_CASE(active_view_not_destroyed),
	   KTAP_CASE(switch_sets_the_view), KTAP_CASE(switch_sets_eptp_index));
