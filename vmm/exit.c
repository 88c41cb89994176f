/* exit.c: the VM-exit dispatcher (one switch) and the handlers of the basic exits. Each handler
 * either completes the instruction (and advances RIP), injects the exception a CPU without
 * the feature would raise, or stops the guest with a report. Nothing the guest does here can
 * reach hypervisor memory: all guest addresses go through vm_gpa(). */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"

#define COM1 0x3f8

static const char *const reason_names[] = {
	[EXIT_REASON_EXCEPTION_NMI] = "EXCEPTION_NMI", [EXIT_REASON_EXTERNAL_INTERRUPT] = "EXTERNAL_INTERRUPT",
	[EXIT_REASON_TRIPLE_FAULT] = "TRIPLE_FAULT", [EXIT_REASON_INIT_SIGNAL] = "INIT_SIGNAL",
	[EXIT_REASON_INTERRUPT_WINDOW] = "INTERRUPT_WINDOW", [EXIT_REASON_NMI_WINDOW] = "NMI_WINDOW",
	[EXIT_REASON_TASK_SWITCH] = "TASK_SWITCH", [EXIT_REASON_CPUID] = "CPUID", [EXIT_REASON_GETSEC] = "GETSEC",
	[EXIT_REASON_HLT] = "HLT", [EXIT_REASON_INVD] = "INVD", [EXIT_REASON_INVLPG] = "INVLPG",
	[EXIT_REASON_RDPMC] = "RDPMC", [EXIT_REASON_RDTSC] = "RDTSC", [EXIT_REASON_VMCALL] = "VMCALL",
	[EXIT_REASON_VMCLEAR] = "VMCLEAR", [EXIT_REASON_VMLAUNCH] = "VMLAUNCH", [EXIT_REASON_VMPTRLD] = "VMPTRLD",
	[EXIT_REASON_VMPTRST] = "VMPTRST", [EXIT_REASON_VMREAD] = "VMREAD", [EXIT_REASON_VMRESUME] = "VMRESUME",
	[EXIT_REASON_VMWRITE] = "VMWRITE", [EXIT_REASON_VMOFF] = "VMXOFF", [EXIT_REASON_VMON] = "VMXON",
	[EXIT_REASON_CR_ACCESS] = "CR_ACCESS", [EXIT_REASON_DR_ACCESS] = "DR_ACCESS",
	[EXIT_REASON_IO_INSTRUCTION] = "IO_INSTRUCTION", [EXIT_REASON_MSR_READ] = "MSR_READ",
	[EXIT_REASON_MSR_WRITE] = "MSR_WRITE", [EXIT_REASON_INVALID_STATE] = "INVALID_STATE",
	[EXIT_REASON_MSR_LOAD_FAIL] = "MSR_LOAD_FAIL", [EXIT_REASON_MWAIT_INSTRUCTION] = "MWAIT",
	[EXIT_REASON_MONITOR_TRAP_FLAG] = "MONITOR_TRAP_FLAG", [EXIT_REASON_MONITOR_INSTRUCTION] = "MONITOR",
	[EXIT_REASON_PAUSE_INSTRUCTION] = "PAUSE", [EXIT_REASON_MCE_DURING_VMENTRY] = "MCE_DURING_VMENTRY",
	[EXIT_REASON_EPT_VIOLATION] = "EPT_VIOLATION", [EXIT_REASON_EPT_MISCONFIG] = "EPT_MISCONFIG",
	[EXIT_REASON_INVEPT] = "INVEPT", [EXIT_REASON_RDTSCP] = "RDTSCP",
	[EXIT_REASON_PREEMPTION_TIMER] = "PREEMPTION_TIMER", [EXIT_REASON_INVVPID] = "INVVPID",
	[EXIT_REASON_WBINVD] = "WBINVD", [EXIT_REASON_XSETBV] = "XSETBV", [EXIT_REASON_RDRAND] = "RDRAND",
	[EXIT_REASON_INVPCID] = "INVPCID", [EXIT_REASON_VMFUNC] = "VMFUNC", [EXIT_REASON_RDSEED] = "RDSEED",
	[EXIT_REASON_XSAVES] = "XSAVES", [EXIT_REASON_XRSTORS] = "XRSTORS",
};

const char *exit_reason_str(u32 reason)
{
	return reason < ARRAY_SIZE(reason_names) && reason_names[reason] ? reason_names[reason] : "UNKNOWN";
}

#define inject_ud(vm) vm_inject(vm, 6, false, 0)
#define inject_gp(vm) vm_inject(vm, 13, true, 0)

