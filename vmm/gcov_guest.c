/* gcov_guest.c: the guest's coverage counters, in the COVERAGE=1 build only (docs/testing.md,
 * "Coverage of the hypervisor"). The guest's runtime (guest/gcov.c) lists its objects in
 * gcov_guest_root, whose address comes from guest.elf's symbol table. At the end of each vm_run
 * the counters are added to the hypervisor's copy of each object and cleared in the guest, so a
 * VM run again adds only what is new; the copies are dumped with the hypervisor's own objects
 * (kernel/gcov.c). The guest is not trusted: every pointer is bounded to its RAM, and a list that
 * does not have the shape of the first one seen is dropped whole (and counted in the dump).
 * Not instrumented: the report is about the hypervisor, not about its coverage machinery. */
#include "vmm.h"
#include "../kernel/gcov.h"

#define MAX_OBJECTS 128
#define MAX_FUNCTIONS 2048 /* per object */
#define MAX_COUNTERS 65536 /* per function */
#define NAME_MAX 256
#define ARENA_SIZE (3UL << 20) /* the copies: guest.elf has about 1,900 functions, 190 KiB of counters */

static struct gcov_info *copies[MAX_OBJECTS];
static u32 ncopies;
static u8 arena[ARENA_SIZE] __attribute__((aligned(16)));
static u64 arena_used;

static void *take(u64 n)
{
	n = ALIGN_UP(n, 16);
	if (n > ARENA_SIZE - arena_used)
		return NULL;
	arena_used += n;
	return arena + arena_used - n; /* the arena is bss: zeroed */
}

struct elf64_shdr {
	u32 name, type;
	u64 flags, addr, offset, size;
	u32 link, info;
	u64 align, entsize;
};
struct elf64_sym {
	u32 name;
	u8 info, other;
	u16 shndx;
	u64 value, size;
};

/* The address of the symbol `name` in the ELF image, or 0 (every offset checked). */
static u64 elf_symbol(const u8 *elf, u64 size, const char *name)
{
	if (size < 64)
		return 0;
	u64 shoff = *(const u64 *)(elf + 40);
	u16 shentsize = *(const u16 *)(elf + 58), shnum = *(const u16 *)(elf + 60);
	if (shentsize != sizeof(struct elf64_shdr) || shoff > size || (u64)shnum * shentsize > size - shoff)
		return 0;
	const struct elf64_shdr *sh = (const void *)(elf + shoff);
	for (u16 i = 0; i < shnum; i++) {
		if (sh[i].type != 2 /* SHT_SYMTAB */ || sh[i].link >= shnum)
			continue;
		const struct elf64_shdr *str = &sh[sh[i].link];
		if (sh[i].offset > size || sh[i].size > size - sh[i].offset || str->offset > size ||
		    str->size > size - str->offset)
			return 0;
		const struct elf64_sym *sym = (const void *)(elf + sh[i].offset);
		const char *names = (const char *)elf + str->offset;
		u64 len = strlen(name);
		for (u64 k = 0; k < sh[i].size / sizeof(*sym); k++)
			if (sym[k].name < str->size && len < str->size - sym[k].name &&
			    !memcmp(names + sym[k].name, name, len + 1))
				return sym[k].value;
	}
	return 0;
}

static u64 root_gpa(void)
{
	static bool looked;
	static u64 gpa;
	const u8 *elf;
	u64 size;
	if (!looked && guest_module(&elf, &size)) {
		gpa = elf_symbol(elf, size, GCOV_GUEST_ROOT);
		if (!gpa)
			printf("# gcov: guest.elf has no symbol %s: its counters are not collected\n", GCOV_GUEST_ROOT);
	}
	looked = true;
	return gpa;
}

static const void *at(struct vm *vm, u64 gpa, u64 size) { return vm->ram ? vm_gpa(vm, gpa, size) : NULL; }

