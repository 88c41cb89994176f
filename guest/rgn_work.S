/* rgn_work.S: the code the emulated-region scenarios run twice, natively and in a region
 * (scen_regions.c, scen_rfault.c), and the harness that calls it with every GPR and RFLAGS
 * given and records every GPR and RFLAGS after. Each workload has its own 4 KiB-aligned pages
 * in .text.rgn (the section is padded to a page boundary), so a region covers exactly it.
 * Written in assembly so that page placement and register state are exact. */
#define HC_REGION_REMOVE 19 /* vmm/hypercall.h (C only) */

/* struct rgn_regs (region.h): gpr[16] by x86 number, then rflags. */
#define R_RFLAGS 128

	.section .text.rgn, "ax"
	.balign 4096
	.globl rgn_text_start
rgn_text_start:

/* Page 0. u64 rgn_checksum(u64 *buf = rdi, u64 nqwords = rsi): mixes every qword into RAX and
 * RDX, writes the running value back over the buffer, byte and word forms on the way. */
	.globl rgn_checksum
rgn_checksum:
	xor %eax, %eax
	mov $0x12345678, %edx
	xor %ecx, %ecx
1:	mov (%rdi,%rcx,8), %r8
	add %r8, %rax
	rol $5, %rax
	xor %rax, %rdx
	imul $-0x61c8864f, %rdx, %rdx
	movzbl 3(%rdi,%rcx,8), %r9d
	add %r9w, %r10w
	adc $0, %r11
	sub %r9b, %r11b
	mov %rdx, (%rdi,%rcx,8)
	inc %rcx
	cmp %rsi, %rcx
	jb 1b
	ret

/* Page 1. u64 rgn_fib(u64 n = rdi): recursive Fibonacci (RBX and the stack per level). */
	.balign 4096
	.globl rgn_fib_page
rgn_fib_page:
	.globl rgn_fib
rgn_fib:
	cmp $2, %rdi
	jb 2f
	push %rbx
	push %rdi
	dec %rdi
	call rgn_fib
	mov %rax, %rbx
	pop %rdi
	push %rdi
	sub $2, %rdi
	call rgn_fib
	add %rbx, %rax
	pop %rdi
	pop %rbx
	ret
2:	mov %rdi, %rax
	ret

/* Page 2. rgn_strings(u8 *buf = rdi): src = buf, dst = buf + 0x400, dst2 = buf + 0x800.
 * REP MOVSB, REP STOSQ, REPE CMPSB (equal, then a difference), REPNE SCASB, a backward
 * (DF=1) overlapping REP MOVSB, LODSQ; leaves counts and pointers in registers. */
	.balign 4096
	.globl rgn_strings_page
rgn_strings_page:
	.globl rgn_strings
rgn_strings:
	mov %rdi, %rbx
	cld
	mov %rbx, %rsi
	lea 0x400(%rbx), %rdi
	mov $0x300, %ecx
	rep movsb                       /* dst = src */
	lea 0x800(%rbx), %rdi
	mov $0x40, %ecx
	mov $0x0123456789abcdef, %rax
	rep stosq                       /* dst2 = pattern */
	mov %rbx, %rsi
	lea 0x400(%rbx), %rdi
	mov $0x300, %ecx
	repe cmpsb                      /* equal: RCX = 0, ZF = 1 */
	mov %rcx, %r8
	setz %r9b
	movb $0xee, 0x400+0x123(%rbx)
	mov %rbx, %rsi
	lea 0x400(%rbx), %rdi
	mov $0x300, %ecx
	repe cmpsb                      /* stops after offset 0x123 */
	mov %rcx, %r10
	mov %rsi, %r11
	mov $0xee, %al
	lea 0x400(%rbx), %rdi
	mov $0x300, %ecx
	repne scasb                     /* finds it */
	mov %rcx, %r12
	mov %rdi, %r13
	std                             /* memmove backwards: dst2+8 <- dst2, 0x100 bytes */
	lea 0x800+0xff(%rbx), %rsi
	lea 0x800+0x107(%rbx), %rdi
	mov $0x100, %ecx
	rep movsb
	cld
	lea 0x800(%rbx), %rsi
	lodsq
	mov %rax, %r14
	mov %rsi, %r15
	ret