static void handle_cpuid(struct vm *vm)
{
	u32 leaf = vm->regs[0], sub = vm->regs[1], a = 0, b = 0, c = 0, d = 0;
	if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
		/* EXERCISE(04): the hypervisor's own CPUID leaves (docs/exercises/04-exits.md).
		 * 0x40000000: EAX = HV_CPUID_MAX_LEAF, EBX:ECX:EDX = HV_CPUID_SIGNATURE;
		 * 0x40000001: EAX = HV_ABI_VERSION; every other leaf of the range: all zero. */
		const char *sig = HV_CPUID_SIGNATURE;
		if (leaf == 0x40000000) {
			a = HV_CPUID_MAX_LEAF;
			memcpy(&b, sig, 4), memcpy(&c, sig + 4, 4), memcpy(&d, sig + 8, 4);
		} else if (leaf == 0x40000001) {
			a = HV_ABI_VERSION;
		}
		/* END EXERCISE(04) */
	} else {
		cpuid(leaf, sub, &a, &b, &c, &d);
		if (leaf == 1) {
			c &= ~(u32)BIT(5); /* VMX: we offer no nested VMX */
			c |= BIT(31);      /* "hypervisor present" */
		}
	}
	vm->regs[0] = a, vm->regs[3] = b, vm->regs[1] = c, vm->regs[2] = d;
	vm_skip_instruction(vm);
}

/* Port I/O: COM1 is the guest console (output forwarded; the line status register reads
 * "transmitter empty"); every other port reads all-ones and drops writes, both counted.
 * Qualification: SDM "Exit Qualification for I/O Instructions". */
static void handle_io(struct vm *vm)
{
	u64 q = vm->exit.qual;
	u32 size = (q & 7) + 1, port = q >> 16;
	bool in = q & BIT(3), string = q & BIT(4);
	if (string) { /* INS/OUTS: not emulated (the guest console uses OUT) */
		printf("# vm: string I/O to port 0x%x refused\n", port);
		vm->stop = VM_STOP_BAD_GUEST;
		return;
	}
	bool com1 = port >= COM1 && port < COM1 + 8;
	if (in) {
		u64 mask = size == 4 ? 0xffffffffUL : (1UL << (8 * size)) - 1;
		u64 val = com1 ? (port == COM1 + 5 ? 0x60 : 0) : mask;
		/* A 32-bit IN zero-extends into RAX; 8/16-bit INs keep the upper bits. */
		vm->regs[0] = size == 4 ? val : (vm->regs[0] & ~mask) | val;
		if (!com1)
			vm->stats.io_other_reads++;
	} else if (port == COM1) {
		vm_console_putc(vm, (char)vm->regs[0]);
	} else if (!com1) {
		vm->stats.io_other_writes++;
	}
	vm_skip_instruction(vm);
}

static bool msr_in_bitmap_range(u32 msr) { return msr <= 0x1fff || (msr >= 0xc0000000 && msr <= 0xc0001fff); }
static bool msr_is_vmx(u32 msr) { return msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_VMFUNC; }

/* RDMSR exits only for what the bitmap intercepts, or an MSR outside the bitmap's ranges. */
static void handle_rdmsr(struct vm *vm)
{
	u32 msr = vm->regs[1];
	u64 val;
	if (msr == MSR_IA32_FEAT_CTL)
		val = FEAT_CTL_LOCKED; /* locked with VMX disabled: the guest sees no VMX */
	else if (msr_is_vmx(msr) || !msr_in_bitmap_range(msr) || rdmsr_safe(msr, &val))
		return inject_gp(vm);
	vm->regs[0] = (u32)val, vm->regs[2] = val >> 32;
	vm_skip_instruction(vm);
}

/* WRMSR exits for every MSR but the write-through list in vm.c. Writes to an MSR that exists
 * are dropped (the guest must not reprogram the host's MTRRs, APIC base, ...); to one that
 * does not, or to the VMX and feature-control MSRs, they raise #GP as on a CPU without VMX. */
static void handle_wrmsr(struct vm *vm)
{
	u32 msr = vm->regs[1];
	u64 val;
	if (msr == MSR_IA32_FEAT_CTL || msr_is_vmx(msr) || !msr_in_bitmap_range(msr) || rdmsr_safe(msr, &val))
		return inject_gp(vm);
	vm_skip_instruction(vm);
}

