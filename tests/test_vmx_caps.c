/* test_vmx_caps.c: suite "vmx_caps": the capability MSRs are read and are self-consistent
 * (SDM appendix "VMX Capability Reporting Facility"). Which CPU model offers what is checked
 * by the host runner against the "# caps:" line (tests/host/expect_caps.txt). */
#include "suites.h"
#include "../vmm/vmm.h"
#include "../kernel/x86.h"

static const struct vmx_caps *c = &vmx_caps;

static void basic_info(void)
{
	u32 a, b, cx, d;
	cpuid(1, 0, &a, &b, &cx, &d);
	EXPECT(cx & BIT(5));
	EXPECT(c->has_msr[VMX_MSR_BASIC]);
	EXPECT(c->revision_id != 0);
	EXPECT_EQ(c->msr[VMX_MSR_BASIC] & BIT(31), 0); /* bit 31 of IA32_VMX_BASIC is always 0 */
	EXPECT(c->vmcs_size > 0 && c->vmcs_size <= 4096);
	EXPECT_EQ((c->msr[VMX_MSR_BASIC] >> VMX_BASIC_MEM_TYPE_SHIFT) & 0xf, 6); /* VMCS in WB memory */
	kt_diag("IA32_VMX_BASIC=0x%lx revision=0x%x size=%u", c->msr[VMX_MSR_BASIC], c->revision_id,
		c->vmcs_size);
}

/* TRUE controls may only relax default-1 bits: allowed-1 equal, allowed-0 a subset. */
static void true_controls_subset(void)
{
	if (!c->true_ctls)
		SKIP("IA32_VMX_BASIC[55]=0: this CPU has no TRUE control MSRs");
	for (int i = 0; i < 4; i++) {
		struct vmx_ctl legacy = vmx_ctl_from_msr(c->msr[VMX_MSR_PINBASED + i]);
		struct vmx_ctl tru = vmx_ctl_from_msr(c->msr[VMX_MSR_TRUE_PINBASED + i]);
		EXPECT(c->has_msr[VMX_MSR_TRUE_PINBASED + i]);
		EXPECT_EQ(tru.allowed1 & ~legacy.allowed1, 0);
		EXPECT_EQ(tru.allowed0 & ~legacy.allowed0, 0);
	}
}

