/* vmx.h: VMX architectural constants, spelled as Linux arch/x86 spells them (msr-index.h,
 * vmx.h) so readers can grep KVM and the SDM, and thin wrappers for the VMX instructions.
 * Every wrapper returns the VMX status (SDM "Conventions" in "VMX Instruction Reference"):
 * VMsucceed, VMfailInvalid (CF=1) or VMfailValid (ZF=1, number in VM_INSTRUCTION_ERROR). */
#ifndef HVLAB_VMX_H
#define HVLAB_VMX_H
#include "../kernel/types.h"

/* Capability MSRs (SDM appendix "VMX Capability Reporting Facility"). */
#define MSR_IA32_FEAT_CTL 0x0000003a
#define FEAT_CTL_LOCKED BIT(0)
#define FEAT_CTL_VMX_ENABLED_INSIDE_SMX BIT(1)
#define FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX BIT(2)
#define MSR_IA32_VMX_BASIC 0x00000480
#define MSR_IA32_VMX_PINBASED_CTLS 0x00000481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x00000482
#define MSR_IA32_VMX_EXIT_CTLS 0x00000483
#define MSR_IA32_VMX_ENTRY_CTLS 0x00000484
#define MSR_IA32_VMX_MISC 0x00000485
#define MSR_IA32_VMX_CR0_FIXED0 0x00000486
#define MSR_IA32_VMX_CR0_FIXED1 0x00000487
#define MSR_IA32_VMX_CR4_FIXED0 0x00000488
#define MSR_IA32_VMX_CR4_FIXED1 0x00000489
#define MSR_IA32_VMX_VMCS_ENUM 0x0000048a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x0000048b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x0000048c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x0000048d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x0000048e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x0000048f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x00000490
#define MSR_IA32_VMX_VMFUNC 0x00000491

/* IA32_VMX_BASIC fields ("Basic VMX Information"). */
#define VMX_BASIC_REVISION_MASK 0x7fffffffULL
#define VMX_BASIC_VMCS_SIZE_SHIFT 32
#define VMX_BASIC_32BIT_PHYS_ADDR_ONLY BIT(48)
#define VMX_BASIC_DUAL_MONITOR BIT(49)
#define VMX_BASIC_MEM_TYPE_SHIFT 50
#define VMX_BASIC_INOUT BIT(54)
#define VMX_BASIC_TRUE_CTLS BIT(55)
#define VMX_BASIC_NO_HW_ERROR_CODE_CHECK BIT(56) /* any hardware exception with or without an error code */
#define VMX_BASIC_NO_HW_ERRCODE_CC BIT(56)

/* IA32_VMX_MISC ("Miscellaneous Data"). */
#define VMX_MISC_PREEMPTION_TIMER_RATE_MASK 0x1fULL
#define VMX_MISC_SAVE_EFER_LMA BIT(5)
#define VMX_MISC_ACTIVITY_HLT BIT(6)
#define VMX_MISC_ZERO_LEN_INS BIT(30)

/* Pin-based VM-execution controls. */
#define PIN_BASED_EXT_INTR_MASK BIT(0)
#define PIN_BASED_NMI_EXITING BIT(3)
#define PIN_BASED_VIRTUAL_NMIS BIT(5)
#define PIN_BASED_VMX_PREEMPTION_TIMER BIT(6)
#define PIN_BASED_POSTED_INTR BIT(7)

/* Primary processor-based VM-execution controls. */
#define CPU_BASED_INTR_WINDOW_EXITING BIT(2)
#define CPU_BASED_USE_TSC_OFFSETTING BIT(3)
#define CPU_BASED_HLT_EXITING BIT(7)
#define CPU_BASED_INVLPG_EXITING BIT(9)
#define CPU_BASED_MWAIT_EXITING BIT(10)
#define CPU_BASED_RDPMC_EXITING BIT(11)
#define CPU_BASED_RDTSC_EXITING BIT(12)
#define CPU_BASED_CR3_LOAD_EXITING BIT(15)
#define CPU_BASED_CR3_STORE_EXITING BIT(16)
#define CPU_BASED_CR8_LOAD_EXITING BIT(19)
#define CPU_BASED_CR8_STORE_EXITING BIT(20)
#define CPU_BASED_TPR_SHADOW BIT(21)
#define CPU_BASED_NMI_WINDOW_EXITING BIT(22)
#define CPU_BASED_MOV_DR_EXITING BIT(23)
#define CPU_BASED_UNCOND_IO_EXITING BIT(24)
#define CPU_BASED_USE_IO_BITMAPS BIT(25)
#define CPU_BASED_MONITOR_TRAP_FLAG BIT(27)
#define CPU_BASED_USE_MSR_BITMAPS BIT(28)
#define CPU_BASED_MONITOR_EXITING BIT(29)
#define CPU_BASED_PAUSE_EXITING BIT(30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS BIT(31)

/* Secondary processor-based VM-execution controls. */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES BIT(0)
#define SECONDARY_EXEC_ENABLE_EPT BIT(1)
#define SECONDARY_EXEC_DESC BIT(2)
#define SECONDARY_EXEC_ENABLE_RDTSCP BIT(3)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE BIT(4)
#define SECONDARY_EXEC_ENABLE_VPID BIT(5)
#define SECONDARY_EXEC_WBINVD_EXITING BIT(6)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST BIT(7)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT BIT(8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY BIT(9)
#define SECONDARY_EXEC_PAUSE_LOOP_EXITING BIT(10)
#define SECONDARY_EXEC_RDRAND_EXITING BIT(11)
#define SECONDARY_EXEC_ENABLE_INVPCID BIT(12)
#define SECONDARY_EXEC_ENABLE_VMFUNC BIT(13)
#define SECONDARY_EXEC_SHADOW_VMCS BIT(14)
#define SECONDARY_EXEC_ENCLS_EXITING BIT(15)
#define SECONDARY_EXEC_RDSEED_EXITING BIT(16)
#define SECONDARY_EXEC_ENABLE_PML BIT(17)
#define SECONDARY_EXEC_EPT_VIOLATION_VE BIT(18)
#define SECONDARY_EXEC_PT_CONCEAL_VMX BIT(19)
#define SECONDARY_EXEC_ENABLE_XSAVES BIT(20)
#define SECONDARY_EXEC_MODE_BASED_EPT_EXEC BIT(22)
#define SECONDARY_EXEC_TSC_SCALING BIT(25)

/* VM-exit controls. */
#define VM_EXIT_SAVE_DEBUG_CONTROLS BIT(2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE BIT(9)
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL BIT(12)
#define VM_EXIT_ACK_INTR_ON_EXIT BIT(15)
#define VM_EXIT_SAVE_IA32_PAT BIT(18)
#define VM_EXIT_LOAD_IA32_PAT BIT(19)
#define VM_EXIT_SAVE_IA32_EFER BIT(20)
#define VM_EXIT_LOAD_IA32_EFER BIT(21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER BIT(22)

/* VM-entry controls. */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS BIT(2)
#define VM_ENTRY_IA32E_MODE BIT(9)
#define VM_ENTRY_SMM BIT(10)
#define VM_ENTRY_DEACT_DUAL_MONITOR BIT(11)
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL BIT(13)
#define VM_ENTRY_LOAD_IA32_PAT BIT(14)
#define VM_ENTRY_LOAD_IA32_EFER BIT(15)

/* IA32_VMX_EPT_VPID_CAP ("VPID and EPT Capabilities"). */
#define VMX_EPT_EXECUTE_ONLY_BIT BIT(0)
#define VMX_EPT_PAGE_WALK_4_BIT BIT(6)
#define VMX_EPT_PAGE_WALK_5_BIT BIT(7)
#define VMX_EPTP_UC_BIT BIT(8)
#define VMX_EPTP_WB_BIT BIT(14)
#define VMX_EPT_2MB_PAGE_BIT BIT(16)
#define VMX_EPT_1GB_PAGE_BIT BIT(17)
#define VMX_EPT_INVEPT_BIT BIT(20)
#define VMX_EPT_AD_BIT BIT(21)
#define VMX_EPT_ADV_EXIT_INFO_BIT BIT(22) /* EPT-violation qualification bits 9-11 reported */
#define VMX_EPT_EXTENT_CONTEXT_BIT BIT(25)
#define VMX_EPT_EXTENT_GLOBAL_BIT BIT(26)
#define VMX_VPID_INVVPID_BIT BIT(32)
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT BIT(40)
#define VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT BIT(41)
#define VMX_VPID_EXTENT_ALL_CONTEXT_BIT BIT(42)
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT BIT(43)

/* IA32_VMX_VMFUNC. */
#define VMX_VMFUNC_EPTP_SWITCHING BIT(0)

/* VMCS field encodings used so far ("Field Encoding in VMCS"). */
#define VM_INSTRUCTION_ERROR 0x00004400

/* Status of a VMX instruction. */
enum vmx_status { VMX_OK = 0, VMX_FAIL_INVALID = 1, VMX_FAIL_VALID = 2 };

/* CF=1 -> VMfailInvalid, ZF=1 -> VMfailValid (SDM "Conventions"). */
#define VMX_STATUS_ASM "setc %b[cf]\n\tsetz %b[zf]"
static inline enum vmx_status vmx_status_of(u8 cf, u8 zf)
{
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline enum vmx_status __vmxon(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmxon %[pa]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(pa)
			 : "cc", "memory");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __vmxoff(void)
{
	u8 cf, zf;
	__asm__ volatile("vmxoff\n\t" VMX_STATUS_ASM : [cf] "=qm"(cf), [zf] "=qm"(zf)::"cc", "memory");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __vmclear(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmclear %[pa]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(pa)
			 : "cc", "memory");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __vmptrld(u64 pa)
{
	u8 cf, zf;
	__asm__ volatile("vmptrld %[pa]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(pa)
			 : "cc", "memory");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __vmread(u64 field, u64 *val)
{
	u8 cf, zf;
	__asm__ volatile("vmread %[f], %[v]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf), [v] "=rm"(*val)
			 : [f] "r"(field)
			 : "cc");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __vmwrite(u64 field, u64 val)
{
	u8 cf, zf;
	__asm__ volatile("vmwrite %[v], %[f]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [f] "r"(field), [v] "rm"(val)
			 : "cc");
	return vmx_status_of(cf, zf);
}

/* INVEPT / INVVPID types (SDM "INVEPT", "INVVPID"). */
#define VMX_EPT_EXTENT_CONTEXT 1
#define VMX_EPT_EXTENT_GLOBAL 2
#define VMX_VPID_EXTENT_SINGLE_CONTEXT 1
#define VMX_VPID_EXTENT_ALL_CONTEXT 2

static inline enum vmx_status __invept(u64 type, u64 eptp)
{
	struct {
		u64 eptp, reserved;
	} desc = {eptp, 0};
	u8 cf, zf;
	__asm__ volatile("invept %[d], %[t]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "cc", "memory");
	return vmx_status_of(cf, zf);
}

static inline enum vmx_status __invvpid(u64 type, u16 vpid, u64 gva)
{
	struct {
		u64 vpid, gva;
	} desc = {vpid, gva};
	u8 cf, zf;
	__asm__ volatile("invvpid %[d], %[t]\n\t" VMX_STATUS_ASM
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "cc", "memory");
	return vmx_status_of(cf, zf);
}
#endif
