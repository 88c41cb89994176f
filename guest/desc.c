/* desc.c: the guest's own GDT (kernel and user code/data, a TSS) and IDT (vectors 0-31 and the
 * DPL 3 gate 0x80 that brings ring 3 back to ring 0). Replaces the hypervisor's boot GDT, so
 * the memory below 1 MiB is no longer needed. No external interrupts: RFLAGS.IF stays 0. */
#include "guest.h"

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
	u16 off_lo, sel;
	u8 ist, type_attr;
	u16 off_mid;
	u32 off_hi, reserved;
} __attribute__((packed));

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

extern u8 guest_rsp0_top[], guest_df_top[];

/* Segment descriptors (SDM "Segment Descriptors"): in 64-bit mode base and limit are ignored
 * for code and data; L=1 marks 64-bit code; DPL in bits 45-46. */
static const u64 gdt_template[5] = {
	0,
	0x00af9a000000ffff, /* 0x08 kernel code: P, DPL 0, execute/read, L=1 */
	0x00cf92000000ffff, /* 0x10 kernel data: P, DPL 0, read/write */
	0x00cff2000000ffff, /* 0x18 user data: P, DPL 3, read/write */
	0x00affa000000ffff, /* 0x20 user code: P, DPL 3, execute/read, L=1 */
};
static u64 gdt[7] __attribute__((aligned(16))); /* + 0x28 TSS: a 16-byte system descriptor */
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

static void set_gate(int v, u64 off, u8 dpl, u8 ist)
{
	idt[v] = (struct idt_gate){
		.off_lo = off & 0xffff,
		.sel = GUEST_KCS,
		.ist = ist,
		.type_attr = 0x8e | (dpl << 5), /* present, 64-bit interrupt gate: IF cleared */
		.off_mid = (off >> 16) & 0xffff,
		.off_hi = off >> 32,
	};
}

/* 64-bit TSS descriptor (SDM "TSS Descriptor in 64-bit mode"): type 9 = available TSS. */
static void set_tss_desc(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;
	gdt[GUEST_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
			     (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GUEST_TSS / 8 + 1] = base >> 32;
}

void guest_idt_load(u16 limit, u64 base)
{
	struct desc_ptr d = {limit, base};
	__asm__ volatile("lidt %0" ::"m"(d) : "memory");
}

void guest_desc_init(void)
{
	memcpy(gdt, gdt_template, sizeof(gdt_template));
	tss.rsp[0] = (u64)guest_rsp0_top;
	tss.ist[0] = (u64)guest_df_top;
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: port I/O at CPL 3 faults (IOPL 0) */
	set_tss_desc();
	struct desc_ptr g = {sizeof(gdt) - 1, (u64)gdt};
	/* Reload CS with a far return, then the data segments and the task register. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "mov %3, %%fs\n\t"
			 "mov %3, %%gs\n\t"
			 "ltr %w4"
			 :
			 : "m"(g), "i"(GUEST_KCS), "r"(GUEST_KDS), "r"(0), "r"(GUEST_TSS)
			 : "rax", "memory");
	for (int v = 0; v < 32; v++)
		set_gate(v, guest_vectors[v], 0, v == 8 ? 1 : 0); /* #DF on its own stack */
	set_gate(GUEST_USER_VECTOR, (u64)guest_user_vector, 3, 0);
	guest_idt_load(sizeof(idt) - 1, (u64)idt);
}
