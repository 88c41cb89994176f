/* cover.c: coverage by one-shot breakpoints, as wtf does. guest/fuzz/blocks.py lists the fuzz
 * targets' basic blocks at build time in guest.elf's section .fuzzblocks (not loaded); at the
 * snapshot an INT3 (0xCC) goes on the first byte of each block. #BP is intercepted (exception
 * bitmap); the first time a block runs, its breakpoint exits, the original byte goes back, the
 * block counts as covered and the guest resumes at the same RIP. Where the CPU has execute-only
 * EPT the INT3s go into a copy of each code page that the policy layer shows to instruction
 * fetches only (policy_set_xcopy): the guest's reads of its code see the original bytes (each
 * read is a single step on the frame itself, violation.c); a write to such a page ends that:
 * its remaining INT3s go into RAM and the snapshot, as without execute-only EPT, where the
 * guest's reads of a block's first byte see 0xCC until the block has run. Limits: the guest's
 * code is identity-mapped (guest GVA = GPA, hvlab's guest). No edge counts. */
#include "fuzz.h"
#include "vmcs.h"

#define MAGIC 0x31304b4c42465648UL /* "HVFBLK01" */

struct cov_page {
	u64 frame;  /* guest-physical */
	u8 *copy;   /* what instruction fetches see there, or NULL (gone) */
	u64 left;   /* breakpoints not hit yet in the copy */
};

struct fuzz_cov {
	u64 n, covered;
	u64 *addr;  /* sorted guest-physical addresses of the blocks */
	u8 *orig;   /* their first bytes */
	u8 *hit;
	u8 *page;   /* per block: index + 1 into pg (its INT3 is in that copy), or 0 (in RAM) */
	bool hide;  /* breakpoints in execute copies where the CPU can */
	u32 npg;
	struct cov_page pg[POLICY_XCOPY_MAX];
};
#define PER_BLOCK 11 /* bytes: addr, orig, hit, page */

/* The .fuzzblocks section of the guest module, or NULL. */
const u64 *cover_blocks(u64 *count)
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
	const u64 *list = cover_blocks(&n);
	if (!list || n == 0)
		return "the guest module has no .fuzzblocks section (guest/fuzz/blocks.py)";
	struct fuzz_cov *c = kalloc_pages(pages(sizeof(*c) + n * PER_BLOCK), PAGE_SIZE);
	if (!c)
		return "out of memory for the block list";
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->addr = (u64 *)(c + 1);
	c->orig = (u8 *)(c->addr + n);
	c->hit = c->orig + n;
	c->page = c->hit + n;
	c->hide = vmx_caps.ept_execute_only;
	memcpy(c->addr, list, n * 8);
	vm->fuzz->cov = c;
	return NULL;
}

/* Why the guest's reads of its code see the breakpoints, or NULL: they do not. */
const char *cover_hiding(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz ? vm->fuzz->cov : NULL;
	if (!c)
		return "no coverage breakpoints";
	if (!vmx_caps.ept_execute_only)
		return "this CPU has no execute-only EPT (IA32_VMX_EPT_VPID_CAP bit 0): the guest's reads of its code see "
		       "the breakpoints (0xCC) until their blocks have run";
	return c->hide ? NULL : "hiding turned off (cover_set_hiding)";
}

/* Before fuzz_start: breakpoints in RAM even where the CPU could hide them (tests compare). */
void cover_set_hiding(struct vm *vm, bool on) { vm->fuzz->cov->hide = on && vmx_caps.ept_execute_only; }

/* Page i's copy goes: its frame shows itself again to fetches. */
static void drop_page(struct vm *vm, struct fuzz_cov *c, u32 i)
{
	if (!c->pg[i].copy)
		return;
	policy_set_xcopy(vm, c->pg[i].frame, NULL);
	kfree_page(c->pg[i].copy);
	c->pg[i].copy = NULL;
}

void cover_detach(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz->cov;
	if (!c)
		return;
	for (u32 i = 0; i < c->npg; i++)
		drop_page(vm, c, i);
	kfree_pages(c, pages(sizeof(*c) + c->n * PER_BLOCK));
	vm->fuzz->cov = NULL;
}

