/* mb2.c: reads the multiboot2 information GRUB leaves us (memory map, command line, modules,
 * where the kernel's symbol table was loaded) into struct boot_info, and small helpers for "key=value" command lines.
 * Layout: "Boot information format" in the Multiboot2 specification. */
#include "defs.h"

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_ELF_SECTIONS 9
#define SHT_SYMTAB 2

struct boot_info boot_info;

struct mb2_tag {
	u32 type, size;
};

static void parse_mmap(const struct mb2_tag *t, struct boot_info *bi)
{
	const u8 *p = (const u8 *)t;
	u32 entry_size = *(const u32 *)(p + 8);
	for (u32 off = 16; off + entry_size <= t->size && bi->nmmap < MB2_MAX_MMAP; off += entry_size) {
		const u8 *e = p + off;
		struct mb2_region *r = &bi->mmap[bi->nmmap++];
		r->base = *(const u64 *)e;
		r->len = *(const u64 *)(e + 8);
		r->type = *(const u32 *)(e + 16);
	}
}

/* The ELF section headers of the kernel image: GRUB also loads the sections the image does
 * not (.symtab, .strtab) and puts their addresses in sh_addr. GRUB's tag has u32 num, entsize
 * and shndx, then the headers (the Multiboot2 text says u16). We keep the symbol table and its
 * string table (sh_link), for the names in exception reports (kernel/ksym.c). */
static void parse_elf_sections(const struct mb2_tag *t, struct boot_info *bi)
{
	const u8 *p = (const u8 *)t;
	u32 num = *(const u32 *)(p + 8), entsize = *(const u32 *)(p + 12);
	if (entsize < 64 || t->size < 20 || num > (t->size - 20) / entsize)
		return;
	for (u32 i = 0; i < num; i++) {
		const u8 *sh = p + 20 + (u64)i * entsize;
		u32 link = *(const u32 *)(sh + 40);
		if (*(const u32 *)(sh + 4) != SHT_SYMTAB || link >= num)
			continue;
		const u8 *str = p + 20 + (u64)link * entsize;
		bi->symtab = *(const u64 *)(sh + 16);
		bi->symtab_size = *(const u64 *)(sh + 32);
		bi->strtab = *(const u64 *)(str + 16);
		bi->strtab_size = *(const u64 *)(str + 32);
		return;
	}
}

/* Returns 0, or -1 when the magic is wrong (not booted by a multiboot2 loader). */
int mb2_parse(u32 magic, u64 info_phys, struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	if (magic != MB2_BOOT_MAGIC)
		return -1;
	u32 total = *(const u32 *)info_phys;
	bi->info_start = info_phys;
	bi->info_end = info_phys + total;
	bi->cmdline = "";
	for (u64 p = info_phys + 8; p < bi->info_end; p = ALIGN_UP(p + ((struct mb2_tag *)p)->size, 8)) {
		const struct mb2_tag *t = (const struct mb2_tag *)p;
		if (t->type == MB2_TAG_END || t->size < 8) /* a tag smaller than its header would loop */
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			bi->cmdline = (const char *)(p + 8);
			break;
		case MB2_TAG_LOADER:
			bi->loader = (const char *)(p + 8);
			break;
		case MB2_TAG_MODULE:
			/* EXERCISE(01): record the module in bi->modules (docs/exercises/01-boot.md):
			 * the tag holds u32 mod_start at +8, u32 mod_end at +12, then the module's
			 * command line (NUL-terminated) at +16; keep at most MB2_MAX_MODULES. */
			if (bi->nmodules < MB2_MAX_MODULES) {
				struct mb2_module *m = &bi->modules[bi->nmodules++];
				m->start = *(const u32 *)(p + 8);
				m->end = *(const u32 *)(p + 12);
				m->cmdline = (const char *)(p + 16);
			}
			/* END EXERCISE(01) */
			break;
		case MB2_TAG_MMAP:
			parse_mmap(t, bi);
			break;
		case MB2_TAG_ELF_SECTIONS:
			parse_elf_sections(t, bi);
			break;
		}
	}
	return 0;
}

/* Finds "key=value" in a space-separated command line and copies value into val (size > 0),
 * NUL-terminated. Returns the value's length, or -1 when the key is absent; a bare "key" has
 * length 0. A length >= size means the value did not fit: val holds only its start, and the
 * caller must report that, never go on with the cut value. */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t size)
{
	size_t klen = strlen(key);
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) >= klen && !strncmp(w, key, klen) && (w[klen] == '=' || w + klen == p)) {
			const char *v = w[klen] == '=' ? w + klen + 1 : p;
			size_t len = (size_t)(p - v), n = len < size ? len : size - 1;
			memcpy(val, v, n);
			val[n] = '\0';
			return (int)len;
		}
	}
	return -1;
}

/* Is word one of the comma-separated items of list? */
bool cmdline_list_has(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == wlen && !strncmp(p, word, n))
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}
