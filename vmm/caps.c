/* caps.c: reads CPUID and every VMX capability MSR into struct vmx_caps and decodes them
 * into named booleans (SDM appendix "VMX Capability Reporting Facility"). Decoding is a pure
 * function of the raw values, so it also runs in host unit tests. "vmx_mask=LIST" hides
 * capabilities by clearing their bits in the raw values before decoding, as if the CPU lacked
 * them (vmx_caps_mask). Nothing here enables VMX. */
#include "vmm.h"
#include "../kernel/x86.h"

struct vmx_caps vmx_caps;

/* Bits 31:0 are the allowed 0-settings (1 = must be 1), bits 63:32 the allowed 1-settings. */
struct vmx_ctl vmx_ctl_from_msr(u64 msr) { return (struct vmx_ctl){(u32)msr, (u32)(msr >> 32)}; }

/* The value to write to a control field: the bits we want that the CPU allows, plus every
 * bit the CPU requires. *refused gets the wanted bits the CPU cannot set. */
u32 vmx_ctl_adjust(struct vmx_ctl ctl, u32 want, u32 *refused)
{
	if (refused)
		*refused = want & ~ctl.allowed1;
	return (want & ctl.allowed1) | ctl.allowed0;
}

static bool may(struct vmx_ctl ctl, u32 bit) { return ctl.allowed1 & bit; }

