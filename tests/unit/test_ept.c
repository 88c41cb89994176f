/* test_ept.c: vmm/ept.c on the host: page-size choice, translation, permissions, splits,
 * refusals, and that every table page is given back. */
#include "unit.h"
#include "../../vmm/vmm.h"

extern long unit_pages_live;
extern int unit_alloc_fail_after;

static void map_sizes(void)
{
	struct ept e;
	int level;
	CHECK_EQ(ept_init(&e, true, true), 0);
	/* 1 GiB aligned both sides -> one 1 GiB page; the rest 2 MiB then 4 KiB. */
	CHECK_EQ(ept_map(&e, 0, 0x40000000, 0x40000000 + 0x200000 + 0x3000, EPT_RWX), 0);
	CHECK(ept_leaf(&e, 0x1234, &level) && level == 3);
	CHECK(ept_leaf(&e, 0x40000000 + 0x1000, &level) && level == 2);
	CHECK(ept_leaf(&e, 0x40200000 + 0x2000, &level) && level == 1);
	CHECK(ept_leaf(&e, 0x40203000, &level) == NULL);
	CHECK_EQ(ept_translate(&e, 0x12345), 0x40012345);
	CHECK_EQ(ept_translate(&e, 0x40201abc), 0x80201abc);
	CHECK_EQ(ept_translate(&e, 0x40203000), (u64)-1);
	CHECK_EQ(ept_eptp(&e) & 0xfff, 0x1e); /* WB, 4-level walk */
	ept_destroy(&e);
	CHECK_EQ(unit_pages_live, 0);
}

static void map_without_large_pages(void)
{
	struct ept e;
	int level;
	CHECK_EQ(ept_init(&e, false, false), 0);
	CHECK_EQ(ept_map(&e, 0x200000, 0x600000, 0x200000, EPT_R | EPT_X), 0);
	CHECK(ept_leaf(&e, 0x3ff000, &level) && level == 1);
	CHECK_EQ(*ept_leaf(&e, 0x3ff000, &level) & 0xff, EPT_R | EPT_X | EPT_MT_WB);
	CHECK_EQ(e.tables, 4); /* PML4, PDPT, PD, one PT */
	ept_destroy(&e);
	CHECK_EQ(unit_pages_live, 0);
}

static void refusals(void)
{
	struct ept e;
	CHECK_EQ(ept_init(&e, true, false), 0);
	CHECK_EQ(ept_map(&e, 0x1001, 0x2000, 0x1000, EPT_R), (u64)-1); /* unaligned */
	CHECK_EQ(ept_map(&e, 0, 0x2000, 0x1800, EPT_R), (u64)-1);
	CHECK_EQ(ept_map(&e, 0, 0x2000, 0x1000, BIT(9)), (u64)-1);      /* not a permission */
	CHECK_EQ(ept_map(&e, ~0xfffUL, 0, 0x2000, EPT_R), (u64)-1);       /* wraps */
	CHECK_EQ(ept_map(&e, 0, 0x200000, 0x200000, EPT_RWX), 0);
	CHECK_EQ(ept_map(&e, 0x1000, 0x5000, 0x1000, EPT_R), (u64)-1);    /* already mapped (large) */
	CHECK_EQ(ept_split(&e, 0x400000), (u64)-1);                       /* nothing there */
	unit_alloc_fail_after = 0;
	CHECK_EQ(ept_split(&e, 0), (u64)-1);                              /* out of memory */
	CHECK_EQ(ept_map(&e, 1UL << 40, 0, 0x1000, EPT_R), (u64)-1);
	unit_alloc_fail_after = -1;
	ept_destroy(&e);
	CHECK_EQ(unit_pages_live, 0);
	unit_alloc_fail_after = 0;
	CHECK_EQ(ept_init(&e, true, true), (u64)-1);
	unit_alloc_fail_after = -1;
}

static void splits(void)
{
	struct ept e;
	int level;
	CHECK_EQ(ept_init(&e, true, true), 0);
	CHECK_EQ(ept_map(&e, 0, 0x80000000, 0x40000000, EPT_R | EPT_X | EPT_SUPPRESS_VE), 0);
	CHECK_EQ(ept_split_4k(&e, 0x12345678), 0);
	CHECK(ept_leaf(&e, 0x12345678, &level) && level == 1);
	CHECK(ept_leaf(&e, 0x12200000, &level) && level == 1);  /* same 2 MiB region */
	CHECK(ept_leaf(&e, 0x12400000, &level) && level == 2);  /* neighbour stays 2 MiB */
	bool same = true;
	for (u64 gpa = 0; gpa < 0x40000000; gpa += 0x1ff000)
		same &= ept_translate(&e, gpa) == 0x80000000 + gpa;
	CHECK(same);
	u64 *leaf = ept_leaf(&e, 0x12345000, &level);
	CHECK_EQ(*leaf & EPT_PERM_MASK, EPT_R | EPT_X | EPT_SUPPRESS_VE);
	CHECK(!(*leaf & EPT_LARGE));
	CHECK_EQ(ept_split(&e, 0x12345000), 0); /* already 4 KiB: nothing to do */
	CHECK_EQ(e.tables, 4); /* PML4, PDPT, the PD from the 1 GiB split, the PT from the 2 MiB one */
	ept_destroy(&e);
	CHECK_EQ(unit_pages_live, 0);
}

void unit_ept(void)
{
	map_sizes();
	map_without_large_pages();
	refusals();
	splits();
}
