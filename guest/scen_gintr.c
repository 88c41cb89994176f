/* scen_gintr.c: interrupts to the guest (docs/smp.md): "gi_timer" (a periodic virtual timer:
 * N interrupts counted in HLT), "gi_held" (an interrupt due while IF = 0 arrives right after
 * STI), "gi_hlt_timer" (HLT woken by a one-shot timer), "gi_hlt_stop" (HLT with IF = 0 and
 * nothing armed: the hypervisor stops the vCPU), "gi_ipi" (vCPU 0 wakes vCPU 1's HLT with an
 * IPI), "gi_region" (an emulated region interrupted by the timer ends with the native result),
 * "gi_bad" (refused arguments), "gi_ping" (the IPI round trip between two vCPUs, make bench). Each vCPU counts its interrupts through its own GS base
 * (IA32_GS_BASE writes do not exit), in handlers installed in the guest's IDT here. */
#include "region.h"
#include "../kernel/desc.h"

#define VEC_TIMER 0x40
#define VEC_IPI 0x41
#define MSR_GS_BASE 0xc0000101
#define SPIN_MAX 20000000UL

struct gi_cpu {
	u64 timer, ipi; /* %gs:0, %gs:8 */
};
static struct gi_cpu gi_cpus[16];

void gi_timer_stub(void);
void gi_ipi_stub(void);
__asm__(".text\n"
	"gi_timer_stub: incq %gs:0\n\tiretq\n"
	"gi_ipi_stub: incq %gs:8\n\tiretq\n");

static void wrmsr_g(u32 msr, u64 v) { __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }

/* This vCPU's counters and the two gates (the IDT is shared by the vCPUs). */
static volatile struct gi_cpu *gi_setup(u32 id)
{
	struct desc_ptr d;
	__asm__ volatile("sidt %0" : "=m"(d));
	struct idt_gate *idt = (struct idt_gate *)d.base;
	idt[VEC_TIMER] = idt_gate((u64)gi_timer_stub, GUEST_KCS, 0, 0);
	idt[VEC_IPI] = idt_gate((u64)gi_ipi_stub, GUEST_KCS, 0, 0);
	memset(&gi_cpus[id], 0, sizeof(gi_cpus[id]));
	wrmsr_g(MSR_GS_BASE, (u64)&gi_cpus[id]);
	return &gi_cpus[id];
}

static u64 rdtsc_g(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* 10 periodic 1 ms interrupts, waited for in STI; HLT (arg 0) or in a busy loop with IF = 1
 * (arg 1: each interrupt is one external-interrupt exit). out: count, TSC cycles, exits. */
void scen_gi_timer(struct hv_boot_info *bi)
{
	volatile struct gi_cpu *c = gi_setup(0);
	struct hv_exit_stats s0, s1;
	guest_exits(&s0);
	u64 t0 = rdtsc_g();
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 1000, 1), 0);
	if (bi->arg) {
		__asm__ volatile("sti" ::: "memory");
		for (u64 i = 0; i < SPIN_MAX * 10 && c->timer < 10; i++)
			__asm__ volatile("pause" ::: "memory");
		__asm__ volatile("cli" ::: "memory");
	} else {
		for (u64 i = 0; i < 1000 && c->timer < 10; i++)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	GEXPECT_EQ(hc3(HC_TIMER_ARM, 0, 0, 0), 0);
	u64 t1 = rdtsc_g(), n = c->timer;
	guest_exits(&s1);
	GEXPECT(n >= 10);
	bi->out[0] = n;
	bi->out[1] = t1 - t0;
	bi->out[2] = s1.total - s0.total;
}

/* A one-shot timer due while IF = 0: nothing is delivered until STI, then at once. */
void scen_gi_held(struct hv_boot_info *bi)
{
	volatile struct gi_cpu *c = gi_setup(0);
	__asm__ volatile("cli");
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 100, 0), 0);
	for (int i = 0; i < 500; i++)
		(void)hc0(HC_VERSION); /* exits, with IF = 0: the timer's interrupt comes due meanwhile */
	u64 before = c->timer;
	__asm__ volatile("sti; nop; nop; cli" ::: "memory");
	u64 after = c->timer;
	GEXPECT_EQ(before, 0);
	GEXPECT_EQ(after, 1);
	bi->out[0] = before;
	bi->out[1] = after;
}