void vmx_caps_decode(struct vmx_caps *c)
{
	u64 basic = c->msr[VMX_MSR_BASIC], ept = c->msr[VMX_MSR_EPT_VPID_CAP];
	c->revision_id = basic & VMX_BASIC_REVISION_MASK;
	c->vmcs_size = (basic >> VMX_BASIC_VMCS_SIZE_SHIFT) & 0x1fff;
	c->true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	int t = c->true_ctls ? VMX_MSR_TRUE_PINBASED - VMX_MSR_PINBASED : 0;
	c->pin = vmx_ctl_from_msr(c->msr[VMX_MSR_PINBASED + t]);
	c->proc = vmx_ctl_from_msr(c->msr[VMX_MSR_PROCBASED + t]);
	c->exit = vmx_ctl_from_msr(c->msr[VMX_MSR_EXIT + t]);
	c->entry = vmx_ctl_from_msr(c->msr[VMX_MSR_ENTRY + t]);
	c->secondary = may(c->proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	/* IA32_VMX_PROCBASED_CTLS2 exists only when secondary controls can be activated. */
	c->proc2 = c->secondary ? vmx_ctl_from_msr(c->msr[VMX_MSR_PROCBASED2]) : (struct vmx_ctl){0, 0};
	c->ept = may(c->proc2, SECONDARY_EXEC_ENABLE_EPT);
	c->vpid = may(c->proc2, SECONDARY_EXEC_ENABLE_VPID);
	c->unrestricted_guest = may(c->proc2, SECONDARY_EXEC_UNRESTRICTED_GUEST);
	c->vmfunc = may(c->proc2, SECONDARY_EXEC_ENABLE_VMFUNC);
	c->eptp_switching = c->vmfunc && (c->msr[VMX_MSR_VMFUNC] & VMX_VMFUNC_EPTP_SWITCHING);
	c->ept_violation_ve = c->ept && may(c->proc2, SECONDARY_EXEC_EPT_VIOLATION_VE);
	c->rdtscp = may(c->proc2, SECONDARY_EXEC_ENABLE_RDTSCP);
	c->invpcid = may(c->proc2, SECONDARY_EXEC_ENABLE_INVPCID);
	c->xsaves = may(c->proc2, SECONDARY_EXEC_ENABLE_XSAVES);
	c->shadow_vmcs = may(c->proc2, SECONDARY_EXEC_SHADOW_VMCS);
	c->pml = c->ept && may(c->proc2, SECONDARY_EXEC_ENABLE_PML);
	/* IA32_VMX_EPT_VPID_CAP exists only when EPT or VPID can be enabled. */
	if (!c->ept && !c->vpid)
		ept = 0;
	c->ept_execute_only = c->ept && (ept & VMX_EPT_EXECUTE_ONLY_BIT);
	c->ept_walk4 = c->ept && (ept & VMX_EPT_PAGE_WALK_4_BIT);
	c->ept_uc = c->ept && (ept & VMX_EPTP_UC_BIT);
	c->ept_wb = c->ept && (ept & VMX_EPTP_WB_BIT);
	c->ept_2m = c->ept && (ept & VMX_EPT_2MB_PAGE_BIT);
	c->ept_1g = c->ept && (ept & VMX_EPT_1GB_PAGE_BIT);
	c->ept_ad = c->ept && (ept & VMX_EPT_AD_BIT);
	c->ept_adv_info = c->ept && (ept & VMX_EPT_ADV_EXIT_INFO_BIT);
	c->invept = c->ept && (ept & VMX_EPT_INVEPT_BIT);
	c->invept_single = c->invept && (ept & VMX_EPT_EXTENT_CONTEXT_BIT);
	c->invept_all = c->invept && (ept & VMX_EPT_EXTENT_GLOBAL_BIT);
	c->invvpid = c->vpid && (ept & VMX_VPID_INVVPID_BIT);
	c->invvpid_addr = c->invvpid && (ept & VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT);
	c->invvpid_single = c->invvpid && (ept & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT);
	c->invvpid_all = c->invvpid && (ept & VMX_VPID_EXTENT_ALL_CONTEXT_BIT);
	c->mtf = may(c->proc, CPU_BASED_MONITOR_TRAP_FLAG);
	c->io_bitmaps = may(c->proc, CPU_BASED_USE_IO_BITMAPS);
	c->msr_bitmaps = may(c->proc, CPU_BASED_USE_MSR_BITMAPS);
	c->preemption_timer = may(c->pin, PIN_BASED_VMX_PREEMPTION_TIMER);
	c->load_efer = may(c->entry, VM_ENTRY_LOAD_IA32_EFER) && may(c->exit, VM_EXIT_LOAD_IA32_EFER);
	c->save_efer = may(c->exit, VM_EXIT_SAVE_IA32_EFER);
	c->load_pat = may(c->entry, VM_ENTRY_LOAD_IA32_PAT) && may(c->exit, VM_EXIT_LOAD_IA32_PAT);
	c->activity_hlt = c->msr[VMX_MSR_MISC] & VMX_MISC_ACTIVITY_HLT;
}

/* Which capability MSRs exist, given what the earlier ones say (SDM: each MSR's own
 * "exists only if" rule). Reading one that does not exist raises #GP. */
static bool msr_exists(const struct vmx_caps *c, int i)
{
	u64 proc_allowed1 = c->msr[VMX_MSR_PROCBASED] >> 32;
	u64 proc2_allowed1 = c->msr[VMX_MSR_PROCBASED2] >> 32;
	switch (i) {
	case VMX_MSR_PROCBASED2:
		return proc_allowed1 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	case VMX_MSR_EPT_VPID_CAP:
		return proc2_allowed1 & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID);
	case VMX_MSR_TRUE_PINBASED:
	case VMX_MSR_TRUE_PROCBASED:
	case VMX_MSR_TRUE_EXIT:
	case VMX_MSR_TRUE_ENTRY:
		return c->msr[VMX_MSR_BASIC] & VMX_BASIC_TRUE_CTLS;
	case VMX_MSR_VMFUNC:
		return proc2_allowed1 & SECONDARY_EXEC_ENABLE_VMFUNC;
	default:
		return true;
	}
}

