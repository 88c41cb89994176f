/* kalloc.c: physical page allocator. One bit per 4 KiB page of the identity-mapped first
 * 4 GiB (1 = free); RAM above 4 GiB is not used, only counted (kalloc_ram_ignored). Built from the multiboot2 memory map, minus the first MiB, the kernel
 * image, the multiboot2 information, every module and the kernel's symbol and string tables. Pages are handed out zeroed.
 * Freeing a page that is already free is detected and refused (returns -1). */
#include "defs.h"

#define MAX_PHYS (4UL << 30)
#define NPAGES (MAX_PHYS / PAGE_SIZE)

static u64 bitmap[NPAGES / 64];
static u64 usable[NPAGES / 64]; /* pages this allocator manages: only these may be freed */
static u64 nfree;
static u64 ram_ignored; /* bytes of available RAM at or above MAX_PHYS */
static u64 hint; /* lowest page index that may be free */

static bool page_free(u64 i) { return bitmap[i / 64] & BIT(i % 64); }
static void set_free(u64 i) { bitmap[i / 64] |= BIT(i % 64); }
static void set_used(u64 i) { bitmap[i / 64] &= ~BIT(i % 64); }

static void mark_range(u64 base, u64 end, bool free)
{
	if (end > MAX_PHYS)
		end = MAX_PHYS;
	for (u64 i = base / PAGE_SIZE; i < end / PAGE_SIZE; i++) {
		if (free && !page_free(i)) {
			set_free(i);
			nfree++;
		} else if (!free && page_free(i)) {
			set_used(i);
			nfree--;
		}
	}
}

void kalloc_init(const struct boot_info *bi)
{
	for (int i = 0; i < bi->nmmap; i++) {
		const struct mb2_region *r = &bi->mmap[i];
		if (r->type != 1)
			continue;
		mark_range(ALIGN_UP(r->base, PAGE_SIZE), ALIGN_DOWN(r->base + r->len, PAGE_SIZE), true);
		if (r->base + r->len > MAX_PHYS)
			ram_ignored += r->base + r->len - (r->base > MAX_PHYS ? r->base : MAX_PHYS);
	}
	mark_range(0, 1ULL << 20, false); /* BIOS data, EBDA, option ROMs */
	mark_range((u64)_kernel_start, ALIGN_UP((u64)_kernel_end, PAGE_SIZE), false);
	mark_range(ALIGN_DOWN(bi->info_start, PAGE_SIZE), ALIGN_UP(bi->info_end, PAGE_SIZE), false);
	for (int i = 0; i < bi->nmodules; i++)
		mark_range(ALIGN_DOWN(bi->modules[i].start, PAGE_SIZE),
			   ALIGN_UP(bi->modules[i].end, PAGE_SIZE), false);
	mark_range(ALIGN_DOWN(bi->symtab, PAGE_SIZE), ALIGN_UP(bi->symtab + bi->symtab_size, PAGE_SIZE), false);
	mark_range(ALIGN_DOWN(bi->strtab, PAGE_SIZE), ALIGN_UP(bi->strtab + bi->strtab_size, PAGE_SIZE), false);
	memcpy(usable, bitmap, sizeof(bitmap));
	hint = 0;
}

static struct spinlock kalloc_lock = SPINLOCK_INIT("kalloc");
static void *alloc_locked(u64 n, u64 align);
static int free_locked(void *p, u64 n);

/* n contiguous pages whose address is a multiple of align (a power of two >= 4 KiB). */
void *kalloc_pages(u64 n, u64 align)
{
	spin_lock(&kalloc_lock);
	void *p = alloc_locked(n, align);
	spin_unlock(&kalloc_lock);
	return p;
}

int kfree_pages(void *p, u64 n)
{
	spin_lock(&kalloc_lock);
	int r = free_locked(p, n);
	spin_unlock(&kalloc_lock);
	return r;
}

static void *alloc_locked(u64 n, u64 align)
{
	u64 step = align / PAGE_SIZE;
	if (n == 0 || step == 0 || (step & (step - 1)))
		return NULL;
	for (u64 i = ALIGN_UP(hint, step); i + n <= NPAGES; i += step) {
		u64 k = 0;
		while (k < n && page_free(i + k))
			k++;
		if (k < n)
			continue;
		for (k = 0; k < n; k++)
			set_used(i + k);
		nfree -= n;
		if (i == hint)
			hint = i + n;
		void *p = (void *)(i * PAGE_SIZE);
		memset(p, 0, n * PAGE_SIZE);
		return p;
	}
	return NULL;
}

void *kalloc_page(void) { return kalloc_pages(1, PAGE_SIZE); }

static int free_locked(void *p, u64 n)
{
	u64 i = (u64)p / PAGE_SIZE;
	if (!IS_ALIGNED((u64)p, PAGE_SIZE) || i + n > NPAGES)
		return -1;
	for (u64 k = 0; k < n; k++)
		if (!(usable[(i + k) / 64] & BIT((i + k) % 64))) {
			printf("# kalloc: free of unmanaged page 0x%lx refused\n", (i + k) * PAGE_SIZE);
			return -1;
		} else if (page_free(i + k)) {
			printf("# kalloc: double free of page 0x%lx refused\n", (i + k) * PAGE_SIZE);
			return -1;
		}
	for (u64 k = 0; k < n; k++)
		set_free(i + k);
	nfree += n;
	if (i < hint)
		hint = i;
	return 0;
}

int kfree_page(void *p) { return kfree_pages(p, 1); }
u64 kalloc_free_count(void) { return nfree; }
u64 kalloc_ram_ignored(void) { return ram_ignored; }
bool kalloc_is_free(u64 pa) { return pa < MAX_PHYS && page_free(pa / PAGE_SIZE); }
