/* vmm.h: every function one vmm/ file offers another (and the tests), grouped by file.
 * vmm/ is the hypervisor; it uses kernel/ services through kernel/defs.h. */
#ifndef HVLAB_VMM_H
#define HVLAB_VMM_H
#include "../kernel/defs.h"
#include "vmx.h"

/* caps.c: what this CPU's VMX offers, read from CPUID and the capability MSRs */
struct vmx_ctl {
	u32 allowed0; /* bits that must be 1 (MSR bits 31:0) */
	u32 allowed1; /* bits that may be 1 (MSR bits 63:32) */
};
enum vmx_msr_index { /* raw capability MSRs, in the order of MSR numbers 0x480.. */
	VMX_MSR_BASIC, VMX_MSR_PINBASED, VMX_MSR_PROCBASED, VMX_MSR_EXIT, VMX_MSR_ENTRY,
	VMX_MSR_MISC, VMX_MSR_CR0_FIXED0, VMX_MSR_CR0_FIXED1, VMX_MSR_CR4_FIXED0,
	VMX_MSR_CR4_FIXED1, VMX_MSR_VMCS_ENUM, VMX_MSR_PROCBASED2, VMX_MSR_EPT_VPID_CAP,
	VMX_MSR_TRUE_PINBASED, VMX_MSR_TRUE_PROCBASED, VMX_MSR_TRUE_EXIT, VMX_MSR_TRUE_ENTRY,
	VMX_MSR_VMFUNC, VMX_NR_MSRS
};
struct vmx_caps {
	bool vmx;              /* CPUID.1:ECX.VMX[bit 5] */
	const char *no_vmx;    /* why VMX cannot be used, or NULL */
	char vendor[13];
	u64 msr[VMX_NR_MSRS];  /* raw values; 0 for an MSR this CPU does not have */
	bool has_msr[VMX_NR_MSRS];
	u64 feature_control;   /* IA32_FEATURE_CONTROL as found at boot */
	u32 revision_id, vmcs_size;
	/* Effective controls: from the TRUE MSRs when IA32_VMX_BASIC[55] says they exist. */
	struct vmx_ctl pin, proc, proc2, exit, entry;
	bool true_ctls, secondary, ept, vpid, unrestricted_guest, vmfunc, eptp_switching;
	bool ept_violation_ve, ept_execute_only, ept_walk4, ept_uc, ept_wb, ept_2m, ept_1g, ept_ad;
	bool invept, invept_single, invept_all, invvpid, invvpid_addr, invvpid_single, invvpid_all;
	bool mtf, preemption_timer, io_bitmaps, msr_bitmaps, rdtscp, invpcid, xsaves, shadow_vmcs;
	bool pml, load_efer, save_efer, load_pat, activity_hlt;
};
struct vmx_ctl vmx_ctl_from_msr(u64 msr);
void vmx_caps_decode(struct vmx_caps *c);
int vmx_caps_probe(struct vmx_caps *c);
void vmx_caps_print(const struct vmx_caps *c);
u32 vmx_ctl_adjust(struct vmx_ctl ctl, u32 want, u32 *refused);
extern struct vmx_caps vmx_caps;

/* vmxon.c: entering and leaving VMX operation */
const char *vmx_insn_error_str(u64 n);
const char *vmx_status_str(enum vmx_status s);
enum vmx_status vmx_report(enum vmx_status s, const char *insn, const char *file, int line);
#define VMX_CHECK(insn, call) vmx_report((call), insn, __FILE__, __LINE__)
int vmx_feature_control_enable(const struct vmx_caps *c);
u64 vmx_fixed_cr0(const struct vmx_caps *c, u64 cr0);
u64 vmx_fixed_cr4(const struct vmx_caps *c, u64 cr4);
void *vmx_alloc_region(const struct vmx_caps *c);
int vmx_on(void);
int vmx_off(void);
bool vmx_is_on(void);
#endif
