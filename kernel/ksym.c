/* ksym.c: names for code addresses in the reports of hypervisor exceptions and panics
 * (trap.c, panic.c), from the kernel's own ELF symbol table, which GRUB loads with the image
 * (mb2.c). Without it an address stays bare; `addr2line -e build/hvlab.elf ADDR` gives the
 * source line either way. The call trace follows the frame-pointer chain (the kernel is built
 * with -fno-omit-frame-pointer) and only inside the kernel image, so it cannot fault. */
#include "defs.h"

struct elf64_sym {
	u32 st_name;
	u8 st_info, st_other;
	u16 st_shndx;
	u64 st_value, st_size;
};

#define STT_NOTYPE 0 /* assembly labels */
#define STT_FUNC 2
#define TRACE_MAX 12

/* The nearest function or label at or below addr in the kernel's text, and addr's offset from
 * it; NULL when there is none (no symbol table, or addr is not in text). */
const char *ksym_name(u64 addr, u64 *offset)
{
	const struct elf64_sym *syms = (const struct elf64_sym *)boot_info.symtab, *best = NULL;
	if (!syms || !boot_info.strtab || addr < (u64)_kernel_start || addr >= (u64)_text_end)
		return NULL;
	for (u64 i = 0; i < boot_info.symtab_size / sizeof(*syms); i++) {
		const struct elf64_sym *s = &syms[i];
		u8 type = s->st_info & 0xf;
		if ((type == STT_FUNC || type == STT_NOTYPE) && s->st_value <= addr && s->st_value >= (u64)_kernel_start &&
		    s->st_name && s->st_name < boot_info.strtab_size && (!best || s->st_value > best->st_value))
			best = s;
	}
	if (!best)
		return NULL;
	*offset = addr - best->st_value;
	return (const char *)boot_info.strtab + best->st_name;
}

/* "name+0xoff", or the bare address. A return address is named by the call before it (a call
 * to a noreturn function may be a function's last instruction). */
static void print_addr(u64 addr, bool ret)
{
	u64 off;
	const char *name = ksym_name(addr - ret, &off);
	if (name)
		printf("%s+0x%lx", name, off + ret);
	else
		printf("0x%lx", addr);
}

void ksym_print(u64 addr) { print_addr(addr, false); }
void ksym_print_return(u64 addr) { print_addr(addr, true); }

static bool in_image(u64 p) { return p >= (u64)_kernel_start && p + 16 <= (u64)_kernel_end && !(p & 7); }

/* "# call trace: caller < its caller < ...": each frame holds the saved RBP and, above it, the
 * return address. Stops at a frame outside the kernel image (every hypervisor stack is in its
 * bss) or one that does not lead up the stack. */
void ksym_backtrace(u64 rbp)
{
	printf("# call trace:");
	for (int n = 0; n < TRACE_MAX && in_image(rbp); n++) {
		const u64 *frame = (const u64 *)rbp;
		printf(n ? " < " : " ");
		ksym_print_return(frame[1]);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	printf("\n");
}