static void allowed0_within_allowed1(void)
{
	const struct vmx_ctl *ctl[] = {&c->pin, &c->proc, &c->proc2, &c->exit, &c->entry};
	for (u64 i = 0; i < ARRAY_SIZE(ctl); i++)
		EXPECT_EQ(ctl[i]->allowed0 & ~ctl[i]->allowed1, 0);
	EXPECT(c->secondary == !!(c->proc.allowed1 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
	EXPECT(c->exit.allowed1 & VM_EXIT_HOST_ADDR_SPACE_SIZE); /* a 64-bit host needs it */
	EXPECT(c->entry.allowed1 & VM_ENTRY_IA32E_MODE);
}

static void fixed_bits(void)
{
	u64 f0 = c->msr[VMX_MSR_CR0_FIXED0], f1 = c->msr[VMX_MSR_CR0_FIXED1];
	EXPECT_EQ(f0 & ~f1, 0); /* a bit fixed to 1 must be allowed to be 1 */
	EXPECT(f0 & X86_CR0_PE && f0 & X86_CR0_NE && f0 & X86_CR0_PG);
	EXPECT_EQ(vmx_fixed_cr0(c, ~0UL) & ~f1, 0);
	EXPECT_EQ(vmx_fixed_cr0(c, 0) & f0, f0);
	f0 = c->msr[VMX_MSR_CR4_FIXED0], f1 = c->msr[VMX_MSR_CR4_FIXED1];
	EXPECT_EQ(f0 & ~f1, 0);
	EXPECT(f0 & X86_CR4_VMXE);
	EXPECT(vmx_fixed_cr4(c, 0) & X86_CR4_VMXE);
	EXPECT_EQ(vmx_fixed_cr4(c, ~0UL) & ~f1, 0);
}

static void derived_flags(void)
{
	EXPECT(!c->vmfunc || c->secondary);
	EXPECT(!c->eptp_switching || (c->vmfunc && c->has_msr[VMX_MSR_VMFUNC]));
	EXPECT(!c->ept_violation_ve || c->ept);
	EXPECT(!c->ept || (c->has_msr[VMX_MSR_EPT_VPID_CAP] && c->ept_walk4 && c->ept_wb));
	EXPECT(!c->invept_single || c->invept);
	EXPECT(!c->invvpid || c->vpid);
	EXPECT(!c->unrestricted_guest || c->ept); /* SDM: unrestricted guest requires EPT */
}

static void feature_control_enabled(void)
{
	EXPECT_EQ(vmx_feature_control_enable(c), 0);
	u64 fc = rdmsr(MSR_IA32_FEAT_CTL);
	EXPECT(fc & FEAT_CTL_LOCKED);
	EXPECT(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

static void control_adjust(void)
{
	u32 refused;
	struct vmx_ctl ctl = {.allowed0 = 0x16, .allowed1 = 0xff17};
	EXPECT_EQ(vmx_ctl_adjust(ctl, 0x10001, &refused), 0x17);
	EXPECT_EQ(refused, 0x10000);
	u32 hlt = vmx_ctl_adjust(c->proc, CPU_BASED_HLT_EXITING, &refused);
	EXPECT_EQ(hlt & c->proc.allowed0, c->proc.allowed0);
	EXPECT_EQ(hlt & ~c->proc.allowed1, 0);
}

/* "vmx_mask=LIST" (vmm/caps.c): the raw values are the hardware's but for the masked bits, an
 * MSR is missing only where masking removed its reason to exist, every masked capability
 * reads 0, and the control adjustment refuses its bits (so no VMCS can enable them). With no
 * mask this checks that the probe kept exactly what the hardware reports. */
static void mask_hides_capabilities(void)
{
	const struct {
		const char *name;
		bool on;
		u64 msr, bits; /* a control it must refuse: MSR index, allowed-1 bit */
	} hides[] = {
		{"ve", c->ept_violation_ve, VMX_MSR_PROCBASED2, SECONDARY_EXEC_EPT_VIOLATION_VE},
		{"vmfunc", c->vmfunc || c->eptp_switching, VMX_MSR_PROCBASED2, SECONDARY_EXEC_ENABLE_VMFUNC},
		{"mtf", c->mtf, VMX_MSR_PROCBASED, CPU_BASED_MONITOR_TRAP_FLAG},
		{"preemption_timer", c->preemption_timer, VMX_MSR_PINBASED, PIN_BASED_VMX_PREEMPTION_TIMER},
		{"vpid", c->vpid || c->invvpid, VMX_MSR_PROCBASED2, SECONDARY_EXEC_ENABLE_VPID},
		{"ept_ad", c->ept_ad, 0, 0},
		{"pml", c->pml, VMX_MSR_PROCBASED2, SECONDARY_EXEC_ENABLE_PML},
		{"execute_only", c->ept_execute_only, 0, 0},
		{"unrestricted_guest", c->unrestricted_guest, VMX_MSR_PROCBASED2, SECONDARY_EXEC_UNRESTRICTED_GUEST},
		{"ept", c->ept || c->invept, VMX_MSR_PROCBASED2, SECONDARY_EXEC_ENABLE_EPT},
	};
	for (int i = 0; i < VMX_NR_MSRS; i++) {
		u64 hw = 0;
		bool exists = rdmsr_safe(MSR_IA32_VMX_BASIC + i, &hw) == 0;
		u64 want = hw & ~vmx_caps_masked_bits(c->masked, i);
		if (c->has_msr[i])
			EXPECT_EQ(c->msr[i], want);
		else
			EXPECT(!exists || (c->masked && c->msr[i] == 0));
	}
	for (u64 i = 0; i < ARRAY_SIZE(hides); i++) {
		EXPECT(!strcmp(vmx_mask_name(i), hides[i].name));
		if (!(c->masked & BIT(i)))
			continue;
		kt_diag("vmx_mask hides %s", hides[i].name);
		EXPECT(!hides[i].on);
		const struct vmx_ctl *ctl = hides[i].msr == VMX_MSR_PROCBASED2 ? &c->proc2 :
					    hides[i].msr == VMX_MSR_PROCBASED ? &c->proc : &c->pin;
		u32 refused;
		if (hides[i].bits)
			EXPECT_EQ(vmx_ctl_adjust(*ctl, hides[i].bits, &refused) & hides[i].bits, 0);
	}
}

KTAP_SUITE(vmx_caps, skip_unless_vmx, NULL, KTAP_CASE(basic_info), KTAP_CASE(true_controls_subset),
	   KTAP_CASE(allowed0_within_allowed1), KTAP_CASE(fixed_bits), KTAP_CASE(derived_flags),
	   KTAP_CASE(feature_control_enabled), KTAP_CASE(control_adjust), KTAP_CASE(mask_hides_capabilities));