/* The guest's function i of object gi, or NULL when it is not the object's own (comdat). */
static const struct gcov_fn_info *guest_fn(struct vm *vm, const struct gcov_info *gi, u64 gi_gpa, u32 i)
{
	const u64 *fns = at(vm, (u64)gi->functions, (u64)gi->n_functions * 8);
	const struct gcov_fn_info *fn = fns ? at(vm, fns[i], sizeof(*fn)) : NULL;
	return fn && (u64)fn->key == gi_gpa ? fn : NULL;
}

/* The hypervisor's copy of object gi: its shape, zero counters, registered for the dumps. */
static struct gcov_info *copy_object(struct vm *vm, const struct gcov_info *gi, u64 gi_gpa)
{
	const char *end = NULL;
	u64 len = 0;
	while (len < NAME_MAX && (end = at(vm, (u64)gi->filename + len, 1)) && *end)
		len++;
	if (!end || len == NAME_MAX || gi->n_functions > MAX_FUNCTIONS)
		return NULL;
	struct gcov_info *c = take(sizeof(*c));
	char *cname = take(len + 1);
	const struct gcov_fn_info **fns = take((u64)gi->n_functions * sizeof(*fns) + 1);
	if (!c || !cname || !fns)
		return NULL;
	memcpy(cname, at(vm, (u64)gi->filename, len), len);
	*c = (struct gcov_info){.version = gi->version, .stamp = gi->stamp, .checksum = gi->checksum,
				.filename = cname, .n_functions = gi->n_functions, .functions = fns};
	c->merge[GCOV_COUNTER_ARCS] = __gcov_merge_add;
	for (u32 i = 0; i < gi->n_functions; i++) {
		const struct gcov_fn_info *g = guest_fn(vm, gi, gi_gpa, i);
		struct gcov_fn_info *f = g ? take(sizeof(*f)) : NULL;
		if (!g)
			continue;
		if (!f || g->ctrs[0].num > MAX_COUNTERS || !(f->ctrs[0].values = take(g->ctrs[0].num * 8UL)))
			return NULL;
		f->key = c;
		f->ident = g->ident, f->lineno_checksum = g->lineno_checksum, f->cfg_checksum = g->cfg_checksum;
		f->ctrs[0].num = g->ctrs[0].num;
		fns[i] = f;
	}
	return c;
}

/* Does the guest's object have copy c's shape (and its counters in RAM)? */
static bool same_shape(struct vm *vm, const struct gcov_info *gi, u64 gi_gpa, const struct gcov_info *c)
{
	if (gi->stamp != c->stamp || gi->checksum != c->checksum || gi->n_functions != c->n_functions ||
	    !at(vm, (u64)gi->functions, (u64)gi->n_functions * 8))
		return false;
	for (u32 i = 0; i < c->n_functions; i++) {
		const struct gcov_fn_info *g = guest_fn(vm, gi, gi_gpa, i), *f = c->functions[i];
		if (!g != !f || (g && (g->ident != f->ident || g->ctrs[0].num != f->ctrs[0].num ||
				       !at(vm, (u64)g->ctrs[0].values, g->ctrs[0].num * 8UL))))
			return false;
	}
	return true;
}

static void add_and_clear(struct vm *vm, const struct gcov_info *gi, u64 gi_gpa, struct gcov_info *c)
{
	for (u32 i = 0; i < c->n_functions; i++) {
		const struct gcov_fn_info *g = guest_fn(vm, gi, gi_gpa, i);
		if (!g)
			continue;
		s64 *v = (s64 *)at(vm, (u64)g->ctrs[0].values, g->ctrs[0].num * 8UL);
		for (u32 k = 0; k < g->ctrs[0].num; k++)
			c->functions[i]->ctrs[0].values[k] += v[k];
		memset(v, 0, g->ctrs[0].num * 8UL);
	}
}

/* One counter kind, arcs (the guest is built as the hypervisor is, without value profiling). */
static bool arcs_only(const struct gcov_info *gi)
{
	for (int t = 0; t < GCOV_COUNTERS; t++)
		if (!gi->merge[t] != (t != GCOV_COUNTER_ARCS))
			return false;
	return true;
}

