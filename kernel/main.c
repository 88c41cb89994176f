/* main.c: the boot sequence after boot.S. Brings up the platform, then hands over either to
 * the in-VM test suites (command line "tests=...") or to the hypervisor's interactive run. */
#include "defs.h"

/* A tests= list longer than its buffer: a KTAP document that says so, never a run of whatever
 * suites the cut list happens to name. */
static void tests_too_long(int len, size_t max)
{
	printf("KTAP version 1\n# hvlab tests, cmdline \"%s\"\n1..1\n", boot_info.cmdline);
	printf("not ok 1 cmdline # ERROR tests= is %d characters long; at most %lu fit\n", len, max);
	printf("# result: ERROR\n");
	machine_exit(EXIT_ERROR);
}

void kmain(u32 magic, u64 info)
{
	char list[1024];
	int len;
	cov_start();                     /* COVERAGE=1 only: register the objects' counters */
	console_init();                  /* COM1 first: everything after may print */
	gdt_init();                      /* our own GDT and a TSS (VMX host state needs TR) */
	trap_init();                     /* exception vectors 0-31 */
	paging_init();                   /* page 0 unmapped, text read-only, data not executable */
	if (mb2_parse(magic, info, &boot_info))
		panic("not booted by a multiboot2 loader (EAX=0x%x)", magic);
	kalloc_init(&boot_info);         /* free pages = RAM - kernel - boot info - modules */
	if (kalloc_ram_ignored())        /* said once, at boot: never a silent loss */
		printf("hvlab: %lu MiB of RAM above 4 GiB is not used (the hypervisor maps and "
		       "allocates the first 4 GiB only)\n", kalloc_ram_ignored() >> 20);
	smp_init(boot_info.cmdline);     /* the other CPUs (one machine CPU: nothing to do) */
	len = cmdline_get(boot_info.cmdline, "tests", list, sizeof(list));
	if (len >= (int)sizeof(list))
		tests_too_long(len, sizeof(list) - 1);
	if (len >= 0)
		ktap_main(list);         /* runs the suites and ends the machine */
	vmm_main(boot_info.cmdline);     /* the interactive hypervisor run */
	machine_exit(EXIT_PASS);
}
