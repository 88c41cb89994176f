/* hviews.S: position-independent code templates for the hostile views scenarios
 * (scen_hviews.c, scen_hrules.c; hviews.h), copied to the start of a scratch page (writable and executable), so that a
 * region, a trap or a remap covers exactly one of them. Each runs once natively and once as an
 * emulated region from the same state (rgn_invoke) and must leave the same state both times.
 * Only relative references; each template ends with its *_end label. */
	.section .rodata
	.balign 16

/* hv_t_rw(u64 *p = rdi, u64 v = rsi): RAX = p[0] + p[1], p[2] = v, RCX = p[2] read back. */
	.globl hv_t_rw, hv_t_rw_end
hv_t_rw:
	mov (%rdi), %rax
	mov 8(%rdi), %rdx
	add %rdx, %rax
	mov %rsi, 16(%rdi)
	mov 16(%rdi), %rcx
	ret
hv_t_rw_end:

/* hv_t_store(u64 *p = rdi, u64 v = rsi): RAX = p[0], p[1] = v (the instruction at
 * hv_t_store_insn, hv_t_store_next - hv_t_store_insn bytes long), RDX = p[1] read back. */
	.globl hv_t_store, hv_t_store_insn, hv_t_store_next, hv_t_store_end
hv_t_store:
	mov (%rdi), %rax
hv_t_store_insn:
	mov %rsi, 8(%rdi)
hv_t_store_next:
	mov 8(%rdi), %rdx
	ret
hv_t_store_end:

/* hv_t_vmfunc(u64 *p = rdi, u32 there = esi, u32 back = edx): R8 = *p, VMFUNC to view
 * `there`, R9 = *p, p[1] = R8 there, VMFUNC to view `back`, R10 = *p, R11 = p[1]. */
	.globl hv_t_vmfunc, hv_t_vmfunc_end
hv_t_vmfunc:
	mov (%rdi), %r8
	mov %esi, %ecx
	xor %eax, %eax
	vmfunc                          /* EPTP switching (leaf 0) to view ECX */
	mov (%rdi), %r9
	mov %r8, 8(%rdi)
	mov %edx, %ecx
	xor %eax, %eax
	vmfunc
	mov (%rdi), %r10
	mov 8(%rdi), %r11
	ret
hv_t_vmfunc_end:

/* hv_t_pte(u64 *pte = rdi, u64 val = rsi, u64 *va = rdx): rewrite a page-table entry, INVLPG
 * the address it maps, read through it: RAX = *va. */
	.globl hv_t_pte, hv_t_pte_end
hv_t_pte:
	mov %rsi, (%rdi)
	invlpg (%rdx)
	mov (%rdx), %rax
	ret
hv_t_pte_end:

/* hv_t_load(u64 *p = rdi): RAX = *p. */
	.globl hv_t_load, hv_t_load_end
hv_t_load:
	mov (%rdi), %rax
	ret
hv_t_load_end:

/* hv_t_smc(u32 v = edi): self-modifying code. Runs the MOV at 1: twice, patching its
 * immediate with v after the first run (so a decoded copy of it is stale), then patches the
 * MOV at 3:, which has not run yet: EAX = 0x11111111 + v + v, RDX = 0x11111111 + v. */
	.globl hv_t_smc, hv_t_smc_end
hv_t_smc:
	xor %edx, %edx
	mov $2, %ecx
1:	.byte 0xb8                      /* mov $imm32, %eax */
2:	.long 0x11111111
	add %eax, %edx
	mov %edi, 2b(%rip)              /* the immediate of the MOV just run */
	dec %ecx
	jnz 1b
	mov %edi, 4f(%rip)              /* the immediate of the MOV below, not yet run */
3:	.byte 0xb8
4:	.long 0x22222222
	add %edx, %eax
	ret
hv_t_smc_end:
