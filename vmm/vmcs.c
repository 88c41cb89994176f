/* vmcs.c: one VMCS per VM: controls computed from the capability MSRs, host state from the
 * running hypervisor, guest state for a 64-bit guest entry (SDM "Virtual Machine Control
 * Structures", "Checks on VMX Controls and Host-State Area", "Checks on the Guest State Area").
 * Every VMREAD/VMWRITE is checked. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

extern void vmx_exit_stub(void);

u64 vmcs_read(u64 field)
{
	u64 v = 0;
	if (__vmread(field, &v) != VMX_OK)
		printf("# vmx: VMREAD of field 0x%lx failed\n", field);
	return v;
}

void vmcs_write(u64 field, u64 val)
{
	if (__vmwrite(field, val) != VMX_OK) {
		u64 err = 0;
		__vmread(VM_INSTRUCTION_ERROR, &err);
		printf("# vmx: VMWRITE 0x%lx to field 0x%lx failed: %s\n", val, field, vmx_insn_error_str(err));
	}
}

/* Set one control field: the wanted bits the CPU allows plus the ones it requires. A wanted
 * bit in `required` that the CPU refuses is an error. */
static int set_control(u64 field, struct vmx_ctl ctl, u32 want, u32 required, const char *name)
{
	u32 refused, v = vmx_ctl_adjust(ctl, want, &refused);
	if (refused & required) {
		printf("# vmx: this CPU cannot set %s bits 0x%x, which hvlab requires\n", name, refused & required);
		return -1;
	}
	vmcs_write(field, v);
	return 0;
}

static int setup_controls(struct vm *vm)
{
	const struct vmx_caps *c = &vmx_caps;
	u32 proc2 = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_INVPCID |
		    SECONDARY_EXEC_ENABLE_XSAVES | (vm->vpid ? SECONDARY_EXEC_ENABLE_VPID : 0) |
		    (c->eptp_switching ? SECONDARY_EXEC_ENABLE_VMFUNC : 0);
	int err = 0;
	err |= set_control(PIN_BASED_VM_EXEC_CONTROL, c->pin, 0, 0, "pin-based");
	err |= set_control(CPU_BASED_VM_EXEC_CONTROL, c->proc,
			   CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
				   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			   CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
				   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			   "primary processor-based");
	err |= set_control(SECONDARY_VM_EXEC_CONTROL, c->proc2, proc2, SECONDARY_EXEC_ENABLE_EPT, "secondary");
	/* debug controls: the guest's DR7 and IA32_DEBUGCTL survive VM exits (else DR7 = 400H) */
	err |= set_control(VM_EXIT_CONTROLS, c->exit,
			   VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |
				   VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_DEBUG_CONTROLS,
			   VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER, "VM-exit");
	err |= set_control(VM_ENTRY_CONTROLS, c->entry,
			   VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT |
				   VM_ENTRY_LOAD_DEBUG_CONTROLS,
			   VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER, "VM-entry");
	/* VMFUNC: the CPU's EPTP switching through the EPTP list, or #UD intercepted so
	 * views.c can emulate it (SDM "VM Functions", "EPTP Switching"). */
	if (c->eptp_switching) {
		vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
		vmcs_write(EPTP_LIST_ADDRESS, (u64)vm->sh->eptp_list);
	}
	vmcs_write(EXCEPTION_BITMAP, c->eptp_switching ? 0 : BIT(6));
	if (c->ept_violation_ve)
		vmcs_write(EPTP_INDEX, 0);
	vmcs_write(IO_BITMAP_A, (u64)vm->io_bitmap);
	vmcs_write(IO_BITMAP_B, (u64)vm->io_bitmap + PAGE_SIZE);
	vmcs_write(MSR_BITMAP, (u64)vm->msr_bitmap);
	vmcs_write(EPT_POINTER, ept_eptp(&vm->sh->views[0]));
	if (vm->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vm->vpid);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	/* CR0/CR4 bits owned by the hypervisor: the VMX-fixed ones, CD/NW, and CR4.VMXE (the guest
	 * sees VMX as absent). Guest writes to them exit; guest reads see the shadows. */
	vm->cr0_mask = (c->msr[VMX_MSR_CR0_FIXED0] | ~c->msr[VMX_MSR_CR0_FIXED1] | BIT(29) | BIT(30)) & 0xffffffffUL;
	vm->cr4_mask = (c->msr[VMX_MSR_CR4_FIXED0] | ~c->msr[VMX_MSR_CR4_FIXED1] | X86_CR4_VMXE) & 0xffffffffUL;
	vmcs_write(CR0_GUEST_HOST_MASK, vm->cr0_mask);
	vmcs_write(CR4_GUEST_HOST_MASK, vm->cr4_mask);
	return err ? -1 : 0;
}

static void setup_host(void)
{
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	vmcs_write(HOST_CS_SELECTOR, KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, KERNEL_DS);
	vmcs_write(HOST_ES_SELECTOR, KERNEL_DS);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, TSS_SEL);
	vmcs_write(HOST_FS_BASE, 0);
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE)); /* this CPU's struct cpu (kernel/smp.c) */
	vmcs_write(HOST_TR_BASE, tss_base());
	vmcs_write(HOST_GDTR_BASE, gdt_base());
	vmcs_write(HOST_IDTR_BASE, idt_base());
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_CR_PAT));
	vmcs_write(HOST_RIP, (u64)vmx_exit_stub);
}

/* One guest segment register: selector, base 0, limit (none when unusable), access rights
 * (SDM "Guest Register State"; the fields of ES..TR are 2 encodings apart). Inline so that an
 * exercise tree without its callers still builds. */
static inline void guest_segment(u64 sel_field, u16 sel, u32 ar)
{
	u64 i = (sel_field - GUEST_ES_SELECTOR) / 2; /* ES, CS, SS, DS, FS, GS, LDTR, TR */
	vmcs_write(sel_field, sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, 0);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, ar & BIT(16) ? 0 : 0xffffffff);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* 64-bit guest at CPL 0 as the boot contract in hypercall.h describes. */
void vmcs_guest_reset(struct vm *vm, u64 rip, u64 rsp, u64 cr3)
{
	const struct vmx_caps *c = &vmx_caps;
	u64 cr0 = X86_CR0_PE | BIT(4) /* ET */ | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	u64 cr4 = X86_CR4_PAE;
	vmcs_write(GUEST_CR0, vmx_fixed_cr0(c, cr0));
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR4, vmx_fixed_cr4(c, cr4 | X86_CR4_VMXE));
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR3, cr3);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_RSP, rsp);
	vmcs_write(GUEST_RIP, rip);
	vmcs_write(GUEST_RFLAGS, 0x2);
	/* EXERCISE(03): the guest's segment registers, with guest_segment (docs/exercises/03-vmcs.md):
	 * CS 0x08 a 64-bit code segment, SS/DS/ES/FS/GS 0x10 a flat data segment, LDTR unusable,
	 * TR a busy 64-bit TSS of limit 0x67 (the GDT of the boot contract in vmm/hypercall.h);
	 * SDM "Checks on Guest Segment Registers". */
	guest_segment(GUEST_CS_SELECTOR, 0x08, 0xa09b); /* present, S, code exec/read/accessed, L, G */
	u16 segs[] = {GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
	for (u64 i = 0; i < ARRAY_SIZE(segs); i++)
		guest_segment(segs[i], 0x10, 0xc093); /* present, S, data read/write/accessed, D/B, G */
	guest_segment(GUEST_LDTR_SELECTOR, 0, BIT(16)); /* unusable */
	guest_segment(GUEST_TR_SELECTOR, 0, 0x8b);      /* busy 64-bit TSS, present */
	vmcs_write(GUEST_TR_LIMIT, 0x67);
	/* END EXERCISE(03) */
	vmcs_write(GUEST_GDTR_BASE, HV_BOOT_GDT_GPA);
	vmcs_write(GUEST_GDTR_LIMIT, 3 * 8 - 1);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);
	vmcs_write(GUEST_IA32_EFER, MSR_EFER_LME | MSR_EFER_LMA | MSR_EFER_NXE);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406UL); /* the power-on PAT */
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0UL);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	memset(vm->regs, 0, sizeof(vm->regs));
}

/* Make vm->vmcs current and fill controls and host state. */
int vmcs_setup(struct vm *vm)
{
	if (VMX_CHECK("VMCLEAR", __vmclear((u64)vm->vmcs)) || VMX_CHECK("VMPTRLD", __vmptrld((u64)vm->vmcs)))
		return -1;
	setup_host();
	return setup_controls(vm);
}