/* HLT waits for a 2 ms one-shot timer. */
void scen_gi_hlt_timer(struct hv_boot_info *bi)
{
	volatile struct gi_cpu *c = gi_setup(0);
	u64 t0 = rdtsc_g();
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 2000, 0), 0);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	bi->out[0] = c->timer;
	bi->out[1] = rdtsc_g() - t0;
	GEXPECT_EQ(c->timer, 1);
}

/* HLT with IF = 0 and nothing armed: stopped by the hypervisor, not a hang. */
void scen_gi_hlt_stop(struct hv_boot_info *bi)
{
	(void)bi;
	__asm__ volatile("cli; hlt" ::: "memory");
	guest_printf("gi_hlt_stop: HLT returned\n");
}

static volatile u64 gi_halting;

static void __attribute__((noreturn)) gi_sleeper(u64 id)
{
	volatile struct gi_cpu *c = gi_setup((u32)id);
	gi_halting = 1;
	for (u64 i = 0; i < 100 && !c->ipi; i++)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	guest_exit(c->ipi == 1 ? 0 : 1);
}

/* vCPU 1 halts; vCPU 0's IPI wakes it; vCPU 1 ends with HC_EXIT(0) only if it got it. */
void scen_gi_ipi(struct hv_boot_info *bi)
{
	gi_setup(0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)gi_sleeper, GUEST_VCPU_STACK_TOP(1), 1), 0);
	for (u64 i = 0; i < SPIN_MAX && !gi_halting; i++)
		__asm__ volatile("pause");
	for (int i = 0; i < 200; i++) /* give it time to reach HLT */
		(void)hc0(HC_VERSION);
	GEXPECT_EQ(hc2(HC_VCPU_IPI, 1, VEC_IPI), 0);
	s64 st = 0;
	for (u64 i = 0; i < SPIN_MAX; i++)
		if (((st = hc1(HC_VCPU_STATUS, 1)) & 0xff) == HV_VCPU_STOPPED)
			break;
	bi->out[0] = (u64)st;
	bi->out[1] = gi_cpus[1].ipi;
	GEXPECT_EQ(gi_cpus[1].ipi, 1);
}

/* The guest's IPI round trip (make bench): vCPU 0 sends an IPI to vCPU 1, whose handler's count
 * makes vCPU 1 send one back; both wait with IF = 1, so each IPI is an external-interrupt exit
 * of the receiver and an injection. arg = round trips (0: 100). out: round trips completed, TSC
 * cycles, vCPU 0's exits. */
static volatile u64 ping_ready, ping_done;
static struct hv_exit_stats ping_stats;

static void __attribute__((noreturn)) gi_ponger(u64 id)
{
	volatile struct gi_cpu *c = gi_setup((u32)id);
	u64 seen = 0;
	ping_ready = 1;
	__asm__ volatile("sti" ::: "memory");
	while (!ping_done) {
		if (c->ipi != seen) {
			seen = c->ipi;
			hc2(HC_VCPU_IPI, 0, VEC_IPI);
		}
		__asm__ volatile("pause" ::: "memory");
	}
	__asm__ volatile("cli" ::: "memory");
	guest_exit(0);
}