/* Returns 0 when VMX is usable, -1 with c->no_vmx set otherwise. */
int vmx_caps_probe(struct vmx_caps *c)
{
	u32 a, b, cx, d;
	memset(c, 0, sizeof(*c));
	cpuid(0, 0, &a, &b, &cx, &d);
	memcpy(c->vendor, &b, 4);
	memcpy(c->vendor + 4, &d, 4);
	memcpy(c->vendor + 8, &cx, 4);
	cpuid(1, 0, &a, &b, &cx, &d);
	c->vmx = cx & BIT(5);
	if (!c->vmx) {
		c->no_vmx = "this CPU has no VMX (CPUID.1:ECX.VMX=0)";
		return -1;
	}
	cpuid(0, 0, &a, &b, &cx, &d);
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &cx, &d);
		c->cet_ss = cx & BIT(7);
	}
	for (int i = 0; i < VMX_NR_MSRS; i++) {
		if (!msr_exists(c, i))
			continue;
		c->has_msr[i] = rdmsr_safe(MSR_IA32_VMX_BASIC + i, &c->msr[i]) == 0;
		if (!c->has_msr[i] && i == VMX_MSR_BASIC) {
			c->no_vmx = "CPUID reports VMX but IA32_VMX_BASIC raises #GP";
			return -1;
		}
	}
	if (rdmsr_safe(MSR_IA32_FEAT_CTL, &c->feature_control))
		c->feature_control = 0;
	vmx_caps_decode(c);
	return 0;
}

/* What each name in "vmx_mask=" hides: its allowed-1 bits in the control MSRs (bits 63:32)
 * and its bits in IA32_VMX_EPT_VPID_CAP. A control that cannot be 1 is absent (SDM
 * "VM-Execution Controls"); the "enable EPT" control is a precondition of unrestricted guest,
 * EPT-violation #VE and PML, so "ept" takes them along. */
#define A1(bits) ((u64)(bits) << 32)
static const struct mask_rule {
	const char *name;
	u32 proc2, proc, pin, exit; /* control bits */
	u64 ept_vpid;               /* IA32_VMX_EPT_VPID_CAP bits */
} mask_rules[] = {
	{"ve", SECONDARY_EXEC_EPT_VIOLATION_VE, 0, 0, 0, 0},
	{"vmfunc", SECONDARY_EXEC_ENABLE_VMFUNC, 0, 0, 0, 0},
	{"mtf", 0, CPU_BASED_MONITOR_TRAP_FLAG, 0, 0, 0},
	{"preemption_timer", 0, 0, PIN_BASED_VMX_PREEMPTION_TIMER, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0},
	{"vpid", SECONDARY_EXEC_ENABLE_VPID, 0, 0, 0, 0xffffffff00000000UL},
	{"ept_ad", 0, 0, 0, 0, VMX_EPT_AD_BIT},
	{"pml", SECONDARY_EXEC_ENABLE_PML, 0, 0, 0, 0},
	{"execute_only", 0, 0, 0, 0, VMX_EPT_EXECUTE_ONLY_BIT},
	{"unrestricted_guest", SECONDARY_EXEC_UNRESTRICTED_GUEST, 0, 0, 0, 0},
	{"ept",
	 SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_EPT_VIOLATION_VE |
		 SECONDARY_EXEC_ENABLE_PML,
	 0, 0, 0, 0xffffffffUL},
};

const char *vmx_mask_name(int i) { return i >= 0 && i < (int)ARRAY_SIZE(mask_rules) ? mask_rules[i].name : NULL; }

/* The bits of capability MSR `msr` that the names in `masked` (bit i: mask_rules[i]) clear. */
u64 vmx_caps_masked_bits(u32 masked, int msr)
{
	u64 bits = 0;
	for (int i = 0; i < (int)ARRAY_SIZE(mask_rules); i++) {
		const struct mask_rule *r = &mask_rules[i];
		if (!(masked & BIT(i)))
			continue;
		if (msr == VMX_MSR_PROCBASED2)
			bits |= A1(r->proc2);
		else if (msr == VMX_MSR_PROCBASED || msr == VMX_MSR_TRUE_PROCBASED)
			bits |= A1(r->proc);
		else if (msr == VMX_MSR_PINBASED || msr == VMX_MSR_TRUE_PINBASED)
			bits |= A1(r->pin);
		else if (msr == VMX_MSR_EXIT || msr == VMX_MSR_TRUE_EXIT)
			bits |= A1(r->exit);
		else if (msr == VMX_MSR_EPT_VPID_CAP)
			bits |= r->ept_vpid;
	}
	return bits;
}

