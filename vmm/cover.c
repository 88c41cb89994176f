/* cover.c: coverage by one-shot breakpoints, as wtf does. guest/fuzz/blocks.py lists the fuzz
 * targets' basic blocks at build time in guest.elf's section .fuzzblocks (not loaded); at the
 * snapshot an INT3 (0xCC) goes on the first byte of each block, in guest RAM and in the
 * snapshot's copy alike. #BP is intercepted (exception bitmap); the first time a block runs,
 * its breakpoint exits, the original byte goes back in both copies (so restores keep it), the
 * block counts as covered and the guest resumes at the same RIP. Limits: the guest's code is
 * identity-mapped (guest GVA = GPA, hvlab's guest); the guest's own reads of a block's first
 * byte see 0xCC until the block has run. No edge counts: a block is covered or not. */
#include "fuzz.h"
#include "vmcs.h"

#define MAGIC 0x31304b4c42465648UL /* "HVFBLK01" */

struct fuzz_cov {
	u64 n, covered;
	u64 *addr;  /* sorted guest-physical addresses of the blocks */
	u8 *orig;   /* their first bytes */
	u8 *hit;
};

/* The .fuzzblocks section of the guest module, or NULL. */
static const u64 *find_blocks(u64 *count)
{
	const u8 *elf;
	u64 size;
	if (!guest_module(&elf, &size) || size < 64)
		return NULL;
	u64 shoff = *(const u64 *)(elf + 0x28);
	u16 shentsize = *(const u16 *)(elf + 0x3a), shnum = *(const u16 *)(elf + 0x3c), shstrndx = *(const u16 *)(elf + 0x3e);
	if (shentsize < 64 || shstrndx >= shnum || shoff > size || (u64)shnum * shentsize > size - shoff)
		return NULL;
	const u8 *strs = elf + shoff + (u64)shstrndx * shentsize;
	u64 stroff = *(const u64 *)(strs + 0x18);
	for (u16 i = 0; i < shnum; i++) {
		const u8 *sh = elf + shoff + (u64)i * shentsize;
		u32 name = *(const u32 *)sh;
		u64 off = *(const u64 *)(sh + 0x18), len = *(const u64 *)(sh + 0x20);
		if (stroff + name + 12 > size || memcmp(elf + stroff + name, ".fuzzblocks", 12))
			continue;
		if (off > size || len > size - off || len < 16 || *(const u64 *)(elf + off) != MAGIC)
			return NULL;
		*count = *(const u64 *)(elf + off + 8);
		return *count <= (len - 16) / 8 ? (const u64 *)(elf + off + 16) : NULL;
	}
	return NULL;
}

static u64 pages(u64 bytes) { return ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE; }

/* Before fuzz_start: the block list. NULL, or why coverage cannot be had. */
const char *cover_attach(struct vm *vm)
{
	u64 n;
	const u64 *list = find_blocks(&n);
	if (!list || n == 0)
		return "the guest module has no .fuzzblocks section (guest/fuzz/blocks.py)";
	struct fuzz_cov *c = kalloc_pages(pages(sizeof(*c) + n * 10), PAGE_SIZE);
	if (!c)
		return "out of memory for the block list";
	c->n = n, c->covered = 0;
	c->addr = (u64 *)(c + 1);
	c->orig = (u8 *)(c->addr + n);
	c->hit = c->orig + n;
	memcpy(c->addr, list, n * 8);
	vm->fuzz->cov = c;
	return NULL;
}

void cover_detach(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz->cov;
	if (c)
		kfree_pages(c, pages(sizeof(*c) + c->n * 10));
	vm->fuzz->cov = NULL;
}

/* At the snapshot (after snap_take): an INT3 on every block, in RAM and the snapshot. */
void cover_plant(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz->cov;
	for (u64 i = 0; i < c->n; i++) {
		c->hit[i] = c->addr[i] >= vm->ram_size; /* outside RAM: never planted */
		if (c->hit[i])
			continue;
		c->orig[i] = vm->ram[c->addr[i]];
		vm->ram[c->addr[i]] = vm->fuzz->snap.ram[c->addr[i]] = 0xcc;
	}
}

/* A #BP exit: one of ours (removed; the guest runs the block) or not (false: the guest's). The
 * exit saves the RIP of the INT3 itself (SDM "Saving the RIP", software exceptions). */
bool cover_hit(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz->cov;
	u64 rip = vmcs_read(GUEST_RIP), lo = 0, hi = c->n;
	while (lo < hi) {
		u64 mid = (lo + hi) / 2;
		if (c->addr[mid] < rip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->n || c->addr[lo] != rip || c->hit[lo])
		return false;
	c->hit[lo] = 1;
	c->covered++;
	vm->ram[rip] = vm->fuzz->snap.ram[rip] = c->orig[lo];
	vm->fuzz->cur.new_cov++;
	return true;
}

u64 cover_count(struct vm *vm) { return vm->fuzz->cov ? vm->fuzz->cov->covered : 0; }
u64 cover_total(struct vm *vm) { return vm->fuzz->cov ? vm->fuzz->cov->n : 0; }
