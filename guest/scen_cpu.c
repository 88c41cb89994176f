/* scen_cpu.c: scenarios about instructions the hypervisor intercepts or passes through:
 * hello, cpuid, io, msr, cr, vmx_insns, xsetbv, and the exit-cost benchmark. Each checks what
 * the hypervisor is specified to do (docs/guest.md); expected faults are caught with
 * trap_catch(). Hypercall error paths are in scen_hc.c. */
#include "guest.h"

#define PORT_POST 0x80 /* "other" ports for the io scenario: not COM1 */
#define PORT_CMOS 0x70
#define PORT_KBD 0x60
#define BENCH_N 1000

static struct hv_exit_stats stats;
static u8 scratch[4096] __attribute__((aligned(4096))); /* operand page for VMX instructions */
static u64 scratch_ptr;                                 /* holds the GPA of scratch */
static struct {
	u64 a, b;
} desc128 __attribute__((aligned(16)));

void scen_hello(struct hv_boot_info *bi)
{
	(void)bi;
	guest_printf("hello from the guest\n");
	GEXPECT_EQ(hc0(HC_VERSION), HV_ABI_VERSION);
}

void scen_cpuid(struct hv_boot_info *bi)
{
	u32 a, b, c, d;
	char sig[13] = {0};
	cpuid(0x40000000, 0, &a, &b, &c, &d);
	GEXPECT_EQ(a, HV_CPUID_MAX_LEAF);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	if (!GEXPECT(!memcmp(sig, HV_CPUID_SIGNATURE, 12)))
		guest_printf("signature \"%s\"\n", sig);
	cpuid(0x40000001, 0, &a, &b, &c, &d);
	GEXPECT_EQ(a, HV_ABI_VERSION);
	cpuid(1, 0, &a, &b, &c, &d);
	GEXPECT(!(c & CPUID1_ECX_VMX));      /* no nested VMX: hidden */
	GEXPECT(c & CPUID1_ECX_HYPERVISOR); /* "running under a hypervisor" */
	bi->out[4] = a;
	bi->out[5] = b & 0x00ffffff; /* bits 31:24 are the initial APIC id: differs per CPU */
	bi->out[6] = d;
	cpuid(0, 0, &a, &b, &c, &d);
	bi->out[0] = a;
	bi->out[1] = b;
	bi->out[2] = c;
	bi->out[3] = d;
}

static void get_stats(void)
{
	GEXPECT_EQ(hc2(HC_GET_STATS, (u64)&stats, sizeof(stats)), sizeof(stats));
}

/* Exactly 4 writes and 3 reads to ports other than COM1; nothing else in the guest touches
 * such ports (console.c writes COM1 only). */
void scen_io(struct hv_boot_info *bi)
{
	outb(PORT_POST, 0x11);
	outb(PORT_POST, 0x22);
	outb(PORT_POST, 0x33);
	outw(PORT_CMOS, 0x000f);
	u8 b = inb(PORT_KBD);
	u16 w = inw(PORT_KBD);
	u32 l = inl(PORT_KBD);
	GEXPECT_EQ(b, 0xff); /* unclaimed ports read as all ones */
	GEXPECT_EQ(w, 0xffff);
	GEXPECT_EQ(l, 0xffffffff);
	get_stats();
	GEXPECT_EQ(stats.io_other_reads, 3);
	GEXPECT_EQ(stats.io_other_writes, 4);
	bi->out[0] = stats.io_other_reads;
	bi->out[1] = stats.io_other_writes;
}

struct msr_op {
	u32 msr;
	u64 val;
};
static void rdmsr_fn(void *p)
{
	struct msr_op *o = p;
	o->val = rdmsr(o->msr);
}
static void wrmsr_fn(void *p)
{
	struct msr_op *o = p;
	wrmsr(o->msr, o->val);
}
static int rdmsr_vector(u32 msr, u64 *val)
{
	struct fault_info fi;
	struct msr_op o = {msr, 0};
	int v = trap_catch(rdmsr_fn, &o, &fi);
	*val = o.val;
	return v;
}
static int wrmsr_vector(u32 msr, u64 val)
{
	struct fault_info fi;
	struct msr_op o = {msr, val};
	return trap_catch(wrmsr_fn, &o, &fi);
}

