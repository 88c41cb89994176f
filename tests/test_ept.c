/* test_ept.c: suites "ept_identity" and "ept_split": the guest reaches all of its RAM and
 * nothing else; splitting large EPT pages keeps contents and permissions. */
#include "suites.h"
#include "../vmm/vmcs.h"

static void all_ram_and_no_more(void)
{
	struct vm vm;
	u64 outside = TEST_GUEST_RAM + (2UL << 20); /* beyond RAM, inside the guest's 1 GiB map */
	ASSERT_RUN(&vm, "ept_identity", outside, VM_STOP_EPT_VIOLATION);
	EXPECT_EQ(vm.stop_gpa, outside);
	EXPECT(vm.stop_qual & EPT_VIOLATION_ACC_READ);
	EXPECT(!(vm.stop_qual & (EPT_VIOLATION_READABLE | EPT_VIOLATION_WRITABLE | EPT_VIOLATION_EXECUTABLE)));
	EXPECT(vm.stop_qual & EPT_VIOLATION_GLA_VALID);
	EXPECT_EQ(vm.stop_gla, outside);
	u64 pages = vm_boot_info(&vm)->out[0];
	EXPECT(pages > (TEST_GUEST_RAM >> 12) / 2); /* most of RAM was written and read back */
	kt_diag("guest checked %lu pages", pages);
	vm_destroy(&vm);
}

/* A write-only EPT entry is a misconfiguration (SDM "EPT Misconfigurations"): reported with
 * its GPA, and the guest is stopped. */
static void misconfiguration_reported(void)
{
	struct vm vm;
	int level;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	u64 code = vmcs_read(GUEST_RIP) & ~0xfffUL; /* the guest's first code page */
	ASSERT_EQ(ept_split_4k(&vm.sh->views[0], code), 0);
	u64 *leaf = ept_leaf(&vm.sh->views[0], code, &level);
	*leaf = (*leaf & ~EPT_RWX) | EPT_W;
	EXPECT_EQ(vm_invalidate(&vm), 0);
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EPT_MISCONFIG);
	EXPECT_EQ(vm.stop_gpa & ~0xfffUL, code);
	vm_destroy(&vm);
}

KTAP_SUITE(ept_identity, vmm_setup, vmm_fini, KTAP_CASE(all_ram_and_no_more), KTAP_CASE(misconfiguration_reported));

/* Host-side: a split keeps every translation and permission. */
static void split_keeps_mapping(void)
{
	struct vm vm;
	int level;
	ASSERT_EQ(test_vm_create(&vm), 0);
	u64 *leaf = ept_leaf(&vm.sh->views[0], 4UL << 20, &level);
	ASSERT_TRUE(leaf != NULL);
	EXPECT_EQ(level, vmx_caps.ept_2m ? 2 : 1);
	*leaf &= ~EPT_W; /* a permission that must survive the split */
	u64 tables = vm.sh->views[0].tables;
	EXPECT_EQ(ept_split_4k(&vm.sh->views[0], (4UL << 20) + 0x3000), 0);
	EXPECT_EQ(vm.sh->views[0].tables, tables + (vmx_caps.ept_2m ? 1 : 0));
	bool same = true;
	for (u64 gpa = 4UL << 20; gpa < (6UL << 20); gpa += PAGE_SIZE) {
		u64 *e = ept_leaf(&vm.sh->views[0], gpa, &level);
		same &= e && level == 1 && ept_translate(&vm.sh->views[0], gpa) == (u64)vm.ram + gpa &&
			(*e & EPT_PERM_MASK) == ((EPT_RWX | EPT_SUPPRESS_VE) & ~EPT_W);
	}
	EXPECT(same);
	EXPECT_EQ(ept_split(&vm.sh->views[0], TEST_GUEST_RAM), (u64)-1); /* not mapped: refused */
	vm_destroy(&vm);
}

/* Guest-visible: a pattern written before splitting every large page reads back after. */
static void split_keeps_content(void)
{
	struct vm vm;
	u64 seed = 0x5eed;
	ASSERT_RUN(&vm, "pattern_write", seed, VM_STOP_EXIT);
	u64 before = vm.sh->views[0].tables;
	for (u64 gpa = 0; gpa < TEST_GUEST_RAM; gpa += 2UL << 20)
		EXPECT_EQ(ept_split_4k(&vm.sh->views[0], gpa), 0);
	EXPECT_EQ(vm_invalidate(&vm), 0);
	kt_diag("EPT table pages: %lu before the split, %lu after", before, vm.sh->views[0].tables);
	EXPECT_EQ(vm_boot(&vm, "pattern_check", seed), 0);
	EXPECT_EQ(vm_run(&vm), VM_STOP_EXIT);
	EXPECT_EQ(vm.exit_status, 0);
	EXPECT_EQ(vm_boot_info(&vm)->out[0], 0); /* mismatches */
	vm_destroy(&vm);
}

KTAP_SUITE(ept_split, vmm_setup, vmm_fini, KTAP_CASE(split_keeps_mapping), KTAP_CASE(split_keeps_content));
