/* test_mb2.c: multiboot2 information parsing on a hand-built structure, and command lines. */
#include <string.h>
#include "unit.h"
#include "../../kernel/defs.h"

static unsigned char info[512] __attribute__((aligned(8)));

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

static void cmdlines(void)
{
	char v[8];
	CHECK(cmdline_get("a=1 tests=boot,vmxon", "tests", v, sizeof(v)) != NULL);
	CHECK(!strcmp(v, "boot,vm")); /* truncated to the buffer */
	CHECK(cmdline_get("testsx=1", "tests", v, sizeof(v)) == NULL);
	CHECK(cmdline_get("  demo  ", "demo", v, sizeof(v)) && v[0] == '\0');
	CHECK(cmdline_list_has("a,bb,c", "bb") && !cmdline_list_has("a,bb,c", "b"));
	CHECK(!cmdline_list_has("", "a"));
}

void unit_mb2(void)
{
	parse();
	cmdlines();
}
