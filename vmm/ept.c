/* ept.c: EPT paging structures (SDM "EPT Translation Mechanism"): 4-level tables that map
 * guest-physical to host-physical with R/W/X permissions and the WB memory type, using the
 * largest page the CPU offers and the alignment allows; large pages are split on demand,
 * keeping the mapping and the permissions. No VMCS access here (the caller does INVEPT), so
 * this file also runs in host unit tests. Table pages come from kalloc_page(). */
#include "vmm.h"

#define EPT_LEVELS 4
#define ENTRY_ADDR_MASK 0x000ffffffffff000UL

static u64 level_size(int level) { return 1UL << (12 + 9 * (level - 1)); } /* 1: 4K, 2: 2M, 3: 1G */
static int index_at(u64 gpa, int level) { return (gpa >> (12 + 9 * (level - 1))) & 511; }
static u64 *table_of(u64 entry) { return (u64 *)(entry & ENTRY_ADDR_MASK); }
/* A leaf stays "mapped" when its permissions are all removed: the address is still there.
 * (Host page 0 is never guest memory: the allocator keeps the first MiB.) */
static bool present(u64 entry) { return entry & (EPT_RWX | ENTRY_ADDR_MASK); }

int ept_init(struct ept *e, bool allow_2m, bool allow_1g)
{
	memset(e, 0, sizeof(*e));
	e->pml4 = kalloc_page();
	if (!e->pml4)
		return -1;
	e->tables = 1;
	e->allow_2m = allow_2m;
	e->allow_1g = allow_1g;
	return 0;
}

/* EPTP: PML4 address, memory type WB, page-walk length 4 - 1 (SDM "Extended-Page-Table Pointer"). */
u64 ept_eptp(const struct ept *e) { return (u64)e->pml4 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | (e->ad ? BIT(6) : 0); }

static void free_table(u64 *t, int level)
{
	for (int i = 0; level > 1 && i < 512; i++)
		if (present(t[i]) && !(t[i] & EPT_LARGE))
			free_table(table_of(t[i]), level - 1);
	kfree_page(t);
}

void ept_destroy(struct ept *e)
{
	if (e->pml4)
		free_table(e->pml4, EPT_LEVELS);
	e->pml4 = NULL;
}

/* The entry for gpa at `level`, creating tables above it (never splitting a large page). */
static u64 *entry_at(struct ept *e, u64 gpa, int level, bool create)
{
	u64 *t = e->pml4;
	for (int l = EPT_LEVELS; l > level; l--) {
		u64 *ent = &t[index_at(gpa, l)];
		if (!present(*ent)) {
			if (!create)
				return NULL;
			u64 *n = kalloc_page();
			if (!n)
				return NULL;
			e->tables++;
			*ent = (u64)n | EPT_RWX; /* non-leaf: permissions come from the leaf */
		} else if (*ent & EPT_LARGE) {
			return NULL;
		}
		t = table_of(*ent);
	}
	return &t[index_at(gpa, level)];
}

/* Map [gpa, gpa+size) to [hpa, hpa+size) with perms (EPT_R/W/X, EPT_SUPPRESS_VE). Both ends
 * 4 KiB aligned. Each piece uses the largest page allowed by alignment and capabilities. */
int ept_map(struct ept *e, u64 gpa, u64 hpa, u64 size, u64 perms)
{
	if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || gpa + size < gpa || (perms & ~EPT_PERM_MASK))
		return -1;
	while (size) {
		int level = 1;
		if (e->allow_1g && IS_ALIGNED(gpa | hpa, level_size(3)) && size >= level_size(3))
			level = 3;
		else if (e->allow_2m && IS_ALIGNED(gpa | hpa, level_size(2)) && size >= level_size(2))
			level = 2;
		u64 *ent = entry_at(e, gpa, level, true);
		if (!ent || present(*ent))
			return -1; /* out of memory, or already mapped */
		*ent = hpa | perms | EPT_MT_WB | (level > 1 ? EPT_LARGE : 0);
		gpa += level_size(level);
		hpa += level_size(level);
		size -= level_size(level);
	}
	return 0;
}

/* The leaf entry mapping gpa and its level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), or NULL. */
u64 *ept_leaf(const struct ept *e, u64 gpa, int *level)
{
	u64 *t = e->pml4;
	for (int l = EPT_LEVELS; l >= 1; l--) {
		u64 *ent = &t[index_at(gpa, l)];
		if (!present(*ent))
			return NULL;
		if (l == 1 || (*ent & EPT_LARGE)) {
			if (level)
				*level = l;
			return ent;
		}
		t = table_of(*ent);
	}
	return NULL;
}

/* The entry at `level` (2: the PDE) on gpa's path, or NULL if the walk ends above it. */
u64 *ept_entry(const struct ept *e, u64 gpa, int level)
{
	u64 *t = e->pml4;
	for (int l = EPT_LEVELS; l > level; l--) {
		u64 ent = t[index_at(gpa, l)];
		if (!present(ent) || (ent & EPT_LARGE))
			return NULL;
		t = table_of(ent);
	}
	return &t[index_at(gpa, level)];
}

/* Host-physical address for gpa, or -1 when unmapped. */
u64 ept_translate(const struct ept *e, u64 gpa)
{
	int level;
	u64 *ent = ept_leaf(e, gpa, &level);
	if (!ent)
		return (u64)-1;
	u64 mask = level_size(level) - 1;
	return (*ent & ENTRY_ADDR_MASK & ~mask) | (gpa & mask);
}

/* Split the large page that maps gpa into 512 pages of the next size down, same addresses
 * and permissions. Returns 0 (also when already 4 KiB), -1 when unmapped or out of memory. */
int ept_split(struct ept *e, u64 gpa)
{
	int level;
	u64 *ent = ept_leaf(e, gpa, &level);
	if (!ent)
		return -1;
	if (level == 1)
		return 0;
	u64 *t = kalloc_page();
	if (!t)
		return -1;
	e->tables++;
	u64 base = *ent & ENTRY_ADDR_MASK & ~(level_size(level) - 1);
	u64 keep = *ent & ~ENTRY_ADDR_MASK & ~EPT_LARGE; /* permissions, memory type, suppress #VE */
	for (int i = 0; i < 512; i++)
		t[i] = (base + i * level_size(level - 1)) | keep | (level - 1 > 1 ? EPT_LARGE : 0);
	*ent = (u64)t | EPT_RWX;
	return 0;
}

/* Split until gpa is mapped by a 4 KiB page. */
int ept_split_4k(struct ept *e, u64 gpa)
{
	int level;
	while (ept_leaf(e, gpa, &level) && level > 1)
		if (ept_split(e, gpa))
			return -1;
	return ept_leaf(e, gpa, &level) ? 0 : -1;
}
