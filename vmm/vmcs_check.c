/* vmcs_check.c: the checks VM entry makes, in software, so that a refused entry explains itself:
 * the CPU says only "VMfailValid, error 7" or "exit reason 33", this names the first rule the
 * VMCS breaks, in the SDM's words and with the field values (SDM "Checks on VMX Controls and
 * Host-State Area", "Checks on the Guest State Area"; the guest-state rules are in
 * vmcs_check_guest.c). Rules run in the SDM's order. Not checked: SMM and dual-monitor state,
 * shadow VMCS, APIC virtualization, posted interrupts, PML, PDPTEs of 32-bit PAE guests, CET. */
#include "vmm.h"
#include "vmcs.h"
#include "vmcs_check.h"
#include "../kernel/x86.h"

u64 chk_rd(struct chk *x, u64 field)
{
	for (int i = 0; i < x->ncache; i++)
		if (x->cache[i].field == field)
			return x->cache[i].val;
	u64 v = x->in->read(x->in->ctx, field);
	if (x->ncache < CHK_CACHE)
		x->cache[x->ncache++] = (struct chk_field){field, v};
	return v;
}

int chk_fail(struct chk *x, const struct vmcs_rule *r, const char *fmt, ...)
{
	va_list ap;
	x->v->rule = r->name;
	x->v->section = r->section;
	x->v->sdm = r->sdm;
	va_start(ap, fmt);
	vsnprintf(x->v->what, sizeof(x->v->what), fmt, ap);
	va_end(ap);
	return 1;
}

bool chk_canonical(u64 a) { return (u64)((s64)(a << 16) >> 16) == a; }
bool chk_beyond_width(const struct chk *x, u64 a) { return x->in->maxphyaddr < 64 && (a >> x->in->maxphyaddr); }

/* A memory type WRMSR to IA32_PAT accepts, in each of the 8 bytes (SDM "Checks on Host Control
 * Registers, MSRs, and SSP"): UC, WC, WT, WP, WB, UC-. */
int chk_pat_bad_byte(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 b = pat >> (8 * i);
		if (b != 0 && b != 1 && b != 4 && b != 5 && b != 6 && b != 7)
			return i;
	}
	return -1;
}

#define S_EXEC "VM-Execution Control Fields"
#define S_EXIT "VM-Exit Control Fields"
#define S_ENTRY "VM-Entry Control Fields"
#define S_HOST_CR "Checks on Host Control Registers, MSRs, and SSP"
#define S_HOST_SEG "Checks on Host Segment and Descriptor-Table Registers"
#define S_HOST_SIZE "Checks Related to Address-Space Size"

/* One control field against its capability MSR's allowed-0 and allowed-1 settings. */
static int ctl_bits(struct chk *x, const struct vmcs_rule *r, const char *name, u64 v, struct vmx_ctl c, const char *msr)
{
	u32 must1 = c.allowed0 & ~(u32)v, must0 = (u32)v & ~c.allowed1;
	if (!must1 && !must0)
		return 0;
	return chk_fail(x, r, "%s 0x%lx: bits 0x%x must be 1 and bits 0x%x must be 0 (allowed settings in %s)", name, v,
			must1, must0, msr);
}

static const struct vmcs_rule R_PIN = {"ctl.pin", S_EXEC,
	"Reserved bits in the pin-based VM-execution controls must be set properly."};
static const struct vmcs_rule R_PROC = {"ctl.proc", S_EXEC,
	"Reserved bits in the primary processor-based VM-execution controls must be set properly."};
static const struct vmcs_rule R_PROC2 = {"ctl.proc2", S_EXEC,
	"If the \"activate secondary controls\" primary processor-based VM-execution control is 1, reserved bits in "
	"the secondary processor-based VM-execution controls must be cleared."};
static const struct vmcs_rule R_CR3_COUNT = {"ctl.cr3_target_count", S_EXEC,
	"The CR3-target count must not be greater than 4. (IA32_VMX_MISC bits 24:16 give the number this processor "
	"supports.)"};
static const struct vmcs_rule R_IO_BITMAP = {"ctl.io_bitmaps", S_EXEC,
	"If the \"use I/O bitmaps\" VM-execution control is 1, bits 11:0 of each I/O-bitmap address must be 0. "
	"Neither address should set any bits beyond the processor's physical-address width."};
static const struct vmcs_rule R_MSR_BITMAP = {"ctl.msr_bitmap", S_EXEC,
	"If the \"use MSR bitmaps\" VM-execution control is 1, bits 11:0 of the MSR-bitmap address must be 0. The "
	"address should not set any bits beyond the processor's physical-address width."};
static const struct vmcs_rule R_VNMI = {"ctl.virtual_nmis", S_EXEC,
	"If the \"NMI exiting\" VM-execution control is 0, the \"virtual NMIs\" VM-execution control must be 0."};
static const struct vmcs_rule R_NMI_WINDOW = {"ctl.nmi_window", S_EXEC,
	"If the \"virtual NMIs\" VM-execution control is 0, the \"NMI-window exiting\" VM-execution control must "
	"be 0."};
static const struct vmcs_rule R_VPID = {"ctl.vpid", S_EXEC,
	"If the \"enable VPID\" VM-execution control is 1, the value of the VPID VM-execution control field must not "
	"be 0000H."};
static const struct vmcs_rule R_EPTP_MT = {"ctl.eptp_memtype", S_EXEC,
	"If the \"enable EPT\" VM-execution control is 1, the EPT memory type (bits 2:0) must be a value supported by "
	"the processor as indicated in the IA32_VMX_EPT_VPID_CAP MSR."};
static const struct vmcs_rule R_EPTP_WALK = {"ctl.eptp_walk", S_EXEC,
	"Bits 5:3 (1 less than the EPT page-walk length) must indicate a supported EPT page-walk length."};
static const struct vmcs_rule R_EPTP_AD = {"ctl.eptp_ad", S_EXEC,
	"Bit 6 (enable bit for accessed and dirty flags for EPT) must be 0 if bit 21 of the IA32_VMX_EPT_VPID_CAP "
	"MSR is read as 0, indicating that the processor does not support accessed and dirty flags for EPT."};
static const struct vmcs_rule R_EPTP_RSVD = {"ctl.eptp_reserved", S_EXEC,
	"Reserved bits 11:8 and 63:N (where N is the processor's physical-address width) must all be 0; bit 7 "
	"(supervisor shadow-stack control) too, where the processor has no CET supervisor shadow stacks."};
static const struct vmcs_rule R_UG = {"ctl.unrestricted_guest", S_EXEC,
	"If the \"unrestricted guest\" VM-execution control is 1, the \"enable EPT\" VM-execution control must also "
	"be 1."};
static const struct vmcs_rule R_VMFUNC = {"ctl.vmfunc", S_EXEC,
	"If the \"enable VM functions\" processor-based VM-execution control is 1, reserved bits in the VM-function "
	"controls must be clear."};
static const struct vmcs_rule R_VMFUNC_EPT = {"ctl.eptp_switching_ept", S_EXEC,
	"If the \"EPTP switching\" VM-function control is 1, the \"enable EPT\" VM-execution control must also be 1."};
static const struct vmcs_rule R_EPTP_LIST = {"ctl.eptp_list", S_EXEC,
	"If the \"EPTP switching\" VM-function control is 1, bits 11:0 of the EPTP-list address must be 0 and the "
	"address must not set any bits beyond the processor's physical-address width."};
static const struct vmcs_rule R_VE_INFO = {"ctl.ve_info", S_EXEC,
	"If the \"EPT-violation #VE\" VM-execution control is 1, bits 11:0 of the virtualization-exception "
	"information address must be 0 and the address must not set any bits beyond the processor's "
	"physical-address width."};

static int addr_4k(struct chk *x, const struct vmcs_rule *r, const char *name, u64 a)
{
	if ((a & 0xfff) || chk_beyond_width(x, a))
		return chk_fail(x, r, "%s 0x%lx: %s", name, a,
				a & 0xfff ? "bits 11:0 must be 0" : "it sets bits beyond the physical-address width");
	return 0;
}

static int check_eptp(struct chk *x)
{
	u64 eptp = chk_rd(x, EPT_POINTER), cap = x->in->caps->msr[VMX_MSR_EPT_VPID_CAP];
	u64 mt = eptp & 7, walk = (eptp >> 3) & 7;
	if (!((mt == 0 && (cap & VMX_EPTP_UC_BIT)) || (mt == 6 && (cap & VMX_EPTP_WB_BIT))))
		return chk_fail(x, &R_EPTP_MT, "EPT_POINTER 0x%lx: memory type %lu; this CPU takes %s%s%s", eptp, mt,
				cap & VMX_EPTP_UC_BIT ? "0 (UC)" : "", (cap & VMX_EPTP_UC_BIT) && (cap & VMX_EPTP_WB_BIT) ? " or " : "",
				cap & VMX_EPTP_WB_BIT ? "6 (WB)" : "");
	if (!((walk == 3 && (cap & VMX_EPT_PAGE_WALK_4_BIT)) || (walk == 4 && (cap & VMX_EPT_PAGE_WALK_5_BIT))))
		return chk_fail(x, &R_EPTP_WALK, "EPT_POINTER 0x%lx: bits 5:3 are %lu, a page-walk length of %lu; must be 3 "
				"(4 levels)%s", eptp, walk, walk + 1, cap & VMX_EPT_PAGE_WALK_5_BIT ? " or 4 (5 levels)" : "");
	if ((eptp & BIT(6)) && !(cap & VMX_EPT_AD_BIT))
		return chk_fail(x, &R_EPTP_AD, "EPT_POINTER 0x%lx: bit 6 (A/D flags) is 1 on a CPU without them", eptp);
	u64 rsvd = x->in->caps->cet_ss ? 0xf00 : 0xf80; /* bit 7: CET shadow stacks (Bochs tigerlake has them) */
	if ((eptp & rsvd) || chk_beyond_width(x, eptp & ~0xfffUL))
		return chk_fail(x, &R_EPTP_RSVD, "EPT_POINTER 0x%lx: reserved bits 0x%lx are set", eptp,
				(eptp & rsvd) | (x->in->maxphyaddr < 64 ? eptp & ~(BIT(x->in->maxphyaddr) - 1) : 0));
	return 0;
}

static int check_vmfunc(struct chk *x)
{
	u64 f = chk_rd(x, VM_FUNCTION_CONTROL), allowed = x->in->caps->msr[VMX_MSR_VMFUNC];
	if (f & ~allowed)
		return chk_fail(x, &R_VMFUNC, "VM_FUNCTION_CONTROL 0x%lx: bits 0x%lx are not allowed (IA32_VMX_VMFUNC 0x%lx)",
				f, f & ~allowed, allowed);
	if (!(f & VMX_VMFUNC_EPTP_SWITCHING))
		return 0;
	if (!(x->proc2 & SECONDARY_EXEC_ENABLE_EPT))
		return chk_fail(x, &R_VMFUNC_EPT, "VM_FUNCTION_CONTROL 0x%lx has EPTP switching, SECONDARY_VM_EXEC_CONTROL "
				"0x%lx has no \"enable EPT\"", f, x->proc2);
	return addr_4k(x, &R_EPTP_LIST, "EPTP_LIST_ADDRESS", chk_rd(x, EPTP_LIST_ADDRESS));
}

/* SDM "Checks on VMX Controls": "VM-Execution Control Fields". */
static int check_execution(struct chk *x)
{
	const struct vmx_caps *c = x->in->caps;
	u64 misc = c->msr[VMX_MSR_MISC], ncr3 = chk_rd(x, CR3_TARGET_COUNT);
	const char *t = c->true_ctls ? "TRUE_" : "";
	char msr[40];
	snprintf(msr, sizeof(msr), "IA32_VMX_%sPINBASED_CTLS", t);
	if (ctl_bits(x, &R_PIN, "PIN_BASED_VM_EXEC_CONTROL", x->pin, c->pin, msr))
		return 1;
	snprintf(msr, sizeof(msr), "IA32_VMX_%sPROCBASED_CTLS", t);
	if (ctl_bits(x, &R_PROC, "CPU_BASED_VM_EXEC_CONTROL", x->proc, c->proc, msr))
		return 1;
	if ((x->proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    ctl_bits(x, &R_PROC2, "SECONDARY_VM_EXEC_CONTROL", x->proc2, c->proc2, "IA32_VMX_PROCBASED_CTLS2"))
		return 1;
	if (ncr3 > ((misc >> 16) & 0x1ff))
		return chk_fail(x, &R_CR3_COUNT, "CR3_TARGET_COUNT %lu: this CPU supports %lu (IA32_VMX_MISC bits 24:16)",
				ncr3, (misc >> 16) & 0x1ff);
	if ((x->proc & CPU_BASED_USE_IO_BITMAPS) && (addr_4k(x, &R_IO_BITMAP, "IO_BITMAP_A", chk_rd(x, IO_BITMAP_A)) ||
						     addr_4k(x, &R_IO_BITMAP, "IO_BITMAP_B", chk_rd(x, IO_BITMAP_B))))
		return 1;
	if ((x->proc & CPU_BASED_USE_MSR_BITMAPS) && addr_4k(x, &R_MSR_BITMAP, "MSR_BITMAP", chk_rd(x, MSR_BITMAP)))
		return 1;
	if (!(x->pin & PIN_BASED_NMI_EXITING) && (x->pin & PIN_BASED_VIRTUAL_NMIS))
		return chk_fail(x, &R_VNMI, "PIN_BASED_VM_EXEC_CONTROL 0x%lx: virtual NMIs without NMI exiting", x->pin);
	if (!(x->pin & PIN_BASED_VIRTUAL_NMIS) && (x->proc & CPU_BASED_NMI_WINDOW_EXITING))
		return chk_fail(x, &R_NMI_WINDOW, "CPU_BASED_VM_EXEC_CONTROL 0x%lx: NMI-window exiting without virtual NMIs "
				"(PIN_BASED_VM_EXEC_CONTROL 0x%lx)", x->proc, x->pin);
	if ((x->proc2 & SECONDARY_EXEC_ENABLE_VPID) && chk_rd(x, VIRTUAL_PROCESSOR_ID) == 0)
		return chk_fail(x, &R_VPID, "VIRTUAL_PROCESSOR_ID 0 with \"enable VPID\" set");
	if ((x->proc2 & SECONDARY_EXEC_ENABLE_EPT) && check_eptp(x))
		return 1;
	if ((x->proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && !(x->proc2 & SECONDARY_EXEC_ENABLE_EPT))
		return chk_fail(x, &R_UG, "SECONDARY_VM_EXEC_CONTROL 0x%lx: unrestricted guest without EPT", x->proc2);
	if ((x->proc2 & SECONDARY_EXEC_ENABLE_VMFUNC) && check_vmfunc(x))
		return 1;
	if (x->proc2 & SECONDARY_EXEC_EPT_VIOLATION_VE)
		return addr_4k(x, &R_VE_INFO, "VE_INFORMATION_ADDRESS", chk_rd(x, VE_INFORMATION_ADDRESS));
	return 0;
}

static const struct vmcs_rule R_EXIT = {"ctl.exit", S_EXIT, "Reserved bits in the VM-exit controls must be set properly."};
static const struct vmcs_rule R_TIMER_SAVE = {"ctl.exit_save_timer", S_EXIT,
	"If the \"activate VMX-preemption timer\" VM-execution control is 0, the \"save VMX-preemption-timer "
	"value\" VM-exit control must also be 0."};
static const struct vmcs_rule R_EXIT_MSRS = {"ctl.exit_msr_areas", S_EXIT,
	"If the VM-exit MSR-store (MSR-load) count is not zero, the lower 4 bits of the VM-exit MSR-store (MSR-load) "
	"address must be 0; the address should not set any bits beyond the processor's physical-address width."};
static const struct vmcs_rule R_ENTRY = {"ctl.entry", S_ENTRY, "Reserved bits in the VM-entry controls must be set properly."};
static const struct vmcs_rule R_ENTRY_SMM = {"ctl.entry_smm", S_ENTRY,
	"The \"entry to SMM\" and \"deactivate dual-monitor treatment\" VM-entry controls must be 0 outside SMM."};
static const struct vmcs_rule R_INTR_TYPE = {"ctl.entry_intr_type", S_ENTRY,
	"If the valid bit (bit 31) in the VM-entry interruption-information field is 1, the field's interruption "
	"type (bits 10:8) is not set to a reserved value. Value 1 is reserved on all logical processors; value 7 "
	"(other event) is reserved on logical processors that do not support the 1-setting of the \"monitor trap "
	"flag\" VM-execution control."};
static const struct vmcs_rule R_INTR_VECTOR = {"ctl.entry_intr_vector", S_ENTRY,
	"If the interruption type is non-maskable interrupt (NMI), the vector is 2. If the interruption type is "
	"hardware exception, the vector is at most 31. If the interruption type is other event, the vector is 0."};
static const struct vmcs_rule R_INTR_ERRCODE = {"ctl.entry_intr_error_code", S_ENTRY,
	"The field's deliver-error-code bit (bit 11) is 1 if and only if (1) either the \"unrestricted guest\" "
	"VM-execution control is 0 or bit 0 in the CR0 field is 1; (2) the interruption type is hardware exception; "
	"and (3) the vector indicates an exception that would normally deliver an error code (8 = #DF; 10 = #TS; 11 "
	"= #NP; 12 = #SS; 13 = #GP; 14 = #PF; or 17 = #AC), unless IA32_VMX_BASIC[56] is read as 1."};
static const struct vmcs_rule R_INTR_RSVD = {"ctl.entry_intr_reserved", S_ENTRY,
	"Reserved bits in the VM-entry interruption-information field (bits 30:12) are 0; if the deliver-error-code "
	"bit is 1, bits 31:16 of the VM-entry exception error-code field are 0."};
static const struct vmcs_rule R_INTR_LEN = {"ctl.entry_insn_len", S_ENTRY,
	"If the interruption type is software interrupt, software exception, or privileged software exception, the "
	"VM-entry instruction-length field is in the range 0-15; a VM-entry instruction length of 0 is allowed only "
	"if IA32_VMX_MISC[30] is read as 1."};
static const struct vmcs_rule R_ENTRY_MSRS = {"ctl.entry_msr_area", S_ENTRY,
	"If the VM-entry MSR-load count is not zero, the lower 4 bits of the VM-entry MSR-load address must be 0; "
	"the address should not set any bits beyond the processor's physical-address width."};

static int msr_area(struct chk *x, const struct vmcs_rule *r, const char *name, u64 count_field, u64 addr_field)
{
	u64 n = chk_rd(x, count_field), a = n ? chk_rd(x, addr_field) : 0;
	if (n && ((a & 0xf) || chk_beyond_width(x, a + n * 16 - 1)))
		return chk_fail(x, r, "%s 0x%lx for %lu MSRs: %s", name, a, n,
				a & 0xf ? "bits 3:0 must be 0" : "the area reaches beyond the physical-address width");
	return 0;
}

/* "VM-Entry Controls for Event Injection" as VM entry checks them. */
static int check_injection(struct chk *x)
{
	u64 info = chk_rd(x, VM_ENTRY_INTR_INFO_FIELD), type = (info >> 8) & 7, vec = info & 0xff;
	bool ug_real = (x->proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && !(chk_rd(x, GUEST_CR0) & X86_CR0_PE);
	bool want_code = !ug_real && type == 3 && vec < 32 && ((0x27d00UL >> vec) & 1); /* 8, 10-14, 17 */
	if (!(info & INTR_INFO_VALID_MASK))
		return 0;
	if (type == 1 || (type == 7 && !x->in->caps->mtf))
		return chk_fail(x, &R_INTR_TYPE, "VM_ENTRY_INTR_INFO_FIELD 0x%lx: interruption type %lu is reserved", info, type);
	if ((type == 2 && vec != 2) || (type == 3 && vec > 31) || (type == 7 && vec != 0))
		return chk_fail(x, &R_INTR_VECTOR, "VM_ENTRY_INTR_INFO_FIELD 0x%lx: vector %lu with interruption type %lu",
				info, vec, type);
	/* IA32_VMX_BASIC[56] (CET CPUs, e.g. Bochs tigerlake): a hardware exception may come with or
	 * without an error code (SDM "Basic VMX Information"); other types still may not have one. */
	if ((x->in->caps->msr[VMX_MSR_BASIC] & VMX_BASIC_NO_HW_ERROR_CODE_CHECK) && type == 3 && !ug_real)
		want_code = info & INTR_INFO_DELIVER_CODE_MASK;
	if (!!(info & INTR_INFO_DELIVER_CODE_MASK) != want_code)
		return chk_fail(x, &R_INTR_ERRCODE, "VM_ENTRY_INTR_INFO_FIELD 0x%lx: deliver-error-code is %d for vector %lu "
				"type %lu; must be %d", info, !want_code, vec, type, want_code);
	if ((info & 0x7ffff000UL) ||
	    ((info & INTR_INFO_DELIVER_CODE_MASK) && (chk_rd(x, VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16)))
		return chk_fail(x, &R_INTR_RSVD, "VM_ENTRY_INTR_INFO_FIELD 0x%lx, VM_ENTRY_EXCEPTION_ERROR_CODE 0x%lx: "
				"reserved bits set", info, info & INTR_INFO_DELIVER_CODE_MASK ?
				chk_rd(x, VM_ENTRY_EXCEPTION_ERROR_CODE) : 0);
	if (type >= 4 && type <= 6) {
		u64 len = chk_rd(x, VM_ENTRY_INSTRUCTION_LEN);
		bool zero_ok = x->in->caps->msr[VMX_MSR_MISC] & VMX_MISC_ZERO_LEN_INS;
		if (len > 15 || (len == 0 && !zero_ok))
			return chk_fail(x, &R_INTR_LEN, "VM_ENTRY_INSTRUCTION_LEN %lu for interruption type %lu", len, type);
	}
	return 0;
}

/* SDM "Checks on VMX Controls": "VM-Exit Control Fields", "VM-Entry Control Fields". */
static int check_exit_entry(struct chk *x)
{
	const struct vmx_caps *c = x->in->caps;
	const char *t = c->true_ctls ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS";
	if (ctl_bits(x, &R_EXIT, "VM_EXIT_CONTROLS", x->exit, c->exit, t))
		return 1;
	if (!(x->pin & PIN_BASED_VMX_PREEMPTION_TIMER) && (x->exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
		return chk_fail(x, &R_TIMER_SAVE, "VM_EXIT_CONTROLS 0x%lx saves the preemption timer, "
				"PIN_BASED_VM_EXEC_CONTROL 0x%lx does not activate it", x->exit, x->pin);
	if (msr_area(x, &R_EXIT_MSRS, "VM_EXIT_MSR_STORE_ADDR", VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_STORE_ADDR) ||
	    msr_area(x, &R_EXIT_MSRS, "VM_EXIT_MSR_LOAD_ADDR", VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_LOAD_ADDR))
		return 1;
	t = c->true_ctls ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS";
	if (ctl_bits(x, &R_ENTRY, "VM_ENTRY_CONTROLS", x->entry, c->entry, t))
		return 1;
	if (check_injection(x))
		return 1;
	if (msr_area(x, &R_ENTRY_MSRS, "VM_ENTRY_MSR_LOAD_ADDR", VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_ADDR))
		return 1;
	if (x->entry & (VM_ENTRY_SMM | VM_ENTRY_DEACT_DUAL_MONITOR))
		return chk_fail(x, &R_ENTRY_SMM, "VM_ENTRY_CONTROLS 0x%lx: bits 10 and 11 must be 0", x->entry);
	return 0;
}

static const struct vmcs_rule R_HOST_CR0 = {"host.cr0", S_HOST_CR,
	"The CR0 field must not set any bit to a value not supported in VMX operation (IA32_VMX_CR0_FIXED0 and "
	"IA32_VMX_CR0_FIXED1)."};
static const struct vmcs_rule R_HOST_CR4 = {"host.cr4", S_HOST_CR,
	"The CR4 field must not set any bit to a value not supported in VMX operation (IA32_VMX_CR4_FIXED0 and "
	"IA32_VMX_CR4_FIXED1)."};
static const struct vmcs_rule R_HOST_CR3 = {"host.cr3", S_HOST_CR,
	"The CR3 field must be such that bits 63:52 and bits in the range 51:32 beyond the processor's "
	"physical-address width must be 0."};
static const struct vmcs_rule R_HOST_SYSENTER = {"host.sysenter", S_HOST_CR,
	"The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must each contain a canonical address."};
static const struct vmcs_rule R_HOST_PAT = {"host.pat", S_HOST_CR,
	"If the \"load IA32_PAT\" VM-exit control is 1, each of the 8 bytes in the field for the IA32_PAT MSR must "
	"have one of the values 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), or 7 (UC-)."};
static const struct vmcs_rule R_HOST_EFER = {"host.efer", S_HOST_CR,
	"If the \"load IA32_EFER\" VM-exit control is 1, bits reserved in the IA32_EFER MSR must be 0 in the field "
	"for that register. In addition, the values of the LMA and LME bits in the field must each be that of the "
	"\"host address-space size\" VM-exit control."};
static const struct vmcs_rule R_HOST_SEL = {"host.selectors", S_HOST_SEG,
	"In the selector field for each of CS, SS, DS, ES, FS, GS and TR, the RPL (bits 1:0) and the TI flag (bit "
	"2) must be 0. The selector fields for CS and TR cannot be 0000H."};
static const struct vmcs_rule R_HOST_BASES = {"host.bases", S_HOST_SEG,
	"The base-address fields for FS, GS, GDTR, IDTR, and TR must contain canonical addresses."};
static const struct vmcs_rule R_HOST_SIZE = {"host.address_space_size", S_HOST_SIZE,
	"If the logical processor is in IA-32e mode (if IA32_EFER.LMA = 1) at the time VM entry is initiated, the "
	"\"host address-space size\" VM-exit control must be 1."};
static const struct vmcs_rule R_HOST_64 = {"host.pae_rip", S_HOST_SIZE,
	"If the \"host address-space size\" VM-exit control is 1, bit 5 of the CR4 field (corresponding to CR4.PAE) "
	"must be 1, and the RIP field must contain a canonical address."};

/* CR0 or CR4 against the VMX-fixed bits; ignore: bits not checked (CR0.PE/PG of an unrestricted guest). */
int chk_fixed(struct chk *x, const struct vmcs_rule *r, const char *name, u64 v, int fixed0, u64 ignore)
{
	u64 f0 = x->in->caps->msr[fixed0] & ~ignore, f1 = x->in->caps->msr[fixed0 + 1] | ignore;
	if ((v & f0) != f0 || (v & ~f1))
		return chk_fail(x, r, "%s 0x%lx: bits 0x%lx must be 1 and bits 0x%lx must be 0", name, v, f0 & ~v, v & ~f1);
	return 0;
}

static int check_host(struct chk *x)
{
	static const u64 sel[] = {HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR, HOST_ES_SELECTOR,
				  HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR};
	static const char *const sel_name[] = {"CS", "SS", "DS", "ES", "FS", "GS", "TR"};
	static const u64 base[] = {HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_TR_BASE};
	static const char *const base_name[] = {"FS", "GS", "GDTR", "IDTR", "TR"};
	bool size64 = x->exit & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	u64 cr3 = chk_rd(x, HOST_CR3), v;
	if (chk_fixed(x, &R_HOST_CR0, "HOST_CR0", chk_rd(x, HOST_CR0), VMX_MSR_CR0_FIXED0, 0) ||
	    chk_fixed(x, &R_HOST_CR4, "HOST_CR4", chk_rd(x, HOST_CR4), VMX_MSR_CR4_FIXED0, 0))
		return 1;
	if (chk_beyond_width(x, cr3))
		return chk_fail(x, &R_HOST_CR3, "HOST_CR3 0x%lx: bits beyond the physical-address width", cr3);
	if (!chk_canonical(v = chk_rd(x, HOST_IA32_SYSENTER_ESP)) || !chk_canonical(v = chk_rd(x, HOST_IA32_SYSENTER_EIP)))
		return chk_fail(x, &R_HOST_SYSENTER, "host IA32_SYSENTER_ESP/EIP 0x%lx is not canonical", v);
	if ((x->exit & VM_EXIT_LOAD_IA32_PAT) && chk_pat_bad_byte(v = chk_rd(x, HOST_IA32_PAT)) >= 0)
		return chk_fail(x, &R_HOST_PAT, "HOST_IA32_PAT 0x%lx: byte %d", v, chk_pat_bad_byte(v));
	if ((x->exit & VM_EXIT_LOAD_IA32_EFER) &&
	    (((v = chk_rd(x, HOST_IA32_EFER)) & ~CHK_EFER_KNOWN) || !!(v & MSR_EFER_LMA) != size64 ||
	     !!(v & MSR_EFER_LME) != size64))
		return chk_fail(x, &R_HOST_EFER, "HOST_IA32_EFER 0x%lx with host address-space size %d", v, size64);
	for (u64 i = 0; i < ARRAY_SIZE(sel); i++)
		if (((v = chk_rd(x, sel[i])) & 7) || (v == 0 && (i == 0 || i == 6)))
			return chk_fail(x, &R_HOST_SEL, "host %s selector 0x%lx: %s", sel_name[i], v,
					v & 7 ? "RPL and TI must be 0" : "must not be 0");
	for (u64 i = 0; i < ARRAY_SIZE(base); i++)
		if (!chk_canonical(v = chk_rd(x, base[i])))
			return chk_fail(x, &R_HOST_BASES, "host %s base 0x%lx is not canonical", base_name[i], v);
	if (!size64) /* hvlab runs in IA-32e mode */
		return chk_fail(x, &R_HOST_SIZE, "VM_EXIT_CONTROLS 0x%lx: \"host address-space size\" (bit 9) is 0", x->exit);
	if (!(chk_rd(x, HOST_CR4) & X86_CR4_PAE) || !chk_canonical(v = chk_rd(x, HOST_RIP)))
		return chk_fail(x, &R_HOST_64, "HOST_CR4 0x%lx, HOST_RIP 0x%lx", chk_rd(x, HOST_CR4), v);
	return 0;
}

int vmcs_check_fields(const struct vmcs_check_in *in, struct vmcs_violation *v)
{
	struct chk x = {.in = in, .v = v};
	memset(v, 0, sizeof(*v));
	x.pin = chk_rd(&x, PIN_BASED_VM_EXEC_CONTROL);
	x.proc = chk_rd(&x, CPU_BASED_VM_EXEC_CONTROL);
	x.proc2 = x.proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS ? chk_rd(&x, SECONDARY_VM_EXEC_CONTROL) : 0;
	x.exit = chk_rd(&x, VM_EXIT_CONTROLS);
	x.entry = chk_rd(&x, VM_ENTRY_CONTROLS);
	x.ia32e = x.entry & VM_ENTRY_IA32E_MODE;
	x.ug = x.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
	return check_execution(&x) || check_exit_entry(&x) || check_host(&x) || chk_guest(&x);
}

static u64 read_current(void *ctx, u64 field)
{
	(void)ctx;
	return vmcs_read(field);
}

/* The checks on the current VMCS. Prints the first rule it breaks (the finding, then the SDM's
 * words); after a failed entry (failed), also that no rule it knows is broken. */
struct phys_read {
	u64 pa;
	u32 val;
};
static void phys_read_fn(void *arg)
{
	struct phys_read *r = arg;
	r->val = *(volatile u32 *)r->pa; /* identity-mapped below 4 GiB, page 0 excepted (boot.S) */
}

/* The hypervisor's physical memory is identity-mapped; an address it has not mapped (page 0,
 * above 4 GiB) faults, and trap_catch turns the fault into "cannot be read". */
bool vmcs_check_read_phys32(void *ctx, u64 pa, u32 *val)
{
	(void)ctx;
	struct phys_read r = {.pa = pa};
	struct fault_info fi;
	if (pa >= (4ull << 30) - 4 || trap_catch(phys_read_fn, &r, &fi) >= 0)
		return false;
	*val = r.val;
	return true;
}

bool vmcs_check(const char *when, bool failed)
{
	struct vmcs_check_in in = {.read = read_current, .caps = &vmx_caps, .maxphyaddr = gwalk_this_cpu().maxphyaddr,
				   .read_phys32 = vmcs_check_read_phys32};
	struct vmcs_violation v;
	if (!vmcs_check_fields(&in, &v)) {
		if (failed)
			printf("# vmcs_check: %s: no rule vmm/vmcs_check.c knows is broken (the CPU checks more)\n", when);
		return false;
	}
	printf("# vmcs_check: %s: %s\n", when, v.what);
	printf("# vmcs_check: SDM \"%s\" [%s]: %s\n", v.section, v.rule, v.sdm);
	return true;
}