/* MOV to CR0 with the architectural checks (SDM "MOV—Move to/from Control Registers"). */
static bool set_cr0(struct vm *vm, u64 val)
{
	bool lma = vmcs_read(GUEST_IA32_EFER) & MSR_EFER_LMA;
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) || ((val & BIT(29)) && !(val & BIT(30))) ||
	    (lma && !(val & X86_CR0_PG)))
		return false;
	(void)vm;
	vmcs_write(GUEST_CR0, vmx_fixed_cr0(&vmx_caps, val));
	vmcs_write(CR0_READ_SHADOW, val);
	return true;
}

static bool set_cr4(struct vm *vm, u64 val)
{
	u64 allowed = vmx_caps.msr[VMX_MSR_CR4_FIXED1] & ~X86_CR4_VMXE;
	bool lma = vmcs_read(GUEST_IA32_EFER) & MSR_EFER_LMA;
	(void)vm;
	if ((val & ~allowed) || (lma && !(val & X86_CR4_PAE)))
		return false; /* reserved bits, CR4.VMXE (no nested VMX), or PAE off in long mode */
	vmcs_write(GUEST_CR4, vmx_fixed_cr4(&vmx_caps, val | X86_CR4_VMXE));
	vmcs_write(CR4_READ_SHADOW, val);
	return true;
}

/* Qualification: SDM "Exit Qualification for Control-Register Accesses". */
static void handle_cr(struct vm *vm)
{
	u64 q = vm->exit.qual, rsp;
	int cr = q & 15, type = (q >> 4) & 3;
	u64 *reg = vcpu_gpr(vm, (q >> 8) & 15, &rsp);
	bool ok = true;
	if (type == 0 && cr == 0)
		ok = set_cr0(vm, *reg);
	else if (type == 0 && cr == 4)
		ok = set_cr4(vm, *reg);
	else if (type == 0 && cr == 3)
		vmcs_write(GUEST_CR3, *reg);
	else if (type == 1 && cr == 3)
		*reg = vmcs_read(GUEST_CR3);
	else if (type == 1 && cr == 8)
		*reg = 0;
	else if (type == 2) /* CLTS */
		ok = set_cr0(vm, vmcs_read(CR0_READ_SHADOW) & ~BIT(3));
	else if (type == 3) /* LMSW: loads CR0[3:0] but cannot clear PE */
		ok = set_cr0(vm, (vmcs_read(CR0_READ_SHADOW) & ~0xeUL) | ((q >> 16) & 0xf));
	else if (type != 0 || cr != 8)
		ok = false;
	if (!ok)
		return inject_gp(vm);
	if ((q >> 8 & 15) == 4 && type == 1)
		vmcs_write(GUEST_RSP, rsp);
	vm_skip_instruction(vm);
}

/* XSETBV (SDM "XSETBV"): CPL 0, XCR0 only, x87 bit set, AVX needs SSE, AVX-512 all-or-none
 * and needs AVX, only bits the CPU supports (CPUID.(EAX=0DH,ECX=0)). Then executed for real:
 * XCR0 is not switched by VM entry/exit and the hypervisor itself uses no extended state. */
static void handle_xsetbv(struct vm *vm)
{
	u32 a, b, c, d;
	u64 val = (vm->regs[2] << 32) | (u32)vm->regs[0];
	cpuid(0xd, 0, &a, &b, &c, &d);
	u64 supported = ((u64)d << 32) | a;
	if (vm_cpl() != 0 || (u32)vm->regs[1] != 0 || !(val & 1) || (val & ~supported) ||
	    ((val & 4) && !(val & 2)) || ((val & 0xe0) && (val & 0xe0) != 0xe0) || ((val & 0xe0) && !(val & 4)))
		return inject_gp(vm);
	__asm__ volatile("xsetbv" ::"a"((u32)val), "d"((u32)(val >> 32)), "c"(0));
	vm_skip_instruction(vm);
}

/* Exceptions intercepted through the exception bitmap: #UD (VMFUNC emulation on CPUs without
 * it) and, while a RFLAGS.TF step is open, every exception: the stepped instruction raised it,
 * the step has ended (step_end), and it goes to the guest as the CPU raised it (SDM
 * "Information for VM Exits Due to Vectored Events"); a #DB with the condition bits the exit
 * qualification carries, as DR6 would have them. */
