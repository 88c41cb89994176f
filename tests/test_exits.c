/* test_exits.c: one suite per basic VM exit: the guest scenario of the same name makes the
 * guest-side checks (HC_CHECK), and these cases check what the hypervisor saw: exit counts,
 * stop reason, and values the guest left in its boot info page. */
#include "suites.h"
#include "../vmm/vmcs.h"
#include "../kernel/x86.h"

/* Runs `scenario`, expects a clean HC_EXIT(0) and at least `min` exits of `reason`. False when
 * the VM could not be prepared: the case must end (ASSERT_RUN_EXPECT). */
static bool run_expect(struct vm *vm, const char *scenario, u32 reason, u64 min)
{
	if (prepare_scenario(vm, scenario, 0))
		return false;
	EXPECT_EQ(run_prepared(vm), VM_STOP_EXIT);
	EXPECT_EQ(vm->exit_status, 0);
	if (!EXPECT(vm->stats.by_reason[reason] >= min))
		kt_diag("%s: %llu exits of reason %s, want >= %lu", scenario, vm->stats.by_reason[reason],
			exit_reason_str(reason), min);
	return true;
}
#define ASSERT_RUN_EXPECT(...)                                                                  \
	do {                                                                                    \
		if (!run_expect(__VA_ARGS__))                                                   \
			return;                                                                 \
	} while (0)

static void cpuid_leaves(void)
{
	struct vm vm;
	u32 a, b, c, d;
	ASSERT_RUN_EXPECT(&vm, "cpuid", EXIT_REASON_CPUID, 4);
	const unsigned long long *out = vm_boot_info(&vm)->out;
	cpuid(0, 0, &a, &b, &c, &d); /* passthrough leaves equal the hardware's */
	EXPECT_EQ(out[0], a);
	EXPECT_EQ(out[1], b);
	EXPECT_EQ(out[2], c);
	EXPECT_EQ(out[3], d);
	cpuid(1, 0, &a, &b, &c, &d);
	EXPECT_EQ(out[4], a);
	EXPECT_EQ(out[5], b & 0xffffff); /* bits 31:24 are the APIC id */
	EXPECT_EQ(out[6], d);
	vm_destroy(&vm);
}

KTAP_SUITE(exit_cpuid, vmm_setup, vmm_fini, KTAP_CASE(cpuid_leaves));

static void every_call(void)
{
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "vmcall", EXIT_REASON_VMCALL, 10);
	EXPECT(vm.stats.hypercall_errors >= 8); /* the error paths the scenario takes */
	vm_destroy(&vm);
}

/* HC_VMXOFF leaves VMX and comes back to the hypervisor; VMX can be entered again after. */
static void vmxoff_returns(void)
{
	struct vm vm;
	ASSERT_RUN(&vm, "vmxoff", 0, VM_STOP_VMXOFF);
	EXPECT(!vmx_is_on());
	vm_destroy(&vm);
	EXPECT_EQ(vmx_on(), 0);
	ASSERT_RUN(&vm, "hello", 0, VM_STOP_EXIT);
	vm_destroy(&vm);
}

KTAP_SUITE(exit_vmcall, vmm_setup, vmm_fini, KTAP_CASE(every_call), KTAP_CASE(vmxoff_returns));

static void ports(void)
{
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "io", EXIT_REASON_IO_INSTRUCTION, 7);
	EXPECT_EQ(vm.stats.io_other_reads, 3);
	EXPECT_EQ(vm.stats.io_other_writes, 4);
	vm_destroy(&vm);
}

KTAP_SUITE(exit_io, vmm_setup, vmm_fini, KTAP_CASE(ports));

static void msrs(void)
{
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "msr", EXIT_REASON_MSR_READ, 3); /* FEATURE_CONTROL, VMX_BASIC, 0xdead0000 */
	EXPECT(vm.stats.by_reason[EXIT_REASON_MSR_WRITE] >= 1);
	vm_destroy(&vm);
}

KTAP_SUITE(exit_msr, vmm_setup, vmm_fini, KTAP_CASE(msrs));

static void control_registers(void)
{
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "cr", EXIT_REASON_CR_ACCESS, 2); /* CR4.VMXE and CR0.PG attempts at least */
	vm_destroy(&vm);
}

KTAP_SUITE(exit_cr, vmm_setup, vmm_fini, KTAP_CASE(control_registers));