static int mask_index(const char *name, size_t len)
{
	for (int i = 0; i < (int)ARRAY_SIZE(mask_rules); i++)
		if (strlen(mask_rules[i].name) == len && !strncmp(mask_rules[i].name, name, len))
			return i;
	return -1;
}

/* Hide the capabilities named in `list` (comma-separated) and decode again. An MSR whose
 * "exists only if" condition no longer holds is dropped, as on a CPU without it. On an unknown
 * name: -1, nothing changed, and `err` names it and the known names. */
int vmx_caps_mask(struct vmx_caps *c, const char *list, char *err, size_t size)
{
	u32 masked = 0;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int i = mask_index(p, len);
		if (i < 0 && len) {
			int n = snprintf(err, size, "vmx_mask: unknown capability \"%.*s\"; known:", (int)len, p);
			for (int k = 0; k < (int)ARRAY_SIZE(mask_rules) && n > 0 && (size_t)n < size; k++)
				n += snprintf(err + n, size - n, " %s", mask_rules[k].name);
			return -1;
		}
		masked |= i >= 0 ? BIT(i) : 0;
		p += len + (e ? 1 : 0);
	}
	for (int i = 0; i < VMX_NR_MSRS; i++)
		c->msr[i] &= ~vmx_caps_masked_bits(masked, i);
	for (int i = 0; i < VMX_NR_MSRS; i++)
		if (!msr_exists(c, i))
			c->msr[i] = 0, c->has_msr[i] = false;
	c->masked |= masked;
	vmx_caps_decode(c);
	return 0;
}

/* The probe, then "vmx_mask=LIST" from the kernel command line. NULL, or what is wrong. */
const char *vmx_caps_init(struct vmx_caps *c, const char *cmdline)
{
	static char err[200];
	char list[160];
	int n = cmdline_get(cmdline, "vmx_mask", list, sizeof(list));
	if (vmx_caps_probe(c) || n < 0)
		return NULL;
	if (n >= (int)sizeof(list)) {
		snprintf(err, sizeof(err), "vmx_mask= is %d characters long; at most %lu fit", n, sizeof(list) - 1);
		return err;
	}
	return vmx_caps_mask(c, list, err, sizeof(err)) ? err : NULL;
}

void vmx_caps_print(const struct vmx_caps *c)
{
	if (!c->vmx) {
		printf("# caps: vmx=0 vendor=%s (%s)\n", c->vendor, c->no_vmx);
		return;
	}
	printf("# caps: vmx=1 vendor=%s revision=0x%x true_ctls=%d ept=%d vpid=%d unrestricted_guest=%d "
	       "vmfunc=%d eptp_switching=%d ept_violation_ve=%d ept_execute_only=%d ept_2m=%d ept_1g=%d "
	       "ept_ad=%d ept_adv_info=%d invept_single=%d invept_all=%d invvpid=%d mtf=%d preemption_timer=%d "
	       "rdtscp=%d invpcid=%d xsaves=%d load_efer=%d",
	       c->vendor, c->revision_id, c->true_ctls, c->ept, c->vpid, c->unrestricted_guest, c->vmfunc,
	       c->eptp_switching, c->ept_violation_ve, c->ept_execute_only, c->ept_2m, c->ept_1g, c->ept_ad, c->ept_adv_info,
	       c->invept_single, c->invept_all, c->invvpid, c->mtf, c->preemption_timer, c->rdtscp,
	       c->invpcid, c->xsaves, c->load_efer);
	for (int i = 0, n = 0; i < (int)ARRAY_SIZE(mask_rules); i++)
		if (c->masked & BIT(i))
			printf("%s%s", n++ ? "," : " vmx_mask=", mask_rules[i].name);
	printf("\n");
}