/* The objects of the guest's list, in list order (the same every run), or -1 when the list is
 * not whole: the first time the copies are made, then each must keep its shape. */
static int walk(struct vm *vm, const struct gcov_guest_root *root, bool add)
{
	u64 gpa = (u64)root->head;
	u32 k = 0;
	for (; gpa && k < MAX_OBJECTS; k++) {
		const struct gcov_info *gi = at(vm, gpa, sizeof(*gi));
		if (!gi || !arcs_only(gi))
			return -1;
		if (k == ncopies) {
			if (!(copies[k] = copy_object(vm, gi, gpa)) || cov_register_guest(copies[k]))
				return -1;
			ncopies++;
		}
		if (!same_shape(vm, gi, gpa, copies[k]))
			return -1;
		if (add)
			add_and_clear(vm, gi, gpa, copies[k]);
		gpa = (u64)gi->next;
	}
	return gpa || k != ncopies ? -1 : 0;
}

/* Where each guest function's counters are, for collect_marked: found once, after the copies. */
#define MAX_SPANS 4096
static struct span {
	u64 gpa;
	u32 num;
	s64 *dst;
} spans[MAX_SPANS];
static u32 nspans;
static int spans_state; /* 0: not looked, 1: found, -1: the list has no usable shape */

static void find_spans(struct vm *vm, const struct gcov_guest_root *root)
{
	u64 gpa = (u64)root->head;
	spans_state = -1;
	for (u32 k = 0; gpa && k < ncopies; k++) {
		const struct gcov_info *gi = at(vm, gpa, sizeof(*gi));
		if (!gi || !same_shape(vm, gi, gpa, copies[k]))
			return;
		for (u32 i = 0; i < copies[k]->n_functions; i++) {
			const struct gcov_fn_info *g = guest_fn(vm, gi, gpa, i);
			if (!g || !g->ctrs[0].num)
				continue;
			if (nspans == MAX_SPANS)
				return;
			spans[nspans++] = (struct span){(u64)g->ctrs[0].values, g->ctrs[0].num,
							 copies[k]->functions[i]->ctrs[0].values};
		}
		gpa = (u64)gi->next;
	}
	spans_state = 1;
}

/* A fuzz iteration's counters (fuzz.c, before the restore): only the functions whose counters
 * lie in frames the iteration wrote (frames[n] != 0) can have counted; the rest is not read.
 * The restore puts the counters back (the snapshot's are zero: collected at its vm_run). */
void cov_guest_collect_marked(struct vm *vm, const u8 *frames)
{
	u64 gpa = root_gpa();
	const struct gcov_guest_root *root = gpa ? at(vm, gpa, sizeof(*root)) : NULL;
	if (!spans_state && root && root->magic == GCOV_GUEST_MAGIC && ncopies)
		find_spans(vm, root);
	if (spans_state != 1)
		return cov_guest_collect(vm);
	for (u32 s = 0; s < nspans; s++) {
		u64 f = spans[s].gpa / PAGE_SIZE, last = (spans[s].gpa + spans[s].num * 8UL - 1) / PAGE_SIZE;
		while (f <= last && !frames[f])
			f++;
		s64 *v = f <= last ? (s64 *)at(vm, spans[s].gpa, spans[s].num * 8UL) : NULL;
		for (u32 k = 0; v && k < spans[s].num; k++)
			spans[s].dst[k] += v[k], v[k] = 0;
	}
	cov_guest_counted(true);
}

void cov_guest_collect(struct vm *vm)
{
	u64 gpa = root_gpa();
	const struct gcov_guest_root *root = gpa ? at(vm, gpa, sizeof(*root)) : NULL;
	if (!root || root->magic != GCOV_GUEST_MAGIC || !root->head)
		return; /* not the guest kernel, or its constructors never ran */
	bool ok = walk(vm, root, false) == 0;
	if (ok)
		walk(vm, root, true);
	cov_guest_counted(ok);
}