static void vmx_instructions_ud(void)
{
	static const u32 reasons[] = {EXIT_REASON_VMON, EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST,
				      EXIT_REASON_VMCLEAR, EXIT_REASON_VMREAD, EXIT_REASON_VMWRITE,
				      EXIT_REASON_VMLAUNCH, EXIT_REASON_VMRESUME, EXIT_REASON_INVEPT,
				      EXIT_REASON_INVVPID};
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "vmx_insns", EXIT_REASON_VMOFF, 1);
	for (u64 i = 0; i < ARRAY_SIZE(reasons); i++)
		if (!EXPECT(vm.stats.by_reason[reasons[i]] >= 1))
			kt_diag("no %s exit", exit_reason_str(reasons[i]));
	vm_destroy(&vm);
}

KTAP_SUITE(exit_vmx_insns, vmm_setup, vmm_fini, KTAP_CASE(vmx_instructions_ud));

static void xsetbv(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	struct vm vm;
	ASSERT_RUN_EXPECT(&vm, "xsetbv", EXIT_REASON_XSETBV, (c & BIT(26)) ? 4 : 0);
	vm_destroy(&vm);
	if (!(c & BIT(26)))
		SKIP("this CPU has no XSAVE (CPUID.1:ECX.XSAVE=0)");
}

KTAP_SUITE(exit_xsetbv, vmm_setup, vmm_fini, KTAP_CASE(xsetbv));

/* Exits that no scenario needs: the instructions are written over the guest's entry point. */
static u8 *entry_bytes(struct vm *vm) { return vm_gpa(vm, vmcs_read(GUEST_RIP), 16); }

static void hlt_and_invd(void)
{
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	u64 entry = vmcs_read(GUEST_RIP);
	memcpy(entry_bytes(&vm), "\x0f\x08\xf4", 3); /* INVD; HLT */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_HLT);
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_INVD], 1);
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_HLT], 1);
	EXPECT_EQ(vmcs_read(GUEST_RIP), entry + 3); /* both completed */
	vm_destroy(&vm);
}

/* GETSEC exits only with CR4.SMXE=1 (otherwise the CPU raises #UD itself); we answer #UD, which
 * this guest, with no IDT yet, turns into a triple fault. */
static void getsec_ud(void)
{
	if (!(vmx_caps.msr[VMX_MSR_CR4_FIXED1] & BIT(14)))
		SKIP("CR4.SMXE cannot be set in VMX operation on this CPU (IA32_VMX_CR4_FIXED1 bit 14 = 0)");
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0);
	vmcs_write(GUEST_CR4, vmcs_read(GUEST_CR4) | BIT(14));
	memcpy(entry_bytes(&vm), "\x0f\x37", 2); /* GETSEC */
	EXPECT_EQ(run_prepared(&vm), VM_STOP_TRIPLE_FAULT);
	EXPECT_EQ(vm.stats.by_reason[EXIT_REASON_GETSEC], 1);
	vm_destroy(&vm);
}

static void injection_rules(void)
{
	struct vm vm;
	ASSERT_EQ(prepare_scenario(&vm, "hello", 0), 0); /* RFLAGS.IF = 0 at entry */
	EXPECT_EQ(vm_inject_event(&vm, INTR_TYPE_EXT_INTR, 0x30, false, 0, 0), (u64)-1);
	vmcs_write(GUEST_RFLAGS, 0x202);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
	EXPECT_EQ(vm_inject_event(&vm, INTR_TYPE_EXT_INTR, 0x30, false, 0, 0), (u64)-1);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
	EXPECT_EQ(vm_inject_event(&vm, INTR_TYPE_NMI_INTR, 2, false, 0, 0), (u64)-1);
	EXPECT_EQ(vmcs_read(VM_ENTRY_INTR_INFO_FIELD), 0); /* nothing was queued */
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	EXPECT_EQ(vm_inject_event(&vm, INTR_TYPE_EXT_INTR, 0x30, false, 0, 0), 0);
	EXPECT_EQ(vmcs_read(VM_ENTRY_INTR_INFO_FIELD), 0x30 | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
	vm_inject(&vm, 13, true, 0x10);
	EXPECT_EQ(vmcs_read(VM_ENTRY_INTR_INFO_FIELD),
		  13 | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | INTR_INFO_VALID_MASK);
	EXPECT_EQ(vmcs_read(VM_ENTRY_EXCEPTION_ERROR_CODE), 0x10);
	EXPECT_EQ(vm_inject_event(&vm, INTR_TYPE_SOFT_EXCEPTION, 3, false, 0, 1), 0); /* INT3 */
	EXPECT_EQ(vmcs_read(VM_ENTRY_INSTRUCTION_LEN), 1);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(GUEST_RFLAGS, 0x2);
	EXPECT_EQ(run_prepared(&vm), VM_STOP_EXIT); /* and the guest runs as usual */
	vm_destroy(&vm);
}

KTAP_SUITE(exit_other, vmm_setup, vmm_fini, KTAP_CASE(hlt_and_invd), KTAP_CASE(getsec_ud), KTAP_CASE(injection_rules));
