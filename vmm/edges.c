/* edges.c: coverage=edges, the exact mode. At the snapshot the fuzz targets' code becomes an
 * emulated region (region.c): every iteration runs it in the interpreter, which counts each
 * edge it takes in an AFL-style map (emu_set_edges, emulator/emu.h). Breakpoints (cover.c) see
 * each block once per campaign; the map sees every edge of every iteration, with its count.
 * After an iteration each count goes into AFL's buckets (1, 2, 3, 4-7, 8-15, 16-31, 32-127,
 * 128+): a bucket never seen at its index is new coverage, so an input that runs a loop more
 * often than any before joins the corpus too. The region spans the pages of the blocks
 * guest/fuzz/blocks.py lists (cover_blocks); it is made after the snapshot, so the guest's
 * setup ran on the CPU. Limits: at most HV_REGION_PAGES pages of target code; what the targets
 * call outside them (the guest's library) runs on the CPU and is not seen; the edges of code
 * the interpreter hands to the CPU (VMCALL, I/O) are the entries after it. */
#include "fuzz.h"

struct fuzz_edges {
	u8 map[FUZZ_EDGE_MAP];   /* this iteration's counts (the interpreter writes them) */
	u8 seen[FUZZ_EDGE_MAP];  /* per index: the buckets any iteration reached */
	u64 covered;             /* indices any iteration hit */
	u64 start, size;         /* the region: guest-physical (= linear: hvlab's guest) */
	s64 region;              /* its id, or -1 */
};

static u64 pages(u64 bytes) { return ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE; }

/* Before fuzz_start: NULL, or why this mode cannot be had. */
const char *edges_attach(struct vm *vm)
{
	static char why[120];
	u64 n;
	const u64 *b = cover_blocks(&n);
	if (!b || n == 0)
		return "the guest module has no .fuzzblocks section (guest/fuzz/blocks.py)";
	u64 lo = ALIGN_DOWN(b[0], PAGE_SIZE), hi = ALIGN_UP(b[n - 1] + 1, PAGE_SIZE);
	if (hi > vm->ram_size || (hi - lo) / PAGE_SIZE > HV_REGION_PAGES) {
		snprintf(why, sizeof(why), "the fuzz targets' code spans %lu pages at 0x%lx; a region holds at most %u",
			 (hi - lo) / PAGE_SIZE, lo, HV_REGION_PAGES);
		return why;
	}
	struct fuzz_edges *x = kalloc_pages(pages(sizeof(*x)), PAGE_SIZE);
	if (!x)
		return "out of memory for the edge map";
	memset(x, 0, sizeof(*x));
	x->start = lo, x->size = hi - lo, x->region = -1;
	vm->fuzz->edges = x;
	return NULL;
}

/* At the snapshot: the targets' pages become a region, the interpreter gets the map. */
const char *edges_start(struct vm *vm)
{
	struct fuzz_edges *x = vm->fuzz->edges;
	x->region = region_add(vm, HV_TRAP_GPA, x->start, x->size);
	if (x->region < 0)
		return "the targets' code could not become an emulated region (a region or a trap there already, or no slot)";
	return NULL;
}

void edges_detach(struct vm *vm)
{
	struct fuzz_edges *x = vm->fuzz->edges;
	if (!x)
		return;
	region_set_edges(vm, NULL);
	if (x->region >= 0)
		region_remove(vm, x->region); /* the VM is stopped: not inside it */
	kfree_pages(x, pages(sizeof(*x)));
	vm->fuzz->edges = NULL;
}

/* Before an iteration: an empty map, the first entry's edge from nowhere. */
void edges_begin(struct vm *vm)
{
	struct fuzz_edges *x = vm->fuzz->edges;
	memset(x->map, 0, sizeof(x->map));
	region_set_edges(vm, x->map);
}

/* AFL's bucket of a hit count, one bit each. */
static u8 bucket(u8 n)
{
	return n == 1 ? 1 : n == 2 ? 2 : n == 3 ? 4 : n <= 7 ? 8 : n <= 15 ? 16 : n <= 31 ? 32 : n <= 127 ? 64 : 128;
}

/* After an iteration: how many (index, bucket) pairs no iteration had reached before. */
u64 edges_collect(struct vm *vm)
{
	struct fuzz_edges *x = vm->fuzz->edges;
	const u64 *w = (const u64 *)x->map;
	u64 fresh = 0;
	for (u64 i = 0; i < FUZZ_EDGE_MAP / 8; i++) {
		if (!w[i])
			continue;
		for (u64 j = i * 8; j < i * 8 + 8; j++) {
			u8 b = x->map[j] ? bucket(x->map[j]) : 0;
			if (!b || (x->seen[j] & b))
				continue;
			x->covered += !x->seen[j];
			x->seen[j] |= b;
			fresh++;
		}
	}
	return fresh;
}

u64 edges_count(struct vm *vm) { return vm->fuzz->edges->covered; }
