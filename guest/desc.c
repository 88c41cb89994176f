/* desc.c: the guest's own GDT (kernel and user code/data, a TSS) and IDT (vectors 0-31 and the
 * DPL 3 gate 0x80 that brings ring 3 back to ring 0). Replaces the hypervisor's boot GDT, so
 * the memory below 1 MiB is no longer needed. No external interrupts: RFLAGS.IF stays 0. */
#include "guest.h"
#include "../kernel/desc.h"

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

void guest_idt_load(u16 limit, u64 base) { load_idt((const void *)base, limit); }

void guest_desc_init(void)
{
	memcpy(gdt, gdt_template, sizeof(gdt_template));
	tss.rsp[0] = (u64)guest_rsp0_top;
	tss.ist[0] = (u64)guest_df_top;
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: port I/O at CPL 3 faults (IOPL 0) */
	tss_desc(&gdt[GUEST_TSS / 8], &tss);
	load_gdt(gdt, sizeof(gdt) - 1, GUEST_KCS, GUEST_KDS, GUEST_TSS);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" ::"r"(0)); /* null: no FS/GS segments */
	for (int v = 0; v < 32; v++) /* DPL 0; #DF on its own stack (IST1) */
		idt[v] = idt_gate(guest_vectors[v], GUEST_KCS, 0, v == 8 ? 1 : 0);
	idt[GUEST_USER_VECTOR] = idt_gate((u64)guest_user_vector, GUEST_KCS, 3, 0);
	guest_idt_load(sizeof(idt) - 1, (u64)idt);
}
