/* test_regions.c: suite "emulated_regions" (hypervisor side): code written at the guest's entry
 * point calls into a region page, so the exact instruction and exit counts are known. The guest
 * scenarios (workloads native vs emulated, faults, ring 3, the CPU as reference) add to it. */
#include "suites.h"
#include "../vmm/vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define REGION_GPA 0x800000UL

/* At the guest's entry: call REGION_GPA; hlt. */
static void call_region_then_hlt(struct vm *vm)
{
	u64 entry = vmcs_read(GUEST_RIP);
	u8 *p = vm_gpa(vm, entry, 6);
	s32 rel = (s32)(REGION_GPA - (entry + 5));
	p[0] = 0xe8; /* call rel32 */
	memcpy(p + 1, &rel, 4);
	p[5] = 0xf4; /* hlt */
}

/* A fresh VM whose entry calls REGION_GPA, where `code` is, registered as a region. Returns the
 * region id, or -1 (the failure is already reported). */
static s64 region_vm(struct vm *vm, const u8 *code, u64 len)
{
	if (!EXPECT_EQ(prepare_scenario(vm, "hello", 0), 0))
		return -1;
	call_region_then_hlt(vm);
	memcpy(vm_gpa(vm, REGION_GPA, len), code, len);
	s64 id = region_add(vm, HV_TRAP_GPA, REGION_GPA, PAGE_SIZE);
	EXPECT(id >= 0);
	return id;
}

/* sum = 1 + ... + 1000 in a loop: mov ecx,1000; xor eax,eax; add eax,ecx; dec ecx; jnz; ret */
static const u8 checksum[] = {0xb9, 0xe8, 0x03, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xff, 0xc9, 0x75, 0xfa, 0xc3};

static void one_exit_per_entry(void)
{
	struct vm vm;
	s64 id = region_vm(&vm, checksum, sizeof(checksum));
	ASSERT_TRUE(id >= 0);
	EXPECT_EQ(policy_leaf(&vm, 0, REGION_GPA / PAGE_SIZE) & EPT_RWX, EPT_R | EPT_W); /* no execute */
	EXPECT_EQ(view_get_access(&vm, 0, REGION_GPA), EPT_RWX); /* what the view gives: unchanged */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.regs[0], 500500);
	const struct hv_region_stats *st = &vm.sh->regions[id].stats;
	EXPECT_EQ(st->entries, 1);
	EXPECT_EQ(st->exits, 1);
	EXPECT_EQ(st->instructions, 2 + 3 * 1000 + 1); /* every instruction ran in the interpreter */
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_EPT_VIOLATION], 1); /* one exit in, none out */
	EXPECT_EQ(vm.stats.total, 2);                                 /* that one and the HLT */
	EXPECT_EQ(vm.in_region, 0);
	EXPECT_EQ(region_remove(&vm, id), 0);
	EXPECT_EQ(view_get_access(&vm, 0, REGION_GPA), EPT_RWX); /* execute is back */
	vm_destroy(&vm);
}

/* An instruction the interpreter leaves to the hypervisor (CPUID) runs on the CPU, single-
 * stepped, and exits as it would have; emulation resumes after it (a second entry). */
static void hypervisor_instruction_stepped(void)
{
	static const u8 code[] = {0xb8, 0x00, 0x00, 0x00, 0x40, /* mov eax, 0x40000000 */
				  0x0f, 0xa2,                   /* cpuid */
				  0x89, 0xd8,                   /* mov eax, ebx */
				  0xc3};
	struct vm vm;
	s64 id = region_vm(&vm, code, sizeof(code));
	ASSERT_TRUE(id >= 0);
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.regs[0], 0x616c7668); /* "hvla": CPUID answered by the hypervisor */
	EXPECT_EQ(vm.sh->regions[id].stats.stepped, 1);
	EXPECT_EQ(vm.sh->regions[id].stats.entries, 2);
	/* the first fetch, CPUID's own exit (which also ends the step: no #DB/MTF exit follows), the
	 * second fetch */
	EXPECT_EQ(vm.sh->regions[id].stats.exits, 3);
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_CPUID], 1);
	EXPECT(!vm.step.open);
	EXPECT_EQ(policy_leaf(&vm, 0, REGION_GPA / PAGE_SIZE) & EPT_RWX, EPT_R | EPT_W); /* the step's X is gone */
	vm_destroy(&vm);
}

