/* test_mb2.c: multiboot2 information parsing on a hand-built structure, and command lines. */
#include <string.h>
#include "unit.h"
#include "../../kernel/defs.h"

static unsigned char info[1024] __attribute__((aligned(8)));

static unsigned char *tag(unsigned char *p, unsigned type, unsigned size)
{
	memcpy(p, &type, 4);
	memcpy(p + 4, &size, 4);
	return p;
}

static void parse(void)
{
	unsigned char *p = info + 8;
	tag(p, 1, 8 + 12), memcpy(p + 8, "tests=boot\0", 12);
	p += 24; /* 20 rounded up to 8 */
	tag(p, 3, 16 + 6);
	unsigned start = 0x200000, end = 0x201000;
	memcpy(p + 8, &start, 4), memcpy(p + 12, &end, 4), memcpy(p + 16, "guest", 6);
	p += 24;
	tag(p, 6, 16 + 2 * 24);
	unsigned esize = 24, ever = 0;
	memcpy(p + 8, &esize, 4), memcpy(p + 12, &ever, 4);
	unsigned long long e[6] = {0, 0x9f000, 1, 0x100000, 0x7ee0000, 1};
	memcpy(p + 16, &e[0], 8), memcpy(p + 24, &e[1], 8), memcpy(p + 32, &e[2], 4);
	memcpy(p + 40, &e[3], 8), memcpy(p + 48, &e[4], 8), memcpy(p + 56, &e[5], 4);
	p += 64;
	tag(p, 0, 8);
	p += 8;
	unsigned total = p - info;
	memcpy(info, &total, 4);
	struct boot_info bi;
	CHECK_EQ(mb2_parse(MB2_BOOT_MAGIC, (u64)info, &bi), 0);
	CHECK(!strcmp(bi.cmdline, "tests=boot"));
	CHECK_EQ(bi.nmodules, 1);
	CHECK_EQ(bi.modules[0].start, 0x200000);
	CHECK(!strcmp(bi.modules[0].cmdline, "guest"));
	CHECK_EQ(bi.nmmap, 2);
	CHECK_EQ(bi.mmap[1].base, 0x100000);
	CHECK_EQ(bi.mmap[1].len, 0x7ee0000);
	CHECK_EQ(bi.info_end - bi.info_start, total);
	CHECK_EQ(mb2_parse(0x2badb002, (u64)info, &bi), (u64)-1); /* multiboot1 magic */
}

/* One section header (Elf64_Shdr: type at 4, addr at 16, size at 32, link at 40). */
static void shdr(unsigned char *sh, unsigned type, unsigned long long addr, unsigned long long size, unsigned link)
{
	memset(sh, 0, 64);
	memcpy(sh + 4, &type, 4), memcpy(sh + 16, &addr, 8), memcpy(sh + 32, &size, 8), memcpy(sh + 40, &link, 4);
}

/* The ELF-symbols tag (type 9, GRUB's layout: u32 num, entsize, shndx, then the headers): the
 * symbol table and the string table its sh_link names are found; a bad entsize is ignored. */
static void elf_sections(void)
{
	for (int bad = 0; bad < 2; bad++) {
		unsigned char *p = info + 8;
		unsigned num = 4, entsize = bad ? 32 : 64, shndx = 0;
		tag(p, 9, 20 + 4 * 64);
		memcpy(p + 8, &num, 4), memcpy(p + 12, &entsize, 4), memcpy(p + 16, &shndx, 4);
		shdr(p + 20, 0, 0, 0, 0);
		shdr(p + 20 + 64, 1, 0x100000, 0x2000, 0);       /* .text */
		shdr(p + 20 + 128, 3, 0x7f0000, 0x1d8d, 0);      /* .strtab */
		shdr(p + 20 + 192, 2, 0x7e0000, 0x3c30, 2);      /* .symtab, link 2 */
		p += 20 + 4 * 64 + 4; /* 276 rounded up to 8 */
		tag(p, 0, 8);
		p += 8;
		unsigned total = p - info;
		memcpy(info, &total, 4);
		struct boot_info bi;
		CHECK_EQ(mb2_parse(MB2_BOOT_MAGIC, (u64)info, &bi), 0);
		CHECK_EQ(bi.symtab, bad ? 0 : 0x7e0000);
		CHECK_EQ(bi.symtab_size, bad ? 0 : 0x3c30);
		CHECK_EQ(bi.strtab, bad ? 0 : 0x7f0000);
		CHECK_EQ(bi.strtab_size, bad ? 0 : 0x1d8d);
	}
}

/* A tag whose size is smaller than its own header ends the parse (it used to loop forever). */
static void bad_tag_size(void)
{
	unsigned char *p = info + 8;
	tag(p, 1, 8 + 4), memcpy(p + 8, "a=1\0", 4);
	tag(p + 16, 4, 0);
	unsigned total = 16 + 8 + 8;
	memcpy(info, &total, 4);
	struct boot_info bi;
	CHECK_EQ(mb2_parse(MB2_BOOT_MAGIC, (u64)info, &bi), 0);
	CHECK(!strcmp(bi.cmdline, "a=1"));
}

static void cmdlines(void)
{
	char v[8];
	CHECK_EQ(cmdline_get("a=1 tests=boot,vmxon", "tests", v, sizeof(v)), 10); /* >= 8: too long */
	CHECK(!strcmp(v, "boot,vm"));                                              /* only its start */
	CHECK_EQ(cmdline_get("tests=boot,vm", "tests", v, sizeof(v)), 7);          /* fits exactly */
	CHECK(!strcmp(v, "boot,vm"));
	CHECK_EQ(cmdline_get("tests=boot,vmx", "tests", v, sizeof(v)), 8);         /* one too many */
	CHECK_EQ(cmdline_get("testsx=1", "tests", v, sizeof(v)), -1);
	CHECK_EQ(cmdline_get("  demo  ", "demo", v, sizeof(v)), 0);
	CHECK(v[0] == '\0');
	CHECK_EQ(cmdline_get("demo=", "demo", v, sizeof(v)), 0);
	char one[1];
	CHECK_EQ(cmdline_get("k=xyz", "k", one, sizeof(one)), 3); /* size 1: only the NUL */
	CHECK(one[0] == '\0');
	CHECK(cmdline_list_has("a,bb,c", "bb") && !cmdline_list_has("a,bb,c", "b"));
	CHECK(!cmdline_list_has("", "a"));
}

void unit_mb2(void)
{
	parse();
	elf_sections();
	bad_tag_size();
	cmdlines();
}
