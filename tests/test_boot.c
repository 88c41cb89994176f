/* test_boot.c: suite "boot": the platform the hypervisor stands on. Multiboot2 parsing, the
 * page allocator, the exception path (a deliberate #UD, #GP and #PF are caught) and the
 * hypervisor's own page rights (kernel/paging.c: NULL, text, rodata, data). */
#include "suites.h"
#include "../kernel/x86.h"

/* RAM above 4 GiB is not used but counted, for the boot message (QEMU -m 8G has some). */
static void memory_map_parsed(void)
{
	u64 ram_above_1m = 0, ram_above_4g = 0;
	EXPECT(boot_info.nmmap > 0);
	for (int i = 0; i < boot_info.nmmap; i++) {
		const struct mb2_region *r = &boot_info.mmap[i];
		if (r->type == 1 && r->base >= (1 << 20))
			ram_above_1m += r->len;
		for (u64 pa = r->base; r->type == 1 && pa < r->base + r->len; pa += PAGE_SIZE)
			ram_above_4g += pa >= (4ULL << 30) ? PAGE_SIZE : 0;
	}
	EXPECT_EQ(kalloc_ram_ignored(), ram_above_4g);
	EXPECT(ram_above_1m >= (16ULL << 20));
	EXPECT(kalloc_free_count() > 0);
	EXPECT(kalloc_free_count() * PAGE_SIZE <= ram_above_1m);
	EXPECT(strchr(boot_info.cmdline, '=') != NULL); /* we were started with tests=... */
	kt_diag("%d memory map entries, %lu MiB RAM above 1 MiB, %lu MiB free", boot_info.nmmap,
		ram_above_1m >> 20, kalloc_free_count() * PAGE_SIZE >> 20);
	if (ram_above_4g)
		kt_diag("%lu MiB above 4 GiB, not used", ram_above_4g >> 20);
}

static void kernel_and_boot_info_reserved(void)
{
	for (u64 pa = (u64)_kernel_start; pa < (u64)_kernel_end; pa += PAGE_SIZE)
		if (!EXPECT(!kalloc_is_free(pa)))
			return;
	EXPECT(!kalloc_is_free(boot_info.info_start));
	EXPECT(!kalloc_is_free(0x1000)); /* first MiB */
	for (int i = 0; i < boot_info.nmodules; i++)
		EXPECT(!kalloc_is_free(boot_info.modules[i].start));
}

/* iso/grub.cfg and the test ISO load one module2, the guest kernel, named "guest": GRUB
 * reports it in a module tag, and its pages are not given to the allocator. */
static void guest_module_found(void)
{
	ASSERT_EQ(boot_info.nmodules, 1);
	const struct mb2_module *m = &boot_info.modules[0];
	EXPECT(!strcmp(m->cmdline, "guest"));
	ASSERT_TRUE(m->end > m->start + 64);
	EXPECT(!memcmp((const void *)m->start, "\177ELF", 4));
	for (u64 pa = ALIGN_DOWN(m->start, PAGE_SIZE); pa < m->end; pa += PAGE_SIZE)
		if (!EXPECT(!kalloc_is_free(pa)))
			return;
	kt_diag("module \"%s\" at 0x%lx-0x%lx", m->cmdline, m->start, m->end);
}

#define NALLOC 64
static void alloc_distinct_zeroed_aligned(void)
{
	u8 *p[NALLOC];
	u64 before = kalloc_free_count();
	for (int i = 0; i < NALLOC; i++) {
		p[i] = kalloc_page();
		ASSERT_TRUE(p[i] != NULL);
		EXPECT(IS_ALIGNED((u64)p[i], PAGE_SIZE));
		EXPECT((u64)p[i] >= (u64)_kernel_end || (u64)p[i] + PAGE_SIZE <= (u64)_kernel_start);
		bool zero = true;
		for (u64 k = 0; k < PAGE_SIZE; k++)
			zero &= p[i][k] == 0;
		EXPECT(zero);
		memset(p[i], 0xa5, PAGE_SIZE); /* dirty it: the next owner must still get zeroes */
	}
	for (int i = 0; i < NALLOC; i++)
		for (int j = i + 1; j < NALLOC; j++)
			if (!EXPECT(p[i] != p[j]))
				return;
	EXPECT_EQ(kalloc_free_count(), before - NALLOC);
	for (int i = 0; i < NALLOC; i++)
		EXPECT_EQ(kfree_page(p[i]), 0);
	EXPECT_EQ(kalloc_free_count(), before);
	u8 *again = kalloc_page();
	EXPECT(again[0] == 0 && again[PAGE_SIZE - 1] == 0);
	kfree_page(again);
}