/* Page 3. u64 rgn_callout(u64 (*normal)(u64 n, u64 (*cb)(u64)) = rdi, n = rsi): calls out of
 * the region to normal code, which calls back into the region (rgn_callback), and returns
 * into it: three entries. */
	.balign 4096
	.globl rgn_callout_page
rgn_callout_page:
	.globl rgn_callout
rgn_callout:
	push %rbx
	mov %rdi, %rbx
	mov %rsi, %rdi
	lea rgn_callback(%rip), %rsi
	call *%rbx
	add $1000, %rax
	pop %rbx
	ret
	.globl rgn_callback
rgn_callback:
	lea 1(%rdi,%rdi,2), %rax
	ret

/* Page 4. Faults: #UD, #DE, #GP (non-canonical), and a read that may not be mapped. The
 * *_insn labels name the faulting instruction. */
	.balign 4096
	.globl rgn_fault_page
rgn_fault_page:
	.globl rgn_ud, rgn_ud_insn
rgn_ud:
	mov $1, %eax
rgn_ud_insn:
	ud2
	ret
	.globl rgn_de, rgn_de_insn
rgn_de:
	xor %ecx, %ecx
	mov $5, %eax
	xor %edx, %edx
rgn_de_insn:
	div %ecx
	ret
	.globl rgn_gp, rgn_gp_insn
rgn_gp:
	movabs $0x8000000000000000, %rax
rgn_gp_insn:
	mov (%rax), %rax
	ret
	.globl rgn_read, rgn_read_insn
rgn_read:                               /* u64 rgn_read(u64 *p = rdi) */
	mov $0x11, %ecx
rgn_read_insn:
	mov (%rdi), %rax
	add %rcx, %rax
	ret
	.globl rgn_store8, rgn_store8_insn
rgn_store8:                             /* rgn_store8(u64 *p = rdi, u64 v = rsi): may cross a page */
	mov $0x22, %ecx
rgn_store8_insn:
	mov %rsi, (%rdi)
	ret
	.globl rgn_copy, rgn_copy_insn
rgn_copy:                               /* rgn_copy(dst = rdi, src = rsi, n = rdx): REP MOVSB */
	mov %rdx, %rcx
	cld
rgn_copy_insn:
	rep movsb
	ret
	.globl rgn_sse, rgn_sse_insn
rgn_sse:                                /* an instruction the interpreter leaves to the CPU (VPXOR: */
	mov $1, %eax                    /* AVX) and that faults there (#UD while CR4.OSXSAVE = 0) */
rgn_sse_insn:
	vpxor %xmm0, %xmm0, %xmm0       /* 4 bytes: c5 f9 ef c0 */
	mov $2, %ecx
	ret

/* Page 5. What the interpreter leaves to the CPU. rgn_x87(u16 p[14] = rdi): one x87
 * instruction (FNSTENV: beyond the control words the interpreter runs) between interpreted
 * ones. rgn_cpuid: CPUID leaf
 * 0x40000000, returns EBX. rgn_print(const char *s = rdi): OUT to COM1 per byte. */
	.balign 4096
	.globl rgn_cpu_page
rgn_cpu_page:
	.globl rgn_x87
rgn_x87:
	mov $7, %eax
	fnstenv (%rdi)
	add $1, %eax
	movzwl (%rdi), %ecx
	ret
	.globl rgn_cpuid
rgn_cpuid:
	push %rbx
	mov $0x40000000, %eax
	xor %ecx, %ecx
	cpuid
	mov %ebx, %eax
	pop %rbx
	ret
	.globl rgn_print
