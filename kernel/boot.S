/* boot.S: multiboot2 header and the 32-bit -> 64-bit switch.
 * GRUB enters in 32-bit protected mode, paging off (EAX = multiboot2 magic, EBX = info).
 * We identity-map the first 4 GiB with 2 MiB pages, enable PAE + long mode + NX, and
 * jump to kmain(magic, info). No SMP, no higher half: the kernel runs where it is loaded. */
#define MB2_MAGIC       0xE85250D6
#define MB2_ARCH_I386   0
#define CR0_PE          (1 << 0)
#define CR0_NE          (1 << 5)   /* native FPU errors; VMX requires it (CR0 fixed bits) */
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define EFER_MSR        0xC0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P           1
#define PTE_W           2
#define PTE_PS          0x80

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.balign 8                       /* end tag: type 0, size 8 */
	.word 0, 0
	.long 8
mb2_header_end:

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4          /* 4 page directories x 1 GiB */
	.balign 16
	.globl boot_stack_top
boot_stack:	.skip 65536              /* 64 KiB: tests keep a struct vm (~10 KiB) on it */
boot_stack_top:

	.section .rodata
	.balign 8
gdt64:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10: data, DPL 0 */
gdt64_end:
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.long gdt64

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	mov $boot_stack_top, %esp
	mov %eax, %edi                  /* keep magic: becomes kmain's 1st argument */
	mov %ebx, %esi                  /* keep info pointer: 2nd argument */

	/* Long mode needs CPUID leaf 0x80000001 EDX bit 29 (LM). */
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	test $(1 << 29), %edx
	jz no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; each PD maps 512 x 2 MiB. */
	mov $boot_pdpt, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, boot_pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $boot_pd, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, boot_pdpt(, %ecx, 8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx                  /* ecx = 2 MiB page index, 0..2047 */
2:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P | PTE_W | PTE_PS), %eax
	mov %eax, boot_pd(, %ecx, 8)
	mov %ecx, %eax                  /* high half of the PDE: bits 32+ of the address */
	shr $11, %eax
	mov %eax, boot_pd + 4(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $EFER_MSR, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PE | CR0_NE | CR0_PG), %eax
	mov %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $long_mode

no_long_mode:                           /* print 'L' on COM1 and stop: nothing else can work */
	mov $0x3f8, %dx
	mov $'L', %al
	out %al, %dx
3:	hlt
	jmp 3b

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	xor %ebp, %ebp
	call kmain                      /* edi = magic, esi = info (zero-extended by the 32-bit moves) */
4:	cli
	hlt
	jmp 4b
