/* lapic.c: the local APIC of the running CPU: x2APIC (MSRs 800H-8FFH) where CPUID.01H:ECX[21]
 * says the CPU has it, else xAPIC (MMIO at IA32_APIC_BASE, identity-mapped). IPIs (fixed, NMI,
 * INIT, SIPI), EOI, and the timer, calibrated against the TSC (itself measured against the PIT,
 * tsc.c). SDM "Advanced Programmable Interrupt Controller (APIC)": "Local APIC Registers",
 * "Interrupt Command Register (ICR)", "APIC Timer", "x2APIC Register Address Space". */
#include "defs.h"
#include "x86.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EN BIT(11)
#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define R_ID 0x20
#define R_EOI 0xb0
#define R_SVR 0xf0
#define R_ICR_LO 0x300
#define R_ICR_HI 0x310
#define R_LVT_TIMER 0x320
#define R_LVT_LINT0 0x350
#define R_LVT_LINT1 0x360
#define R_TIMER_INIT 0x380
#define R_TIMER_CUR 0x390
#define R_TIMER_DIV 0x3e0
#define ICR_FIXED 0x000
#define ICR_NMI 0x400
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_ASSERT BIT(14)
#define ICR_LEVEL BIT(15)
#define ICR_PENDING BIT(12) /* xAPIC: delivery status */
#define LVT_MASKED BIT(16)
#define LVT_PERIODIC BIT(17)

static bool x2;
static u64 mmio = 0xfee00000UL;
static u64 timer_hz;

bool lapic_x2apic(void) { return x2; }

static u32 rd(u32 reg)
{
	if (x2)
		return (u32)rdmsr(0x800 + (reg >> 4));
	return *(volatile u32 *)(mmio + reg);
}

static void wr(u32 reg, u32 v)
{
	if (x2)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile u32 *)(mmio + reg) = v;
}

/* Every CPU: the APIC on (x2APIC mode where there is one), software-enabled with the spurious
 * vector, LINT0/LINT1 as the BIOS left them on the BSP only (the PIC is masked in smp.c). */
void lapic_init_cpu(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	u64 base = rdmsr(MSR_APIC_BASE);
	mmio = base & 0xffffff000UL;
	x2 = c & BIT(21);
	/* xAPIC -> x2APIC: EN stays 1 and EXTD goes to 1 (SDM "x2APIC State Transitions"). */
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | (x2 ? APIC_BASE_EXTD : 0));
	wr(R_SVR, 0x100 | IRQ_VEC_SPURIOUS);
	wr(R_LVT_TIMER, LVT_MASKED | IRQ_VEC_TIMER);
}

u32 lapic_id(void) { return x2 ? rd(R_ID) : rd(R_ID) >> 24; }

void lapic_eoi(void) { wr(R_EOI, 0); }

static void icr(u32 apic_id, u32 lo)
{
	if (x2) { /* one 64-bit write, destination in bits 63:32 */
		wrmsr(0x800 + (R_ICR_LO >> 4), ((u64)apic_id << 32) | lo);
		return;
	}
	wr(R_ICR_HI, apic_id << 24);
	wr(R_ICR_LO, lo);
	for (int i = 0; i < 1000000 && (rd(R_ICR_LO) & ICR_PENDING); i++)
		__asm__ volatile("pause");
}

void lapic_send_ipi(u32 apic_id, u32 vector) { icr(apic_id, ICR_FIXED | ICR_ASSERT | (vector & 0xff)); }
void lapic_send_nmi(u32 apic_id) { icr(apic_id, ICR_NMI | ICR_ASSERT); }
void lapic_send_init(u32 apic_id) { icr(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL); }
void lapic_send_sipi(u32 apic_id, u32 page) { icr(apic_id, ICR_STARTUP | ICR_ASSERT | (page & 0xff)); }

/* Timer ticks (divide by 16) per second: count down from ~0 for 1 ms of TSC time. */
u64 lapic_timer_hz(void)
{
	if (timer_hz)
		return timer_hz;
	wr(R_TIMER_DIV, 0x3); /* divide by 16 */
	wr(R_LVT_TIMER, LVT_MASKED | IRQ_VEC_TIMER);
	u64 window = tsc_hz() / 1000, t0 = rdtsc();
	wr(R_TIMER_INIT, 0xffffffff);
	while (rdtsc() - t0 < window)
		;
	u32 cur = rd(R_TIMER_CUR);
	u64 t1 = rdtsc();
	wr(R_TIMER_INIT, 0);
	timer_hz = (u64)(0xffffffffU - cur) * tsc_hz() / (t1 - t0);
	return timer_hz;
}

void lapic_timer_start(u32 vector, u64 count, bool periodic)
{
	wr(R_TIMER_DIV, 0x3);
	wr(R_LVT_TIMER, (vector & 0xff) | (periodic ? LVT_PERIODIC : 0));
	wr(R_TIMER_INIT, count > 0xffffffff ? 0xffffffff : (u32)(count ? count : 1));
}

void lapic_timer_stop(void)
{
	wr(R_LVT_TIMER, LVT_MASKED | IRQ_VEC_TIMER);
	wr(R_TIMER_INIT, 0);
}
