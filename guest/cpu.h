/* cpu.h: one-line wrappers for the x86 instructions the guest uses, and the architectural
 * bit names it needs. Everything is always-inline so that ring-3 code (placed in .utext) can
 * use it without calling into supervisor-only pages. No VMX instructions here (see
 * scen_cpu.c, where they are expected to fault). */
#ifndef HVLAB_GUEST_CPU_H
#define HVLAB_GUEST_CPU_H
#include "../kernel/types.h"

#ifdef HVLAB_COVERAGE /* no counters: ring-3 code inlines these, and its pages cannot reach them */
#define GUEST_INLINE static inline __attribute__((always_inline, no_profile_instrument_function))
#else
#define GUEST_INLINE static inline __attribute__((always_inline))
#endif

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_EFER 0xc0000080
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

#define X86_CR0_WP BIT(16)
#define X86_CR0_PG BIT(31)
#define X86_CR4_VMXE BIT(13)
#define X86_CR4_OSXSAVE BIT(18)
#define CPUID1_ECX_VMX BIT(5)
#define CPUID1_ECX_XSAVE BIT(26)
#define CPUID1_ECX_HYPERVISOR BIT(31)

GUEST_INLINE void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
GUEST_INLINE void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
GUEST_INLINE u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
GUEST_INLINE u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
GUEST_INLINE u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
GUEST_INLINE u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}
GUEST_INLINE void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
GUEST_INLINE void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
GUEST_INLINE u32 cpuid_ecx(u32 leaf)
{
	u32 a, b, c, d;
	cpuid(leaf, 0, &a, &b, &c, &d);
	return c;
}
#define GUEST_DEFINE_CR(n)                                                             \
	GUEST_INLINE u64 read_cr##n(void)                                              \
	{                                                                              \
		u64 v;                                                                 \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                      \
		return v;                                                              \
	}                                                                              \
	GUEST_INLINE void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
GUEST_DEFINE_CR(0)
GUEST_DEFINE_CR(2)
GUEST_DEFINE_CR(3)
GUEST_DEFINE_CR(4)
#undef GUEST_DEFINE_CR
GUEST_INLINE u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
GUEST_INLINE u16 read_cs(void)
{
	u16 v;
	__asm__ volatile("mov %%cs, %0" : "=r"(v));
	return v;
}
GUEST_INLINE void xsetbv(u32 xcr, u64 v)
{
	__asm__ volatile("xsetbv" ::"c"(xcr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
GUEST_INLINE u64 xgetbv(u32 xcr)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((u64)hi << 32) | lo;
}
/* VMFUNC (SDM "VMFUNC—Invoke VM Function"): the function number in EAX, its argument in ECX.
 * Raises #UD for a function or an argument the hypervisor does not offer. */
GUEST_INLINE void vmfunc(u32 leaf, u32 arg)
{
	__asm__ volatile("vmfunc" ::"a"(leaf), "c"(arg) : "memory");
}
/* Leaf 0, EPTP switching: ECX = index in the EPTP list, i.e. the EPT view. */
GUEST_INLINE void vmfunc_eptp_switch(u32 index) { vmfunc(0, index); }
#endif