void scen_msr(struct hv_boot_info *bi)
{
	u64 v = 0, old;
	GEXPECT_EQ(rdmsr_vector(MSR_EFER, &v), -1);
	GEXPECT_EQ(v & (EFER_LME | EFER_LMA | EFER_NXE), EFER_LME | EFER_LMA | EFER_NXE);
	bi->out[0] = v;
	GEXPECT_EQ(rdmsr_vector(MSR_KERNEL_GS_BASE, &old), -1);
	GEXPECT_EQ(wrmsr_vector(MSR_KERNEL_GS_BASE, 0x00007fff12345000UL), -1);
	GEXPECT_EQ(rdmsr_vector(MSR_KERNEL_GS_BASE, &v), -1);
	GEXPECT_EQ(v, 0x00007fff12345000UL);
	wrmsr_vector(MSR_KERNEL_GS_BASE, old);
	/* Intercepted: locked (bit 0), VMX disabled inside and outside SMX (bits 1, 2). */
	GEXPECT_EQ(rdmsr_vector(MSR_IA32_FEATURE_CONTROL, &v), -1);
	GEXPECT_EQ(v, 1);
	GEXPECT_EQ(rdmsr_vector(MSR_IA32_VMX_BASIC, &v), 13); /* VMX hidden: no VMX MSRs */
	GEXPECT_EQ(rdmsr_vector(0xdead0000, &v), 13);         /* no such MSR */
	GEXPECT_EQ(wrmsr_vector(0xdead0000, 1), 13);
}

static void write_cr0_fn(void *p) { write_cr0(*(u64 *)p); }
static void write_cr3_fn(void *p) { write_cr3(*(u64 *)p); }
static void write_cr4_fn(void *p) { write_cr4(*(u64 *)p); }
static int write_cr_vector(int cr, u64 val)
{
	struct fault_info fi;
	void (*fn)(void *) = cr == 0 ? write_cr0_fn : cr == 3 ? write_cr3_fn : write_cr4_fn;
	return trap_catch(fn, &val, &fi);
}

void scen_cr(struct hv_boot_info *bi)
{
	u64 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	bi->out[0] = cr0;
	bi->out[1] = cr4;
	GEXPECT(!(cr4 & X86_CR4_VMXE)); /* the guest sees CR4.VMXE = 0 (read shadow) */
	GEXPECT_EQ(write_cr_vector(4, cr4 | X86_CR4_VMXE), 13);
	GEXPECT(!(read_cr4() & X86_CR4_VMXE));
	GEXPECT_EQ(write_cr_vector(0, cr0 & ~X86_CR0_WP), -1);
	GEXPECT(!(read_cr0() & X86_CR0_WP));
	GEXPECT_EQ(write_cr_vector(0, cr0), -1);
	GEXPECT(read_cr0() & X86_CR0_WP);
	if (cpuid_ecx(1) & CPUID1_ECX_XSAVE) {
		GEXPECT_EQ(write_cr_vector(4, cr4 | X86_CR4_OSXSAVE), -1);
		GEXPECT(read_cr4() & X86_CR4_OSXSAVE);
	} else {
		guest_printf("no XSAVE (CPUID.1:ECX[26]=0): CR4.OSXSAVE not tried\n");
	}
	GEXPECT_EQ(write_cr_vector(3, cr3), -1);
	GEXPECT_EQ(read_cr3(), cr3);
	/* MOV to CR0 clearing PG in 64-bit mode raises #GP(0) (SDM "MOV—Move to/from Control
	 * Registers", 64-bit mode exceptions). */
	GEXPECT_EQ(write_cr_vector(0, cr0 & ~X86_CR0_PG), 13);
	GEXPECT(read_cr0() & X86_CR0_PG);
}

/* Each VMX instruction with a valid-page operand; the hypervisor offers no nested VMX and
 * answers like a CPU without VMX: #UD (SDM "VMX Instruction Reference"). AT&T operand order. */
static void i_vmxon(void *p) { __asm__ volatile("vmxon %0" ::"m"(*(u64 *)p) : "cc", "memory"); }
static void i_vmxoff(void *p) { (void)p; __asm__ volatile("vmxoff" ::: "cc", "memory"); }
static void i_vmptrld(void *p) { __asm__ volatile("vmptrld %0" ::"m"(*(u64 *)p) : "cc", "memory"); }
static void i_vmptrst(void *p) { __asm__ volatile("vmptrst %0" : "=m"(*(u64 *)p)::"cc"); }
static void i_vmclear(void *p) { __asm__ volatile("vmclear %0" ::"m"(*(u64 *)p) : "cc", "memory"); }
static void i_vmread(void *p)
{
	u64 v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((u64)0x681e) : "cc"); /* GUEST_RIP */
	*(u64 *)p = v;
}
static void i_vmwrite(void *p) { __asm__ volatile("vmwrite %0, %1" ::"r"(*(u64 *)p), "r"((u64)0x681e) : "cc"); }
static void i_vmlaunch(void *p) { (void)p; __asm__ volatile("vmlaunch" ::: "cc", "memory"); }
static void i_vmresume(void *p) { (void)p; __asm__ volatile("vmresume" ::: "cc", "memory"); }
static void i_invept(void *p)
{
	(void)p;
	__asm__ volatile("invept %0, %1" ::"m"(desc128), "r"((u64)2) : "cc", "memory");
}
static void i_invvpid(void *p)
{
	(void)p;
	__asm__ volatile("invvpid %0, %1" ::"m"(desc128), "r"((u64)2) : "cc", "memory");
}

