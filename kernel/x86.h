/* x86.h: one-line wrappers for the privileged x86 instructions the kernel and vmm use.
 * Nothing VMX-specific lives here (see vmm/vmx.h). */
#ifndef HVLAB_X86_H
#define HVLAB_X86_H
#include "types.h"

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_EFER 0xc0000080
#define MSR_EFER_LME BIT(8)
#define MSR_EFER_LMA BIT(10)
#define MSR_EFER_NXE BIT(11)
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_CR_PAT 0x277
#define MSR_IA32_DEBUGCTL 0x1d9

#define X86_CR0_PE BIT(0)
#define X86_CR0_NE BIT(5)
#define X86_CR0_WP BIT(16)
#define X86_CR0_PG BIT(31)
#define X86_CR4_PAE BIT(5)
#define X86_CR4_VMXE BIT(13)
#define X86_CR4_OSXSAVE BIT(18)
#define X86_CR4_SMEP BIT(20)
#define X86_CR4_SMAP BIT(21)
#define X86_RFLAGS_CF BIT(0)
#define X86_RFLAGS_ZF BIT(6)
#define X86_RFLAGS_IF BIT(9)
#define X86_RFLAGS_TF BIT(8)
#define X86_RFLAGS_AC BIT(18)

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
#define DEFINE_CR(n)                                                                   \
	static inline u64 read_cr##n(void)                                             \
	{                                                                              \
		u64 v;                                                                 \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                      \
		return v;                                                              \
	}                                                                              \
	static inline void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR
static inline u64 read_rflags(void)
{
	u64 v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static inline __attribute__((noreturn)) void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
#endif