/* An access the EPT denies, made by emulated code, is handled as the CPU's would be: by the
 * view's policy (here RESTORE: recorded, access given, retried), or as a #VE where the page is
 * convertible; the #VE is the hypervisor's even on CPUs with hardware #VE, since the CPU never
 * saw the access. Region code: mov rax, [0x900000]; ret. */
static void ept_denied_access_in_region(void)
{
	static const u8 code[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x90, 0x00, 0xc3};
	const u64 data = 0x900000;
	for (int ve = 0; ve < 2; ve++) {
		struct vm vm;
		s64 id = region_vm(&vm, code, sizeof(code));
		ASSERT_TRUE(id >= 0);
		*(u64 *)vm_gpa(&vm, data, 8) = 0xfeedface;
		ASSERT_EQ(view_create(&vm), 1);
		EXPECT_EQ(view_set_access(&vm, 1, data, PAGE_SIZE, 0), 0);
		EXPECT_EQ(view_set_policy(&vm, 1, HV_POLICY_RESTORE, 0), 0);
		if (ve) {
			EXPECT_EQ(ve_register(&vm, 0x7000), 0);
			EXPECT_EQ(view_set_ve(&vm, 1, data, PAGE_SIZE, 1), 0);
		}
		EXPECT_EQ(view_switch(&vm, 1), 0);
		if (!ve) {
			EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
			EXPECT_EQ(vm.regs[0], 0xfeedface);
			EXPECT_EQ(vm.ring_next, 1); /* one violation, recorded */
			EXPECT_EQ(vm.ring[0].gpa, data);
			EXPECT_EQ(vm.ring[0].action, HV_POLICY_RESTORE);
			/* with advanced exit information, bit 10: the boot page tables map it writable */
			EXPECT_EQ(vm.ring[0].qualification, EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GLA_VALID |
								    EPT_VIOLATION_GVA_TRANSLATED |
								    (vmx_caps.ept_adv_info ? BIT(10) : 0));
			EXPECT_EQ(vm.sh->regions[id].stats.entries, 2); /* before and after the violation */
		} else {
			/* this guest has no IDT yet: the #VE becomes a triple fault, after being delivered */
			EXPECT_EQ(run_prepared(&vm), VM_STOP_TRIPLE_FAULT);
			EXPECT_EQ(vm.stats.soft_ve, 1);
			EXPECT_EQ(vm.ve_info->gpa, data);
			EXPECT_EQ(vm.ve_info->gla, data);
			EXPECT_EQ(vm.ve_info->eptp_index, 1);
			EXPECT_EQ(vm.ve_info->qualification & 7, EPT_VIOLATION_ACC_READ);
		}
		vm_destroy(&vm);
	}
}

static void bad_input_refused(void)
{
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	EXPECT_EQ(region_add(&vm, 2, REGION_GPA, PAGE_SIZE), (u64)-HV_EINVAL);               /* kind */
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, REGION_GPA, 0), (u64)-HV_EINVAL);             /* empty */
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, REGION_GPA + 8, PAGE_SIZE), (u64)-HV_EINVAL); /* unaligned */
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, REGION_GPA, 65 * PAGE_SIZE), (u64)-HV_EINVAL);/* too big */
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, TEST_GUEST_RAM, PAGE_SIZE), (u64)-HV_EFAULT); /* out of RAM */
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, TEST_GUEST_RAM - PAGE_SIZE, 2 * PAGE_SIZE), (u64)-HV_EFAULT);
	s64 id = region_add(&vm, HV_TRAP_GPA, REGION_GPA, 2 * PAGE_SIZE);
	ASSERT_TRUE(id >= 0);
	EXPECT_EQ(region_add(&vm, HV_TRAP_GPA, REGION_GPA + PAGE_SIZE, PAGE_SIZE), (u64)-HV_EBUSY); /* overlap */
	EXPECT_EQ(trap_add(&vm, HV_TRAP_GPA, REGION_GPA, HV_ACCESS_W), (u64)-HV_EBUSY);
	/* the view's rights may change under a region (docs/views.md); the region still takes X */
	EXPECT_EQ(view_set_access(&vm, 0, REGION_GPA, PAGE_SIZE, EPT_RWX), 0);
	EXPECT_EQ(policy_leaf(&vm, 0, REGION_GPA / PAGE_SIZE) & EPT_RWX, EPT_R | EPT_W);
	EXPECT_EQ(region_remove(&vm, id + 1), (u64)-HV_EINVAL);
	EXPECT_EQ(region_stats(&vm, id, 0x6004), (u64)-HV_EINVAL);
	EXPECT_EQ(region_log(&vm, id, 2), (u64)-HV_EINVAL);
	EXPECT_EQ(region_log_read(&vm, id, TEST_GUEST_RAM, 1), (u64)-HV_EFAULT);
	vm.in_region = id + 1; /* as while a hypercall comes from inside the region */
	EXPECT_EQ(region_remove(&vm, id), (u64)-HV_EBUSY);
	vm.in_region = 0;
	EXPECT_EQ(region_remove(&vm, id), 0);
	vm_destroy(&vm);
}

/* The interpreter runs 64-bit code only: a guest that enters a region in compatibility mode
 * (CS.L = 0, CS.D = 1, still IA-32e) is stopped at the first fetch, nothing interpreted. */
static void compatibility_mode_refused(void)
{
	struct vm vm;
	s64 id = region_vm(&vm, checksum, sizeof(checksum));
	ASSERT_TRUE(id >= 0);
	vmcs_write(GUEST_RIP, REGION_GPA);
	vmcs_write(GUEST_CS_AR_BYTES, 0xc09b); /* present, S, code exec/read/accessed, D, G; no L */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_BAD_GUEST);
	EXPECT_EQ(vm.stop_gpa, REGION_GPA);
	EXPECT_EQ(vm.sh->regions[id].stats.entries, 1);
	EXPECT_EQ(vm.sh->regions[id].stats.instructions, 0);
	EXPECT_EQ(vm.in_region, 0);
	vm_destroy(&vm);
}

/* The interpreter sees the guest's FS and GS bases (load_state, exercise 09): region code
 * mov rax, fs:[8]; mov rcx, gs:[16]; ret. */
static void fs_gs_bases_loaded(void)
{
	static const u8 code[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0, /* mov rax, fs:[8] */
				  0x65, 0x48, 0x8b, 0x0c, 0x25, 0x10, 0, 0, 0, /* mov rcx, gs:[16] */
				  0xc3};
	struct vm vm;
	s64 id = region_vm(&vm, code, sizeof(code));
	ASSERT_TRUE(id >= 0);
	vmcs_write(GUEST_FS_BASE, 0x900000);
	vmcs_write(GUEST_GS_BASE, 0x901000);
	*(u64 *)vm_gpa(&vm, 0x900008, 8) = 0xf5f5f5f5f5f5f5f5UL;
	*(u64 *)vm_gpa(&vm, 0x901010, 8) = 0x6565656565656565UL;
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.regs[0], 0xf5f5f5f5f5f5f5f5UL);
	EXPECT_EQ(vm.regs[1], 0x6565656565656565UL);
	EXPECT_EQ(vm.sh->regions[id].stats.instructions, 3); /* interpreted, not run on the CPU */
	vm_destroy(&vm);
}

/* The interpreter's CR2 is the guest's, which the VMCS does not hold: it is still in the CPU at
 * the exit (load_state, exercise 09). The interpreter delivers its own #PFs through the real
 * CR2 and leaves MOV from CR2 to the CPU, so only its state shows it. */
static void cr2_loaded(void)
{
	const u64 cr2 = 0x7f0000c2c000UL;
	struct vm vm;
	s64 id = region_vm(&vm, checksum, sizeof(checksum));
	ASSERT_TRUE(id >= 0);
	write_cr2(cr2); /* as if the guest's last #PF had been at cr2 */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.regs[0], 500500);
	ASSERT_TRUE(vm.emu != NULL);
	EXPECT_EQ(vm.emu->cpu.cr2, cr2);
	EXPECT_EQ(vm.emu->cpu.cr3, vmcs_read(GUEST_CR3));
	vm_destroy(&vm);
}

KTAP_SUITE(emulated_regions, vmm_setup, vmm_fini, KTAP_CASE(one_exit_per_entry), KTAP_CASE(hypervisor_instruction_stepped),
	   KTAP_CASE(ept_denied_access_in_region), KTAP_CASE(bad_input_refused), KTAP_CASE(compatibility_mode_refused),
	   KTAP_CASE(fs_gs_bases_loaded), KTAP_CASE(cr2_loaded));