void scen_gi_ping(struct hv_boot_info *bi)
{
	volatile struct gi_cpu *c = gi_setup(0);
	u64 n = bi->arg ? bi->arg : 100, done = 0, exits0 = guest_exits(&ping_stats);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)gi_ponger, GUEST_VCPU_STACK_TOP(1), 1), 0);
	for (u64 i = 0; i < SPIN_MAX && !ping_ready; i++)
		__asm__ volatile("pause");
	__asm__ volatile("sti" ::: "memory");
	u64 t0 = rdtsc_g();
	for (; done < n; done++) {
		u64 before = c->ipi, i = 0;
		hc2(HC_VCPU_IPI, 1, VEC_IPI);
		while (c->ipi == before && i++ < SPIN_MAX)
			__asm__ volatile("pause" ::: "memory");
		if (c->ipi == before)
			break;
	}
	bi->out[1] = rdtsc_g() - t0;
	__asm__ volatile("cli" ::: "memory");
	bi->out[2] = guest_exits(&ping_stats) - exits0;
	ping_done = 1;
	for (u64 i = 0; i < SPIN_MAX && (hc1(HC_VCPU_STATUS, 1) & 0xff) != HV_VCPU_STOPPED; i++)
		__asm__ volatile("pause");
	bi->out[0] = done;
	GEXPECT_EQ(done, n);
}

static u64 GUEST_USER_TEXT user_arm(void *arg)
{
	(void)arg;
	return (u64)hc3(HC_TIMER_ARM, VEC_TIMER, 1000, 0);
}

void scen_gi_bad(struct hv_boot_info *bi)
{
	GEXPECT_EQ(hc3(HC_TIMER_ARM, 31, 1000, 0), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_TIMER_ARM, 256, 1000, 0), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 20000000, 0), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 1000, 2), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_VCPU_IPI, 9, VEC_IPI), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_VCPU_IPI, 0, 7), -HV_EINVAL);
	GEXPECT_EQ((s64)guest_user_call(user_arm, NULL, guest_user_stack_top), -HV_EPERM);
	bi->out[0] = 1;
}

/* An emulated region over rgn_fib, interrupted by a 200 us periodic timer: the interpreter
 * yields at an instruction boundary, the handler runs on the CPU, the region resumes; the
 * result is the native one. out: native, emulated, interrupts, region entries. */
void scen_gi_region(struct hv_boot_info *bi)
{
	u64 (*fib)(u64) = (u64(*)(u64))(void *)rgn_fib;
	volatile struct gi_cpu *c = gi_setup(0);
	u64 native = fib(12);
	s64 id = rgn_add(rgn_fib_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc3(HC_TIMER_ARM, VEC_TIMER, 200, 1), 0);
	__asm__ volatile("sti" ::: "memory");
	u64 emu = fib(12);
	__asm__ volatile("cli" ::: "memory");
	u64 ticks = c->timer;
	GEXPECT_EQ(hc3(HC_TIMER_ARM, 0, 0, 0), 0);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(emu, native);
	GEXPECT(ticks > 0);
	bi->out[0] = native;
	bi->out[1] = emu;
	bi->out[2] = ticks;
	bi->out[3] = st.entries;
	bi->out[4] = st.instructions;
}

static volatile u64 rg_done, rg_result;

static void __attribute__((noreturn)) rg_worker(u64 n)
{
	u64 (*fib)(u64) = (u64(*)(u64))(void *)rgn_fib;
	rg_result = fib(n);
	rg_done = 1;
	guest_exit(0);
}

/* vCPU 1 runs fib(14) inside the emulated region while vCPU 0 runs its own loop on the CPU.
 * out: native result, vCPU 1's, vCPU 0's loop rounds while vCPU 1 worked. */
void scen_gi_region_smp(struct hv_boot_info *bi)
{
	u64 (*fib)(u64) = (u64(*)(u64))(void *)rgn_fib;
	u64 native = fib(14), rounds = 0;
	s64 id = rgn_add(rgn_fib_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc4(HC_VCPU_START, 1, (u64)rg_worker, GUEST_VCPU_STACK_TOP(1), 14), 0);
	while (!rg_done && rounds < SPIN_MAX * 10)
		rounds++;
	s64 st = 0;
	for (u64 i = 0; i < SPIN_MAX; i++)
		if (((st = hc1(HC_VCPU_STATUS, 1)) & 0xff) == HV_VCPU_STOPPED)
			break;
	rgn_remove(id);
	GEXPECT_EQ(st, HV_VCPU_STOPPED | (1 << 8));
	GEXPECT_EQ(rg_result, native);
	bi->out[0] = native;
	bi->out[1] = rg_result;
	bi->out[2] = rounds;
}