static const struct {
	const char *name;
	void (*fn)(void *);
} vmx_insns[] = {
	{"VMXON", i_vmxon},     {"VMXOFF", i_vmxoff},     {"VMPTRLD", i_vmptrld},
	{"VMPTRST", i_vmptrst}, {"VMCLEAR", i_vmclear},   {"VMREAD", i_vmread},
	{"VMWRITE", i_vmwrite}, {"VMLAUNCH", i_vmlaunch}, {"VMRESUME", i_vmresume},
	{"INVEPT", i_invept},   {"INVVPID", i_invvpid},
};

void scen_vmx_insns(struct hv_boot_info *bi)
{
	struct fault_info fi;
	scratch_ptr = (u64)scratch;
	*(u32 *)scratch = 1; /* a plausible revision id: the instruction must fault anyway */
	for (size_t i = 0; i < ARRAY_SIZE(vmx_insns); i++) {
		int v = trap_catch(vmx_insns[i].fn, &scratch_ptr, &fi);
		bi->out[i] = (u64)(s64)v;
		if (v != 6)
			guest_printf("%s: vector %d, expected 6 (#UD)\n", vmx_insns[i].name, v);
		GEXPECT_EQ(v, 6);
	}
}

static void xsetbv_fn(void *p)
{
	u64 *xv = p; /* {xcr, value} */
	xsetbv((u32)xv[0], xv[1]);
}
static int xsetbv_vector(u32 xcr, u64 val)
{
	struct fault_info fi;
	u64 xv[2] = {xcr, val};
	return trap_catch(xsetbv_fn, xv, &fi);
}

/* XCR0 rules (SDM "XSETBV—Set Extended Control Register"): bit 0 (x87) must be 1, AVX (bit 2)
 * needs SSE (bit 1); only XCR0 exists (ECX=0); anything else is #GP(0). */
void scen_xsetbv(struct hv_boot_info *bi)
{
	if (!(cpuid_ecx(1) & CPUID1_ECX_XSAVE)) {
		guest_printf("no XSAVE on this CPU (CPUID.1:ECX[26]=0): nothing to check\n");
		GEXPECT(1);
		return;
	}
	GEXPECT_EQ(write_cr_vector(4, read_cr4() | X86_CR4_OSXSAVE), -1);
	if (!GEXPECT(read_cr4() & X86_CR4_OSXSAVE))
		return; /* XGETBV would raise #UD */
	GEXPECT_EQ(xsetbv_vector(0, 0x3), -1);
	GEXPECT_EQ(xgetbv(0), 0x3);
	bi->out[0] = xgetbv(0);
	GEXPECT_EQ(xsetbv_vector(0, 0x0), 13);  /* x87 bit clear */
	GEXPECT_EQ(xsetbv_vector(0, 0x2), 13);  /* x87 bit clear */
	GEXPECT_EQ(xsetbv_vector(0x55, 1), 13); /* no such XCR */
	GEXPECT_EQ(xsetbv_vector(0, 0x4), 13);  /* AVX without SSE (and no x87) */
	GEXPECT_EQ(xsetbv_vector(0, 0x5), 13);  /* AVX without SSE */
	GEXPECT_EQ(xgetbv(0), 0x3);             /* the failed writes changed nothing */
}

static u64 exits_now(void)
{
	hc2(HC_GET_STATS, (u64)&stats, sizeof(stats));
	return stats.total;
}

/* Exit cost: CPUID and a null hypercall, BENCH_N each, timed with the guest's TSC, and the
 * exits each loop caused (HC_GET_STATS around it; the second HC_GET_STATS is one exit). */
void scen_bench(struct hv_boot_info *bi)
{
	u32 a, b, c, d;
	u64 bad = 0, e0 = exits_now();
	u64 t0 = rdtsc();
	for (int i = 0; i < BENCH_N; i++)
		cpuid(0, 0, &a, &b, &c, &d);
	u64 t1 = rdtsc(), e1 = exits_now(), t2 = rdtsc();
	for (int i = 0; i < BENCH_N; i++)
		bad += hc0(HC_VERSION) != HV_ABI_VERSION;
	u64 t3 = rdtsc(), e2 = exits_now();
	bi->out[0] = t1 - t0;
	bi->out[1] = t3 - t2;
	bi->out[2] = BENCH_N;
	bi->out[3] = e1 - e0 - 1;
	bi->out[4] = e2 - e1 - 1;
	guest_printf("bench: CPUID %lu cycles/iter, VMCALL %lu cycles/iter (N=%d)\n",
		     (t1 - t0) / BENCH_N, (t3 - t2) / BENCH_N, BENCH_N);
	GEXPECT_EQ(bad, 0);
	GEXPECT(t1 > t0 && t3 > t2);
	GEXPECT(e0 > 0); /* HC_GET_STATS worked */
}