static void plant_in_ram(struct vm *vm, u64 gpa) { vm->ram[gpa] = vm->fuzz->snap.ram[gpa] = 0xcc; }

/* The copy of gpa's code page (made now from RAM, without breakpoints yet): index + 1, or 0
 * when none can be had (no slot, no memory: its breakpoints go into RAM). */
static u32 page_for(struct vm *vm, struct fuzz_cov *c, u64 gpa)
{
	u64 frame = ALIGN_DOWN(gpa, PAGE_SIZE);
	for (u32 i = 0; i < c->npg; i++)
		if (c->pg[i].frame == frame)
			return c->pg[i].copy ? i + 1 : 0;
	if (c->npg == POLICY_XCOPY_MAX)
		return 0;
	struct cov_page *p = &c->pg[c->npg++];
	p->frame = frame, p->left = 0;
	if ((p->copy = kalloc_page()))
		memcpy(p->copy, vm->ram + frame, PAGE_SIZE);
	return p->copy ? c->npg : 0;
}

/* Page i's remaining breakpoints go into RAM and the snapshot; its copy goes. The page is the
 * snapshot's in RAM (no write could reach it while it had a copy). */
static void unhide(struct vm *vm, struct fuzz_cov *c, u32 i)
{
	for (u64 b = 0; b < c->n; b++)
		if (c->page[b] == i + 1) {
			if (!c->hit[b])
				plant_in_ram(vm, c->addr[b]);
			c->page[b] = 0;
		}
	drop_page(vm, c, i);
}

/* At the snapshot (after snap_take): an INT3 on every block, in its page's copy where the CPU
 * can show one to fetches only, else in RAM and the snapshot. */
void cover_plant(struct vm *vm)
{
	struct fuzz_cov *c = vm->fuzz->cov;
	for (u64 i = 0; i < c->n; i++) {
		c->hit[i] = c->addr[i] >= vm->ram_size; /* outside RAM: never planted */
		c->page[i] = 0;
		if (c->hit[i])
			continue;
		c->orig[i] = vm->ram[c->addr[i]];
		if (c->hide && (c->page[i] = page_for(vm, c, c->addr[i]))) {
			c->pg[c->page[i] - 1].copy[c->addr[i] % PAGE_SIZE] = 0xcc;
			c->pg[c->page[i] - 1].left++;
		} else {
			plant_in_ram(vm, c->addr[i]);
		}
	}
	for (u32 i = 0; i < c->npg; i++)
		if (c->pg[i].copy && policy_set_xcopy(vm, c->pg[i].frame, c->pg[i].copy))
			unhide(vm, c, i); /* the policy could not (out of memory): as without hiding */
}

/* A write to (or an event through) frame, a code page with a copy (violation.c): from now on
 * its breakpoints are in RAM, and the guest's write goes to RAM. */
void cover_unhide(struct vm *vm, u64 frame)
{
	struct fuzz_cov *c = vm->fuzz ? vm->fuzz->cov : NULL;
	for (u32 i = 0; c && i < c->npg; i++)
		if (c->pg[i].frame == frame && c->pg[i].copy) {
			printf("# cover: a write to code page 0x%lx: its breakpoints go into RAM\n", frame);
			unhide(vm, c, i);
			return;
		}
	policy_set_xcopy(vm, frame, NULL); /* not ours: never leave a guest retrying forever */
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
	if (c->page[lo]) {
		struct cov_page *p = &c->pg[c->page[lo] - 1];
		p->copy[rip % PAGE_SIZE] = c->orig[lo];
		if (--p->left == 0) /* every block of the page has run: the frame itself again */
			drop_page(vm, c, c->page[lo] - 1);
	} else {
		vm->ram[rip] = vm->fuzz->snap.ram[rip] = c->orig[lo];
	}
	vm->fuzz->cur.new_cov++;
	return true;
}

/* Coverage so far, of a total: blocks (breakpoints), or indices of the edge map (edges.c). */
u64 cover_count(struct vm *vm)
{
	return vm->fuzz->edges ? edges_count(vm) : vm->fuzz->cov ? vm->fuzz->cov->covered : 0;
}
u64 cover_total(struct vm *vm) { return vm->fuzz->edges ? FUZZ_EDGE_MAP : vm->fuzz->cov ? vm->fuzz->cov->n : 0; }
