/* main.c: the boot sequence after boot.S. Brings up the platform, then hands over either to
 * the in-VM test suites (command line "tests=...") or to the hypervisor's interactive run. */
#include "defs.h"

void kmain(u32 magic, u64 info)
{
	char list[256];
	console_init();                  /* COM1 first: everything after may print */
	gdt_init();                      /* our own GDT and a TSS (VMX host state needs TR) */
	trap_init();                     /* exception vectors 0-31 */
	paging_init();                   /* page 0 unmapped, text read-only, data not executable */
	if (mb2_parse(magic, info, &boot_info))
		panic("not booted by a multiboot2 loader (EAX=0x%x)", magic);
	kalloc_init(&boot_info);         /* free pages = RAM - kernel - boot info - modules */
	if (cmdline_get(boot_info.cmdline, "tests", list, sizeof(list)))
		ktap_main(list);         /* runs the suites and ends the machine */
	vmm_main(boot_info.cmdline);     /* the interactive hypervisor run */
	machine_exit(EXIT_PASS);
}