static void alloc_contiguous_2m_aligned(void)
{
	u8 *p = kalloc_pages(512, 2ULL << 20);
	ASSERT_TRUE(p != NULL);
	EXPECT(IS_ALIGNED((u64)p, 2ULL << 20));
	EXPECT(!kalloc_is_free((u64)p) && !kalloc_is_free((u64)p + (511 * PAGE_SIZE)));
	EXPECT_EQ(kfree_pages(p, 512), 0);
	EXPECT(kalloc_is_free((u64)p));
	EXPECT(kalloc_pages(1, 3 * PAGE_SIZE) == NULL); /* alignment must be a power of two */
}

static void double_free_detected(void)
{
	void *p = kalloc_page();
	ASSERT_TRUE(p != NULL);
	EXPECT_EQ(kfree_page(p), 0);
	u64 free_now = kalloc_free_count();
	EXPECT_EQ(kfree_page(p), (u64)-1);
	EXPECT_EQ(kalloc_free_count(), free_now);
	EXPECT_EQ(kfree_page(_kernel_start), (u64)-1); /* never handed out: refused */
	EXPECT_EQ(kfree_page((u8 *)p + 8), (u64)-1);   /* not page-aligned */
}

static void do_ud2(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
}

static void do_noncanonical_read(void *arg)
{
	(void)arg;
	u64 v;
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ULL) : "memory");
}

static void do_unmapped_write(void *arg)
{
	*(volatile u64 *)arg = 1;
}

static void exceptions_caught(void)
{
	struct fault_info fi;
	EXPECT_EQ(trap_catch(do_ud2, NULL, &fi), 6);
	EXPECT(fi.rip >= (u64)do_ud2 && fi.rip < (u64)do_ud2 + 32);
	EXPECT_EQ(trap_catch(do_noncanonical_read, NULL, &fi), 13);
	EXPECT_EQ(fi.error_code, 0);
	/* 16 GiB is outside the 4 GiB identity map: #PF, error code W=1 (bit 1), P=0. */
	EXPECT_EQ(trap_catch(do_unmapped_write, (void *)(16ULL << 30), &fi), 14);
	EXPECT_EQ(fi.cr2, 16ULL << 30);
	EXPECT_EQ(fi.error_code, 2);
	EXPECT_EQ(trap_catch(do_unmapped_write, &fi.cr2, &fi), (u64)-1); /* no fault: -1 */
}

static void do_read(void *arg)
{
	u64 v;
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(arg) : "memory");
}

/* Writes back the byte that is there: harmless when the page turns out to be writable. */
static void do_rewrite(void *arg)
{
	__asm__ volatile("movb (%0), %%al; movb %%al, (%0)" ::"r"(arg) : "rax", "memory");
}

/* #PF error code bits (SDM "Interrupt 14—Page-Fault Exception (#PF)"). */
#define PF_P 1
#define PF_W 2
#define PF_ID 0x10

/* The page at 0 is not mapped: a NULL dereference faults instead of reading the BIOS's
 * interrupt table. */
static void null_page_unmapped(void)
{
	struct fault_info fi;
	EXPECT_EQ(trap_catch(do_read, NULL, &fi), 14);
	EXPECT_EQ(fi.error_code, 0); /* not present, read, supervisor */
	EXPECT_EQ(fi.cr2, 0);
	EXPECT_EQ(trap_catch(do_read, (void *)0xff8, &fi), 14); /* the whole page */
	EXPECT_EQ(trap_catch(do_read, (void *)0x1000, &fi), (u64)-1); /* and no more */
}

