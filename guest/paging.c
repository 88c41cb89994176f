/* paging.c: the guest's own 4-level page tables, identity-mapping guest RAM [0, ram_size).
 * The 2 MiB regions holding the guest image use 4 KiB pages so each part of the image gets
 * its own rights (text RX, rodata R, data RW+NX, user region U=1); the rest of RAM is RW+NX
 * 2 MiB pages, supervisor-only. GPA 0 stays unmapped (catches NULL). No demand paging, no
 * unmapping: guest_map_2m() and guest_map_4k() (which splits a 2 MiB page where needed) only
 * add or change mappings. */
#include "guest.h"

/* Page-table entry bits (SDM "4-Level Paging and 5-Level Paging"; NX: "Access Rights"). */
#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_PS BIT(7) /* in a PDE: maps a 2 MiB page */
#define PTE_NX BIT(63) /* needs EFER.NXE, set at entry */
#define PTE_TABLE (PTE_P | PTE_W | PTE_U) /* non-leaf: the leaf decides U and W */
#define SMALL_REGIONS 2 /* 2 MiB regions mapped with 4 KiB pages: [0, 4 MiB) */
#define POOL_PAGES 8    /* for guest_map_2m() beyond the first GiB and guest_map_4k() */

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[512] __attribute__((aligned(4096)));
static u64 pt[SMALL_REGIONS][512] __attribute__((aligned(4096)));
static u64 pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static int pool_used;
static u64 mapped_end; /* [0, mapped_end) is RAM we mapped */

static bool in(u64 a, const char *start, const char *end) { return a >= (u64)start && a < (u64)end; }

/* Rights of the 4 KiB page at a inside the small regions. */
static u64 small_page_flags(u64 a)
{
	if (a == 0)
		return 0;
	if (in(a, __image_start, __text_end))
		return PTE_P;
	if (in(a, __rodata_start, __rodata_end))
		return PTE_P | PTE_NX;
	if (in(a, __user_start, __user_rodata))
		return PTE_P | PTE_U;
	if (in(a, __user_rodata, __user_data))
		return PTE_P | PTE_U | PTE_NX;
	if (in(a, __user_data, __user_end))
		return PTE_P | PTE_W | PTE_U | PTE_NX;
	return PTE_P | PTE_W | PTE_NX;
}

static u64 *table_at(u64 *entry)
{
	if (!(*entry & PTE_P)) {
		if (pool_used == POOL_PAGES) {
			guest_printf("paging: out of page-table pages\n");
			guest_exit(0xdd);
		}
		*entry = (u64)pool[pool_used++] | PTE_TABLE;
	}
	return (u64 *)(*entry & 0x000ffffffffff000UL);
}

/* Map [gpa, gpa + 2 MiB) (gpa 2 MiB-aligned) as a supervisor RW+NX large page. */
void guest_map_2m(u64 gpa)
{
	u64 *pdp = table_at(&pml4[(gpa >> 39) & 511]);
	u64 *pdir = table_at(&pdp[(gpa >> 30) & 511]);
	pdir[(gpa >> 21) & 511] = gpa | PTE_P | PTE_W | PTE_PS | PTE_NX;
	__asm__ volatile("invlpg (%0)" ::"r"(gpa) : "memory");
}

/* The page table for the 2 MiB region holding gva: allocated if the region was unmapped,
 * made of 512 pages with the large page's rights if it was one large page. */
static u64 *table_for(u64 gva)
{
	u64 *pdp = table_at(&pml4[(gva >> 39) & 511]);
	u64 *pdir = table_at(&pdp[(gva >> 30) & 511]);
	u64 *pde = &pdir[(gva >> 21) & 511];
	if ((*pde & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS)) {
		u64 big = *pde, base = big & 0x000fffffffe00000UL, flags = big & (PTE_P | PTE_W | PTE_U | PTE_NX);
		*pde = 0;
		u64 *t = table_at(pde);
		for (int i = 0; i < 512; i++)
			t[i] = (base + (u64)i * PAGE_SIZE) | flags;
	}
	return table_at(pde);
}

/* Map the 4 KiB page at gva (page-aligned) to gpa, present, with GUEST_MAP_* rights (else
 * read-only, supervisor, NX). Flushes the whole TLB: a split large page may be cached. */
void guest_map_4k(u64 gva, u64 gpa, unsigned rights)
{
	u64 flags = PTE_P | (rights & GUEST_MAP_W ? PTE_W : 0) | (rights & GUEST_MAP_U ? PTE_U : 0) |
		    (rights & GUEST_MAP_X ? 0 : PTE_NX);
	table_for(gva)[(gva >> 12) & 511] = gpa | flags;
	write_cr3(read_cr3());
}

void guest_paging_init(u64 ram_size)
{
	pml4[0] = (u64)pdpt | PTE_TABLE;
	pdpt[0] = (u64)pd | PTE_TABLE;
	for (int r = 0; r < SMALL_REGIONS; r++) {
		pd[r] = (u64)pt[r] | PTE_TABLE;
		for (int i = 0; i < 512; i++) {
			u64 a = (u64)r * 2 * MiB + (u64)i * PAGE_SIZE;
			pt[r][i] = a < ram_size ? a | small_page_flags(a) : 0;
		}
	}
	for (u64 a = SMALL_REGIONS * 2 * MiB; a < ram_size && a < GiB; a += 2 * MiB)
		pd[a >> 21] = a | PTE_P | PTE_W | PTE_PS | PTE_NX;
	mapped_end = ram_size < GiB ? ram_size : GiB;
	write_cr3((u64)pml4); /* MOV to CR3 flushes the non-global TLB entries */
}

u64 guest_mapped_end(void) { return mapped_end; }