static void handle_exception(struct vm *vm)
{
	const struct vm_exit *x = &vm->exit;
	u8 vector = x->intr_info & 0xff;
	u32 type = x->intr_info & (7 << 8);
	bool code = x->intr_info & INTR_INFO_DELIVER_CODE_MASK;
	if (type == INTR_TYPE_NMI_INTR && vm->smp) /* the host's NMI IPI (smp_vm.c), not the guest's */
		return smp_nmi_exit(vm);
	if (vector == 6 && vmfunc_emulate(vm))
		return;
	if (vm->fuzz && fuzz_exception(vm, vector)) /* a crash, or a coverage breakpoint (fuzz.c) */
		return;
	if (vector == 14) /* a #PF exit does not load CR2: the address is in the qualification */
		write_cr2(x->qual);
	if (vector == 1 && type == INTR_TYPE_HARD_EXCEPTION)
		return vcpu_inject_db(vm, x->qual);
	if (type == INTR_TYPE_HARD_EXCEPTION)
		return vm_inject(vm, vector, code, x->intr_error);
	vm_inject_event(vm, type, vector, code, x->intr_error, x->len);
}

static void stop_with_report(struct vm *vm, enum vm_stop why, const char *what)
{
	printf("# vm: %s; guest stopped\n", what);
	vm_dump_guest(vm);
	vm->stop = why;
}

void exit_handle(struct vm *vm, u32 reason)
{
	switch (reason) {
	case EXIT_REASON_CPUID:
		return handle_cpuid(vm);
	case EXIT_REASON_VMCALL:
		return hypercall_handle(vm);
	case EXIT_REASON_HLT:
		if (vintr_hlt(vm)) /* IF = 1 and something can wake it: it waited (vintr.c) */
			return;
		vm_skip_instruction(vm);
		vm->stop = VM_STOP_HLT; /* interrupts are never delivered: nothing would wake it */
		return;
	case EXIT_REASON_IO_INSTRUCTION:
		return handle_io(vm);
	case EXIT_REASON_MSR_READ:
		return handle_rdmsr(vm);
	case EXIT_REASON_MSR_WRITE:
		return handle_wrmsr(vm);
	case EXIT_REASON_CR_ACCESS:
		return handle_cr(vm);
	case EXIT_REASON_XSETBV:
		return handle_xsetbv(vm);
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		return vm_skip_instruction(vm); /* nothing is cached on the guest's behalf */
	case EXIT_REASON_INTERRUPT_WINDOW:
		return vintr_window_exit(vm);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return smp_external_interrupt(vm); /* IPIs: shootdown, kick (smp_vm.c) */
	/* No nested VMX: the guest's VMX instructions raise #UD, as on a CPU without VMX
	 * (CPUID.1:ECX.VMX is hidden). GETSEC exits only with CR4.SMXE, which we refuse. */
	case EXIT_REASON_VMCLEAR: case EXIT_REASON_VMLAUNCH: case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST: case EXIT_REASON_VMREAD: case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE: case EXIT_REASON_VMOFF: case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT: case EXIT_REASON_INVVPID: case EXIT_REASON_GETSEC:
	/* VMFUNC exits only when it fails (a leaf other than 0, an index outside the list or
	 * an empty entry, SDM "VMFUNC"); we answer as a CPU without VMFUNC would: #UD. */
	case EXIT_REASON_VMFUNC:
		return inject_ud(vm);
	case EXIT_REASON_TRIPLE_FAULT:
		return stop_with_report(vm, VM_STOP_TRIPLE_FAULT, "triple fault");
	case EXIT_REASON_EPT_VIOLATION:
		return violation_handle(vm);
	case EXIT_REASON_EXCEPTION_NMI:
		return handle_exception(vm);
	case EXIT_REASON_MONITOR_TRAP_FLAG: /* a step's end, taken by step_end(): not ours now */
		return;
	case EXIT_REASON_PREEMPTION_TIMER: /* the watchdog's, before its deadline (vm_run re-arms) */
		return;
	case EXIT_REASON_EPT_MISCONFIG:
		vm->stop_gpa = vm->exit.gpa;
		printf("# vm: EPT misconfiguration at GPA 0x%lx\n", vm->stop_gpa);
		return stop_with_report(vm, VM_STOP_EPT_MISCONFIG, "EPT misconfiguration");
	default:
		if (vm->fuzz && fuzz_exit(vm, reason)) /* RDRAND, RDSEED, RDTSC(P), PML full (fuzz.c) */
			return;
		printf("# vm: exit reason %u (%s), qualification 0x%lx: no handler\n", reason, exit_reason_str(reason),
		       vm->exit.qual);
		return stop_with_report(vm, VM_STOP_UNHANDLED, "unhandled exit");
	}
}