static const u8 rodata_ret[16] = {0xc3};

/* Text and rodata are read-only, at CPL 0 too (CR0.WP = 1): a write is #PF with P and W. */
static void text_and_rodata_read_only(void)
{
	struct fault_info fi;
	EXPECT(read_cr0() & X86_CR0_WP);
	void *text[] = {(void *)do_rewrite, (void *)kmain, (void *)_kernel_start};
	for (u64 i = 0; i < ARRAY_SIZE(text); i++) {
		EXPECT_EQ(trap_catch(do_rewrite, text[i], &fi), 14);
		EXPECT_EQ(fi.error_code, PF_P | PF_W);
		EXPECT_EQ(fi.cr2, (u64)text[i]);
	}
	EXPECT_EQ(trap_catch(do_rewrite, (void *)rodata_ret, &fi), 14);
	EXPECT_EQ(fi.error_code, PF_P | PF_W);
	EXPECT_EQ(fi.cr2, (u64)rodata_ret);
}

static u8 bss_ret[16];

/* Only text is executable: a fetch from rodata, bss, the stack or allocated memory (a page
 * near the kernel, mapped with 4 KiB pages, and one on a 2 MiB boundary, in a 2 MiB page) is
 * #PF with P and I/D (a RET there would simply return if it ran). */
static void only_text_executable(void)
{
	if (!paging_nx())
		SKIP("this CPU has no NX (CPUID.80000001H:EDX.NX [bit 20] = 0)");
	struct fault_info fi;
	u8 stack_ret[16] = {0xc3};
	u8 *page = kalloc_page(), *big = kalloc_pages(1, 2UL << 20);
	ASSERT_TRUE(page != NULL && big != NULL);
	bss_ret[0] = page[0] = big[0] = 0xc3;
	const u8 *where[] = {rodata_ret, bss_ret, stack_ret, page, big};
	for (u64 i = 0; i < ARRAY_SIZE(where); i++) {
		EXPECT_EQ(trap_catch((void (*)(void *))where[i], NULL, &fi), 14);
		EXPECT_EQ(fi.error_code, PF_P | PF_ID);
		EXPECT_EQ(fi.rip, (u64)where[i]);
	}
	kfree_page(page);
	kfree_page(big);
}

static void printf_formats(void)
{
	char b[64];
	snprintf(b, sizeof(b), "%d|%5u|%-4s|%08lx|%c|%%|%ld", -42, 7u, "ab", 0xbeefUL, 'z', -1L);
	EXPECT(!strcmp(b, "-42|    7|ab  |0000beef|z|%|-1"));
	EXPECT_EQ(snprintf(b, 4, "%s", "truncated"), 9);
	EXPECT(!strcmp(b, "tru"));
	char v[16];
	EXPECT_EQ(cmdline_get("a=1 tests=boot,vmxon x", "tests", v, sizeof(v)), 10);
	EXPECT(!strcmp(v, "boot,vmxon"));
	EXPECT_EQ(cmdline_get("a=1", "tests", v, sizeof(v)), -1);
	/* too long for v: the whole length is reported (>= sizeof(v)), v holds its start */
	EXPECT_EQ(cmdline_get("tests=boot,vmxon,guest_boot x", "tests", v, sizeof(v)), 21);
	EXPECT(!strcmp(v, "boot,vmxon,gues"));
	EXPECT(cmdline_list_has("boot,vmxon", "vmxon") && !cmdline_list_has("boot,vmxon", "vmx"));
}

KTAP_SUITE(boot, NULL, NULL, KTAP_CASE(memory_map_parsed), KTAP_CASE(kernel_and_boot_info_reserved), KTAP_CASE(guest_module_found),
	   KTAP_CASE(alloc_distinct_zeroed_aligned), KTAP_CASE(alloc_contiguous_2m_aligned),
	   KTAP_CASE(double_free_detected), KTAP_CASE(exceptions_caught), KTAP_CASE(null_page_unmapped),
	   KTAP_CASE(text_and_rodata_read_only), KTAP_CASE(only_text_executable), KTAP_CASE(printf_formats));
