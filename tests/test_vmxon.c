/* test_vmxon.c: suite "vmxon": entering and leaving VMX root operation, and the failures the
 * SDM defines for VMXON, VMXOFF and VMPTRLD ("VMX Instruction Reference"). Every case leaves
 * VMX off and CR4 as it found them. */
#include "suites.h"
#include "../vmm/vmm.h"
#include "../kernel/x86.h"

static u64 saved_cr4;

static void vmxe_on(void)
{
	saved_cr4 = read_cr4();
	write_cr4(vmx_fixed_cr4(&vmx_caps, saved_cr4 | X86_CR4_VMXE));
}

static void vmxe_off(void) { write_cr4(saved_cr4); }

static u64 vm_insn_error(void)
{
	u64 e = 0;
	__vmread(VM_INSTRUCTION_ERROR, &e);
	return e;
}

static void vmxon_vmxoff(void)
{
	ASSERT_EQ(vmx_on(), 0);
	EXPECT(read_cr4() & X86_CR4_VMXE);
	EXPECT(vmx_is_on());
	EXPECT_EQ(vmx_off(), 0);
	EXPECT(!(read_cr4() & X86_CR4_VMXE));
	EXPECT_EQ(vmx_on(), 0); /* and again: VMX can be re-entered */
	EXPECT_EQ(vmx_off(), 0);
}

/* In VMX root operation with no current VMCS, VMXON fails with VMfailInvalid. */
static void vmxon_twice_without_vmcs(void)
{
	ASSERT_EQ(vmx_on(), 0);
	u64 *region = vmx_alloc_region(&vmx_caps);
	EXPECT_EQ(__vmxon((u64)region), VMX_FAIL_INVALID);
	EXPECT_EQ(vmx_off(), 0);
	kfree_page(region);
}

/* With a current VMCS the same failure is VMfailValid with error 15. */
static void vmxon_twice_with_vmcs(void)
{
	ASSERT_EQ(vmx_on(), 0);
	void *vmcs = vmx_alloc_region(&vmx_caps), *region = vmx_alloc_region(&vmx_caps);
	EXPECT_EQ(__vmclear((u64)vmcs), VMX_OK);
	EXPECT_EQ(__vmptrld((u64)vmcs), VMX_OK);
	EXPECT_EQ(__vmxon((u64)region), VMX_FAIL_VALID);
	EXPECT_EQ(vm_insn_error(), 15);
	EXPECT(!strcmp(vmx_insn_error_str(vm_insn_error()), "VMXON executed in VMX root operation"));
	EXPECT_EQ(__vmclear((u64)vmcs), VMX_OK);
	EXPECT_EQ(vmx_off(), 0);
	kfree_page(vmcs);
	kfree_page(region);
}

static void vmxon_bad_revision(void)
{
	ASSERT_EQ(vmx_feature_control_enable(&vmx_caps), 0);
	u32 *region = vmx_alloc_region(&vmx_caps);
	region[0] ^= 1;
	vmxe_on();
	enum vmx_status s = __vmxon((u64)region);
	if (s == VMX_OK)
		__vmxoff();
	vmxe_off();
	EXPECT_EQ(s, VMX_FAIL_INVALID);
	kfree_page(region);
}

static void vmxon_unaligned(void)
{
	ASSERT_EQ(vmx_feature_control_enable(&vmx_caps), 0);
	u8 *region = vmx_alloc_region(&vmx_caps);
	vmxe_on();
	enum vmx_status s = __vmxon((u64)region + 0x800);
	if (s == VMX_OK)
		__vmxoff();
	vmxe_off();
	EXPECT_EQ(s, VMX_FAIL_INVALID);
	kfree_page(region);
}

static void try_vmxon(void *region) { __vmxon((u64)region); }
static void try_vmxoff(void *arg)
{
	(void)arg;
	__vmxoff();
}

/* VMXON with CR4.VMXE=0, and VMXOFF outside VMX operation, raise #UD. */
static void ud_outside_vmx(void)
{
	struct fault_info fi;
	void *region = vmx_alloc_region(&vmx_caps);
	ASSERT_TRUE(!(read_cr4() & X86_CR4_VMXE));
	EXPECT_EQ(trap_catch(try_vmxon, region, &fi), 6);
	EXPECT_EQ(trap_catch(try_vmxoff, NULL, &fi), 6);
	kfree_page(region);
}

static void vmptrld_failures(void)
{
	ASSERT_EQ(vmx_on(), 0);
	u32 *good = vmx_alloc_region(&vmx_caps), *bad = vmx_alloc_region(&vmx_caps);
	bad[0] ^= 1;
	EXPECT_EQ(__vmptrld((u64)good), VMX_OK);
	EXPECT_EQ(__vmptrld((u64)bad), VMX_FAIL_VALID);
	EXPECT_EQ(vm_insn_error(), 11); /* incorrect VMCS revision identifier */
	EXPECT_EQ(__vmptrld((u64)good + 8), VMX_FAIL_VALID);
	EXPECT_EQ(vm_insn_error(), 9); /* invalid physical address (not 4 KiB aligned) */
	EXPECT_EQ(__vmclear((u64)good), VMX_OK);
	EXPECT_EQ(vmx_off(), 0);
	kfree_page(good);
	kfree_page(bad);
}

static void fini(void)
{
	if (vmx_is_on())
		vmx_off();
}

KTAP_SUITE(vmxon, skip_unless_vmx, fini, KTAP_CASE(vmxon_vmxoff), KTAP_CASE(vmxon_twice_without_vmcs),
	   KTAP_CASE(vmxon_twice_with_vmcs), KTAP_CASE(vmxon_bad_revision), KTAP_CASE(vmxon_unaligned),
	   KTAP_CASE(ud_outside_vmx), KTAP_CASE(vmptrld_failures));