rgn_print:
	mov $0x3f8, %edx
1:	movzbl (%rdi), %eax
	test %al, %al
	jz 2f
	out %al, %dx
	inc %rdi
	jmp 1b
2:	ret

/* Page 6. s64 rgn_remove_self(u64 id = rdi): HC_REGION_REMOVE(id) from inside the region.
 * rgn_logged(u64 *p = rdi): known reads and writes for the access log. */
	.balign 4096
	.globl rgn_hc_page
rgn_hc_page:
	.globl rgn_remove_self
rgn_remove_self:
	mov $HC_REGION_REMOVE, %eax
	vmcall
	ret
	.globl rgn_logged
rgn_logged:
	mov (%rdi), %rax                /* R 8 p[0] */
	mov %rax, 8(%rdi)               /* W 8 p[1] */
	mov 16(%rdi), %ecx              /* R 4 p[2] */
	add %ecx, 24(%rdi)              /* R 4 p[3], W 4 p[3] */
	movb $0x5a, 32(%rdi)            /* W 1 p[4] */
	movw 40(%rdi), %dx              /* R 2 p[5] */
	mov %rsp, 48(%rdi)              /* W 8 p[6] = RSP */
	ret                             /* R 8 [RSP] = the return address */

/* Page 7. What the hypervisor finishes with no hardware step (vmm/emu_glue.c). rgn_rand:
 * RDRAND RAX, CF into CL. rgn_int3 / rgn_int4 / rgn_icebp: INT3, INT $4, INT1; the *_next
 * labels are the RIPs their handlers must see. rgn_tf: TF set by POPF, two NOPs, TF cleared
 * by POPF: single-step traps after NOP, NOP, PUSHF, AND, POPF; rgn_tfrep: the same around a
 * REP STOSB (a trap after each iteration). rgn_dbstore(u32 *p = rdi): a
 * store to p then a NOP (a data breakpoint's trap comes after the store). */
	.balign 4096
	.globl rgn_glue_page
rgn_glue_page:
	.globl rgn_rand
rgn_rand:
	rdrand %rax
	setc %cl
	ret
	.globl rgn_int3, rgn_int3_next
rgn_int3:
	mov $1, %eax
	int3
rgn_int3_next:
	mov $2, %eax
	ret
	.globl rgn_int4, rgn_int4_next
rgn_int4:
	int $4
rgn_int4_next:
	ret
	.globl rgn_icebp, rgn_icebp_next
rgn_icebp:
	.byte 0xf1
rgn_icebp_next:
	ret
	.globl rgn_tf, rgn_tf_steps
rgn_tf:
	pushfq
	orq $0x100, (%rsp)
	popfq
	nop
rgn_tf_steps:                           /* the five trap RIPs: here, +1, +2, +10, +11 */
	nop
	pushfq
	andq $~0x100, (%rsp)
	popfq
	ret
	.globl rgn_tfrep, rgn_tfrep_rep
rgn_tfrep:                              /* rgn_tfrep(u8 *p = rdi): REP STOSB of 3 bytes under TF */
	pushfq
	orq $0x100, (%rsp)
	popfq
	mov $3, %ecx
rgn_tfrep_rep:                          /* traps: here (after MOV, then after iterations 1 and 2, */
	rep stosb                       /* RF = 1 in their frames), +2, +3, +11, +12 */
	pushfq
	andq $~0x100, (%rsp)
	popfq
	ret
	.globl rgn_dbstore, rgn_dbstore_next
rgn_dbstore:
	movl $0x1234, (%rdi)
rgn_dbstore_next:
	nop
	ret
	.balign 4096
	.globl rgn_text_end
rgn_text_end:

/* The ring-3 program: position-independent bytes (only relative references), copied by
 * scen_regions.c into a user page of a second address space. u64 rgn_user_prog(u64 *p = rdi):
 * sums and rotates p[0..63] into RAX, a local CALL, REP STOSB into p[64..], a table walk. At
 * offset rgn_user_probe - rgn_user_prog: u64 probe(u64 *p): returns *p (a supervisor page:
 * #PF). */
	.section .rodata
	.balign 16
	.globl rgn_user_prog, rgn_user_probe, rgn_user_probe_insn, rgn_user_end
rgn_user_prog:
	push %rbx
	mov %rdi, %rbx
	xor %eax, %eax
	mov $64, %ecx
1:	add (%rdi), %rax
	rol $3, %rax
	add $8, %rdi
	dec %ecx
	jnz 1b
	call 3f
	lea 512(%rbx), %rdi
	mov %eax, %edx
	mov $128, %ecx
	mov %dl, %al
	rep stosb
	mov %rdx, %rax
	pop %rbx
	ret
3:	xor $0x5555, %rax               /* local function: RAX ^= 0x5555, RBX[64] = RAX */
	mov %rax, 64*8(%rbx)
	ret
rgn_user_probe:
	nop
rgn_user_probe_insn:
	mov (%rdi), %rax
	ret
rgn_user_end:

/* u64 rgn_invoke(struct rgn_regs *r = rdi, void *fn = rsi): load RFLAGS and every GPR but
 * RSP from *r, call fn, store every GPR and RFLAGS back into *r (gpr[4] = RSP after the
 * return). Returns RAX. Not reentrant (fn's address is kept in a static). */
	.text
	.globl rgn_invoke, rgn_invoke_ret
rgn_invoke:
	push %rbx                       /* callee-saved registers of the caller */
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi                       /* r, for the way back */
	mov %rsi, invoke_fn(%rip)
	pushq R_RFLAGS(%rdi)
	popfq                           /* the given flags (IF, TF, AC must be 0) */
	mov 0(%rdi), %rax
	mov 8(%rdi), %rcx
	mov 16(%rdi), %rdx
	mov 24(%rdi), %rbx
	mov 40(%rdi), %rbp
	mov 48(%rdi), %rsi
	mov 64(%rdi), %r8
	mov 72(%rdi), %r9
	mov 80(%rdi), %r10
	mov 88(%rdi), %r11
	mov 96(%rdi), %r12
	mov 104(%rdi), %r13
	mov 112(%rdi), %r14
	mov 120(%rdi), %r15
	mov 56(%rdi), %rdi
	call *invoke_fn(%rip)
rgn_invoke_ret:
	pushfq                          /* before anything changes a flag */
	push %rdi
	mov 16(%rsp), %rdi              /* r */
	pop 56(%rdi)                    /* RDI as fn left it */
	pop R_RFLAGS(%rdi)
	mov %rax, 0(%rdi)
	mov %rcx, 8(%rdi)
	mov %rdx, 16(%rdi)
	mov %rbx, 24(%rdi)
	mov %rsp, 32(%rdi)              /* RSP after the return */
	mov %rbp, 40(%rdi)
	mov %rsi, 48(%rdi)
	mov %r8, 64(%rdi)
	mov %r9, 72(%rdi)
	mov %r10, 80(%rdi)
	mov %r11, 88(%rdi)
	mov %r12, 96(%rdi)
	mov %r13, 104(%rdi)
	mov %r14, 112(%rdi)
	mov %r15, 120(%rdi)
	mov 0(%rdi), %rax
	add $8, %rsp                    /* drop r */
	cld                             /* the ABI's DF = 0 */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* u64 rgn_normal(u64 n = rdi, u64 (*cb)(u64) = rsi): normal code between two region calls:
 * returns cb(n) + n. */
	.globl rgn_normal
rgn_normal:
	push %rbx
	mov %rdi, %rbx
	call *%rsi
	add %rbx, %rax
	pop %rbx
	ret

	.bss
	.balign 8
invoke_fn:
	.quad 0

	.section .note.GNU-stack, "", @progbits
