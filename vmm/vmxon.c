/* vmxon.c: entering and leaving VMX root operation (SDM "Enabling and Entering VMX
 * Operation"): IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits, the VMXON region; and the text
 * of every VM-instruction error number. Each function works on the CPU that calls it (SMP: every
 * CPU has its own VMXON region and state, vmm/smp_vm.c runs them on each). */
#include "vmm.h"
#include "../kernel/x86.h"

/* SDM "VM-Instruction Error Numbers". */
static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

static void *vmxon_regions[SMP_MAX_CPUS];
static u64 cr4_before[SMP_MAX_CPUS];
static bool on_now[SMP_MAX_CPUS];
#define vmxon_region vmxon_regions[cpu_id()]
#define cr4_before_vmx cr4_before[cpu_id()]
#define vmx_on_now on_now[cpu_id()]

const char *vmx_insn_error_str(u64 n)
{
	if (n < ARRAY_SIZE(insn_errors) && insn_errors[n])
		return insn_errors[n];
	return "unknown VM-instruction error";
}

const char *vmx_status_str(enum vmx_status s)
{
	return s == VMX_OK ? "VMsucceed" : s == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid";
}

/* Print a failed VMX instruction with its decoded error and call site; returns s. */
enum vmx_status vmx_report(enum vmx_status s, const char *insn, const char *file, int line)
{
	u64 err = 0;
	if (s == VMX_OK)
		return s;
	if (s == VMX_FAIL_VALID && __vmread(VM_INSTRUCTION_ERROR, &err) == VMX_OK)
		printf("# vmx: %s failed at %s:%d: VMfailValid, error %lu: %s\n", insn, file, line, err,
		       vmx_insn_error_str(err));
	else
		printf("# vmx: %s failed at %s:%d: %s\n", insn, file, line, vmx_status_str(s));
	return s;
}

/* VMXON outside SMX needs IA32_FEATURE_CONTROL bits 0 (lock) and 2 (enable outside SMX).
 * If firmware left it unlocked we set both; if it locked it without bit 2, VMX is off until
 * reboot (SDM "Enabling and Entering VMX Operation"). */
int vmx_feature_control_enable(const struct vmx_caps *c)
{
	u64 fc = rdmsr(MSR_IA32_FEAT_CTL);
	(void)c;
	if (!(fc & FEAT_CTL_LOCKED)) {
		wrmsr(MSR_IA32_FEAT_CTL, fc | FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
		fc = rdmsr(MSR_IA32_FEAT_CTL);
	}
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		printf("# vmx: IA32_FEATURE_CONTROL=0x%lx is locked with VMX outside SMX disabled: "
		       "enable VT-x in the firmware setup\n",
		       fc);
		return -1;
	}
	return 0;
}

/* A bit set in FIXED0 must be 1; a bit clear in FIXED1 must be 0 (SDM appendix "VMX-Fixed
 * Bits in CR0" / "in CR4"). */
u64 vmx_fixed_cr0(const struct vmx_caps *c, u64 cr0)
{
	return (cr0 | c->msr[VMX_MSR_CR0_FIXED0]) & c->msr[VMX_MSR_CR0_FIXED1];
}

u64 vmx_fixed_cr4(const struct vmx_caps *c, u64 cr4)
{
	return (cr4 | c->msr[VMX_MSR_CR4_FIXED0]) & c->msr[VMX_MSR_CR4_FIXED1];
}

/* A zeroed 4 KiB VMXON or VMCS region with the revision identifier in bits 30:0. */
void *vmx_alloc_region(const struct vmx_caps *c)
{
	u32 *r = kalloc_page();
	if (r)
		r[0] = c->revision_id;
	return r;
}

int vmx_on(void)
{
	const struct vmx_caps *c = &vmx_caps;
	if (!c->vmx || vmx_on_now)
		return -1;
	if (vmx_feature_control_enable(c))
		return -1;
	if (!vmxon_region && !(vmxon_region = vmx_alloc_region(c)))
		return -1;
	cr4_before_vmx = read_cr4();
	u32 a, b, cx, d;
	cpuid(1, 0, &a, &b, &cx, &d);
	/* CR4.OSXSAVE lets the XSETBV handler execute XSETBV for the guest (SDM "XSETBV"). */
	u64 osxsave = (cx & BIT(26)) ? X86_CR4_OSXSAVE : 0;
	/* EXERCISE(02): enter VMX root operation (docs/exercises/02-vmxon.md): CR0 and CR4 (with
	 * CR4.VMXE and osxsave) as the VMX-fixed bits demand, then VMXON with the region's physical
	 * address, checked with VMX_CHECK; on failure put CR4 back and return -1.
	 * [uses c, osxsave] [stub returns -1] */
	write_cr0(vmx_fixed_cr0(c, read_cr0()));
	write_cr4(vmx_fixed_cr4(c, cr4_before_vmx | X86_CR4_VMXE | osxsave));
	if (VMX_CHECK("VMXON", __vmxon((u64)vmxon_region)) != VMX_OK) {
		write_cr4(cr4_before_vmx);
		return -1;
	}
	/* END EXERCISE(02) */
	vmx_on_now = true;
	return 0;
}

int vmx_off(void)
{
	if (!vmx_on_now)
		return -1;
	if (VMX_CHECK("VMXOFF", __vmxoff()) != VMX_OK)
		return -1;
	vmx_on_now = false;
	write_cr4(cr4_before_vmx); /* CR4.VMXE can be cleared only outside VMX operation */
	return 0;
}

bool vmx_is_on(void) { return vmx_on_now; }
