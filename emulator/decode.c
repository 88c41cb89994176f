/* decode.c - table-driven x86-64 instruction decoder (SDM "Instruction Format"
 * and "Opcode Map"), one entry per opcode.
 * Produces a struct emu_insn with prefixes, operand/address size, ModRM/SIB,
 * displacement and immediate resolved, and the handler to run. It does not
 * decode VEX/EVEX, x87, SSE or the 0F38/0F3A maps: those are "unsupported". */
#include "emu_internal.h"

/* Descriptor flags */
#define M 0x0001    /* has ModRM */
#define B 0x0002    /* byte operand size */
#define IB 0x0004   /* imm8, sign-extended */
#define IW 0x0008   /* imm16, zero-extended */
#define IZ 0x0010   /* imm16/32, sign-extended to operand size */
#define IV 0x0020   /* imm16/32/64 (MOV reg, imm) */
#define D64 0x0040  /* default operand size 64 (SDM "Effective Operand- and Address-Size
                     * Attributes in 64-Bit Mode") */
#define F64 0x0080  /* operand size forced to 64 (near branches, Intel) */
#define LK 0x0100   /* LOCK allowed when the destination is memory */
#define GRP 0x0200  /* ext selects a group table, indexed by ModRM.reg */
#define MO 0x0400   /* moffs: address-size displacement, no ModRM */
#define EN 0x0800   /* ENTER: imm16 then imm8 */
#define MEM 0x1000  /* ModRM must name memory, else #UD */
#define XR 0x2000   /* ext = ModRM.reg (shift and ALU groups) */
#define RG 0x4000   /* register in opcode bits 2:0 (+REX.B) */
#define HV 0x8000   /* stop for the hypervisor, ext = enum emu_exit */
#define REL 0x10000 /* relative branch: imm becomes the absolute target */
#define END 0x20000 /* ends its trace (control transfer, POPF) */

struct emu_op {
	emu_fn fn;
	u32 f;
	u8 ext; /* sub-operation, condition code, group or exit kind */
	u8 aux; /* copied to insn.imm2 (shift count source) */
};

#define ALU(n)                                                                  \
	[n * 8 + 0] = {emu_op_alu_rm_r, M | B | LK, n, 0},  /* op Eb,Gb */     \
	[n * 8 + 1] = {emu_op_alu_rm_r, M | LK, n, 0},      /* op Ev,Gv */     \
	[n * 8 + 2] = {emu_op_alu_r_rm, M | B, n, 0},       /* op Gb,Eb */     \
	[n * 8 + 3] = {emu_op_alu_r_rm, M, n, 0},           /* op Gv,Ev */     \
	[n * 8 + 4] = {emu_op_alu_rm_imm, B | IB, n, 1},    /* op AL,Ib */     \
	[n * 8 + 5] = {emu_op_alu_rm_imm, IZ, n, 1}         /* op rAX,Iz */
#define X8(base, fn, fl, ext) \
	[base + 0] = {fn, fl, ext, 0}, [base + 1] = {fn, fl, ext, 0}, \
	[base + 2] = {fn, fl, ext, 0}, [base + 3] = {fn, fl, ext, 0}, \
	[base + 4] = {fn, fl, ext, 0}, [base + 5] = {fn, fl, ext, 0}, \
	[base + 6] = {fn, fl, ext, 0}, [base + 7] = {fn, fl, ext, 0}
#define CC16(base, fn, fl) \
	[base + 0] = {fn, fl, 0, 0}, [base + 1] = {fn, fl, 1, 0},     \
	[base + 2] = {fn, fl, 2, 0}, [base + 3] = {fn, fl, 3, 0},     \
	[base + 4] = {fn, fl, 4, 0}, [base + 5] = {fn, fl, 5, 0},     \
	[base + 6] = {fn, fl, 6, 0}, [base + 7] = {fn, fl, 7, 0},     \
	[base + 8] = {fn, fl, 8, 0}, [base + 9] = {fn, fl, 9, 0},     \
	[base + 10] = {fn, fl, 10, 0}, [base + 11] = {fn, fl, 11, 0}, \
	[base + 12] = {fn, fl, 12, 0}, [base + 13] = {fn, fl, 13, 0}, \
	[base + 14] = {fn, fl, 14, 0}, [base + 15] = {fn, fl, 15, 0}
#define HVX(x) {emu_op_hv, HV, x, 0}
#define UD {emu_op_ud, 0, 0, 0}

enum { G3B, G3V, G4, G5, G1A, G11B, G11V, G8, G9, NGRP };

/* One-byte opcode map (SDM "One-byte Opcode Map"). Missing entries: unsupported. */
static const struct emu_op op1[256] = {
	ALU(0), ALU(1), ALU(2), ALU(3), ALU(4), ALU(5), ALU(6), ALU(7),
	[0x06] = UD, [0x07] = UD, [0x0e] = UD,      /* PUSH/POP ES, PUSH CS */
	[0x16] = UD, [0x17] = UD, [0x1e] = UD, [0x1f] = UD, /* SS/DS push/pop */
	[0x27] = UD, [0x2f] = UD, [0x37] = UD, [0x3f] = UD, /* DAA DAS AAA AAS */
	X8(0x50, emu_op_push_r, RG | D64, 0),        /* PUSH r64/16 */
	X8(0x58, emu_op_pop_r, RG | D64, 0),         /* POP r64/16 */
	[0x60] = UD, [0x61] = UD,                    /* PUSHA POPA; 62: EVEX (vex()) */
	[0x63] = {emu_op_movsx, M, 4, 0},            /* MOVSXD Gv,Ed */
	[0x68] = {emu_op_push_imm, IZ | D64, 0, 0},  /* PUSH Iz */
	[0x69] = {emu_op_imul_r_rm_imm, M | IZ, 0, 0}, /* IMUL Gv,Ev,Iz */
	[0x6a] = {emu_op_push_imm, IB | D64, 0, 0},  /* PUSH Ib */
	[0x6b] = {emu_op_imul_r_rm_imm, M | IB, 0, 0}, /* IMUL Gv,Ev,Ib */
	[0x6c] = HVX(EMU_X_IO), [0x6d] = HVX(EMU_X_IO), /* INS */
	[0x6e] = HVX(EMU_X_IO), [0x6f] = HVX(EMU_X_IO), /* OUTS */
	CC16(0x70, emu_op_jcc, IB | F64 | REL),            /* Jcc rel8 */
	[0x80] = {emu_op_alu_rm_imm, M | B | IB | LK | XR, 0, 0}, /* grp1 Eb,Ib */
	[0x81] = {emu_op_alu_rm_imm, M | IZ | LK | XR, 0, 0},     /* grp1 Ev,Iz */
	[0x82] = UD,                                              /* invalid */
	[0x83] = {emu_op_alu_rm_imm, M | IB | LK | XR, 0, 0},     /* grp1 Ev,Ib */
	[0x84] = {emu_op_test_rm_r, M | B, 0, 0},    /* TEST Eb,Gb */
	[0x85] = {emu_op_test_rm_r, M, 0, 0},        /* TEST Ev,Gv */
	[0x86] = {emu_op_xchg, M | B | LK, 0, 0},    /* XCHG Eb,Gb */
	[0x87] = {emu_op_xchg, M | LK, 0, 0},        /* XCHG Ev,Gv */
	[0x88] = {emu_op_mov_rm_r, M | B, 0, 0},     /* MOV Eb,Gb */
	[0x89] = {emu_op_mov_rm_r, M, 0, 0},         /* MOV Ev,Gv */
	[0x8a] = {emu_op_mov_r_rm, M | B, 0, 0},     /* MOV Gb,Eb */
	[0x8b] = {emu_op_mov_r_rm, M, 0, 0},         /* MOV Gv,Ev */
	[0x8c] = {emu_op_hv, M | HV, EMU_X_SEG, 0},  /* MOV Ev,Sreg */
	[0x8d] = {emu_op_lea, M | MEM, 0, 0},        /* LEA Gv,M */
	[0x8e] = {emu_op_hv, M | HV, EMU_X_SEG, 0},  /* MOV Sreg,Ew */
	[0x8f] = {0, M | D64 | GRP, G1A, 0},         /* grp1a: POP Ev */
	X8(0x90, emu_op_xchg_ax, RG, 0),             /* NOP/PAUSE, XCHG r,rAX */
	[0x98] = {emu_op_cbw, 0, 0, 0},              /* CBW/CWDE/CDQE */
	[0x99] = {emu_op_cwd, 0, 0, 0},              /* CWD/CDQ/CQO */
	[0x9a] = UD,                                 /* CALLF ptr (invalid) */
	[0x9b] = {emu_op_x87, 0, 0, 0},              /* FWAIT */
	[0x9c] = {emu_op_pushf, D64, 0, 0},          /* PUSHF */
	[0x9d] = {emu_op_popf, D64 | END, 0, 0},           /* POPF */
	[0x9e] = {emu_op_sahf, 0, 0, 0},             /* SAHF */
	[0x9f] = {emu_op_lahf, 0, 0, 0},             /* LAHF */
	[0xa0] = {emu_op_mov_moffs, B | MO, 0, 0},   /* MOV AL,moffs */
	[0xa1] = {emu_op_mov_moffs, MO, 0, 0},       /* MOV rAX,moffs */
	[0xa2] = {emu_op_mov_moffs, B | MO, 1, 0},   /* MOV moffs,AL */
	[0xa3] = {emu_op_mov_moffs, MO, 1, 0},       /* MOV moffs,rAX */
	[0xa4] = {emu_op_movs, B, 0, 0},             /* MOVSB */
	[0xa5] = {emu_op_movs, 0, 0, 0},             /* MOVSW/D/Q */
	[0xa6] = {emu_op_cmps, B, 0, 0},             /* CMPSB */
	[0xa7] = {emu_op_cmps, 0, 0, 0},             /* CMPSW/D/Q */
	[0xa8] = {emu_op_test_rm_imm, B | IB, 1, 0}, /* TEST AL,Ib */
	[0xa9] = {emu_op_test_rm_imm, IZ, 1, 0},     /* TEST rAX,Iz */
	[0xaa] = {emu_op_stos, B, 0, 0},             /* STOSB */
	[0xab] = {emu_op_stos, 0, 0, 0},             /* STOSW/D/Q */
	[0xac] = {emu_op_lods, B, 0, 0},             /* LODSB */
	[0xad] = {emu_op_lods, 0, 0, 0},             /* LODSW/D/Q */
	[0xae] = {emu_op_scas, B, 0, 0},             /* SCASB */
	[0xaf] = {emu_op_scas, 0, 0, 0},             /* SCASW/D/Q */
	X8(0xb0, emu_op_mov_r_imm, RG | B | IB, 0),  /* MOV r8,Ib */
	X8(0xb8, emu_op_mov_r_imm, RG | IV, 0),      /* MOV r,Iv */
	[0xc0] = {emu_op_shift, M | B | IB | XR, 0, 0}, /* grp2 Eb,Ib */
	[0xc1] = {emu_op_shift, M | IB | XR, 0, 0},  /* grp2 Ev,Ib */
	[0xc2] = {emu_op_ret, IW | F64 | END, 0, 0},       /* RET Iw */
	[0xc3] = {emu_op_ret, F64 | END, 0, 0},            /* RET */
	[0xc6] = {0, M | B | GRP, G11B, 0},          /* grp11: MOV Eb,Ib */
	[0xc7] = {0, M | GRP, G11V, 0},              /* grp11: MOV Ev,Iz */
	[0xc8] = {emu_op_enter, EN | D64, 0, 0},     /* ENTER Iw,Ib */
	[0xc9] = {emu_op_leave, D64, 0, 0},          /* LEAVE */
	[0xca] = {emu_op_hv, HV | IW, EMU_X_FAR, 0}, /* RETF Iw */
	[0xcb] = HVX(EMU_X_FAR),                     /* RETF */
	[0xcc] = HVX(EMU_X_INT3),                    /* INT3 */
	[0xcd] = {emu_op_hv, HV | IB, EMU_X_INT, 0}, /* INT Ib */
	[0xce] = UD,                                 /* INTO */
	[0xcf] = HVX(EMU_X_IRET),                    /* IRET */
	[0xd0] = {emu_op_shift, M | B | XR, 0, 1},   /* grp2 Eb,1 */
	[0xd1] = {emu_op_shift, M | XR, 0, 1},       /* grp2 Ev,1 */
	[0xd2] = {emu_op_shift, M | B | XR, 0, 2},   /* grp2 Eb,CL */
	[0xd3] = {emu_op_shift, M | XR, 0, 2},       /* grp2 Ev,CL */
	[0xd4] = UD, [0xd5] = UD, [0xd6] = UD,       /* AAM AAD SALC */
	[0xd7] = {emu_op_xlat, B, 0, 0},             /* XLAT */
	X8(0xd8, emu_op_x87, M, 0),                  /* x87 (ESC 0-7): see x87() */
	[0xe0] = {emu_op_loop, IB | F64 | REL, 0, 0},      /* LOOPNE */
	[0xe1] = {emu_op_loop, IB | F64 | REL, 1, 0},      /* LOOPE */
	[0xe2] = {emu_op_loop, IB | F64 | REL, 2, 0},      /* LOOP */
	[0xe3] = {emu_op_jrcxz, IB | F64 | REL, 0, 0},     /* JrCXZ */
	[0xe4] = {emu_op_hv, HV | IB, EMU_X_IO, 0},  /* IN AL,Ib */
	[0xe5] = {emu_op_hv, HV | IB, EMU_X_IO, 0},  /* IN eAX,Ib */
	[0xe6] = {emu_op_hv, HV | IB, EMU_X_IO, 0},  /* OUT Ib,AL */
	[0xe7] = {emu_op_hv, HV | IB, EMU_X_IO, 0},  /* OUT Ib,eAX */
	[0xe8] = {emu_op_call, IZ | F64 | REL | END, 0, 0},      /* CALL rel32 */
	[0xe9] = {emu_op_jmp, IZ | F64 | REL | END, 0, 0},       /* JMP rel32 */
	[0xea] = UD,                                 /* JMPF ptr (invalid) */
	[0xeb] = {emu_op_jmp, IB | F64 | REL | END, 0, 0},       /* JMP rel8 */
	[0xec] = HVX(EMU_X_IO), [0xed] = HVX(EMU_X_IO), /* IN AL/eAX,DX */
	[0xee] = HVX(EMU_X_IO), [0xef] = HVX(EMU_X_IO), /* OUT DX,AL/eAX */
	[0xf1] = HVX(EMU_X_INT1),                    /* INT1 */
	[0xf4] = HVX(EMU_X_HLT),                     /* HLT */
	[0xf5] = {emu_op_flagop, 0, 0, 0},           /* CMC */
	[0xf6] = {0, M | B | GRP, G3B, 0},           /* grp3 Eb */
	[0xf7] = {0, M | GRP, G3V, 0},               /* grp3 Ev */
	[0xf8] = {emu_op_flagop, 0, 1, 0},           /* CLC */
	[0xf9] = {emu_op_flagop, 0, 2, 0},           /* STC */
	[0xfa] = HVX(EMU_X_CLI),                     /* CLI */
	[0xfb] = HVX(EMU_X_STI),                     /* STI */
	[0xfc] = {emu_op_flagop, 0, 3, 0},           /* CLD */
	[0xfd] = {emu_op_flagop, 0, 4, 0},           /* STD */
	[0xfe] = {0, M | B | GRP, G4, 0},            /* grp4 Eb */
	[0xff] = {0, M | GRP, G5, 0},                /* grp5 Ev */
};

/* Two-byte opcode map 0F xx (SDM "Two-byte Opcode Map"). */
static const struct emu_op op2[256] = {
	[0x00] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* grp6: SLDT LTR ... */
	[0x01] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* grp7: LGDT INVLPG ... */
	[0x02] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* LAR */
	[0x03] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* LSL */
	[0x05] = HVX(EMU_X_SYSCALL),                   /* SYSCALL */
	[0x06] = HVX(EMU_X_CLTS),                      /* CLTS */
	[0x07] = HVX(EMU_X_SYSRET),                    /* SYSRET */
	[0x08] = HVX(EMU_X_INVD), [0x09] = HVX(EMU_X_INVD), /* INVD WBINVD */
	[0x0b] = UD,                                   /* UD2 */
	[0x0e] = UD, [0x0f] = UD,                      /* AMD FEMMS, 3DNow! */
	[0x0d] = {emu_op_nop, M, 0, 0},                /* PREFETCHW Ev */
	X8(0x18, emu_op_nop, M, 0),                    /* hint NOPs, ENDBR64 */
	[0x20] = {emu_op_hv, M | HV, EMU_X_MOV_CR, 0}, /* MOV r,CRn */
	[0x21] = {emu_op_hv, M | HV, EMU_X_MOV_DR, 0}, /* MOV r,DRn */
	[0x22] = {emu_op_hv, M | HV, EMU_X_MOV_CR, 0}, /* MOV CRn,r */
	[0x23] = {emu_op_hv, M | HV, EMU_X_MOV_DR, 0}, /* MOV DRn,r */
	[0x30] = HVX(EMU_X_WRMSR),                     /* WRMSR */
	[0x31] = HVX(EMU_X_RDTSC),                     /* RDTSC */
	[0x32] = HVX(EMU_X_RDMSR),                     /* RDMSR */
	[0x33] = HVX(EMU_X_RDPMC),                     /* RDPMC */
	[0x34] = HVX(EMU_X_SYSENTER),                  /* SYSENTER */
	[0x35] = HVX(EMU_X_SYSENTER),                  /* SYSEXIT */
	[0x37] = HVX(EMU_X_SYSTEM),                    /* GETSEC */
	[0x77] = HVX(EMU_X_X87),                       /* EMMS */
	[0x78] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* VMREAD */
	[0x79] = {emu_op_hv, M | HV, EMU_X_SYSTEM, 0}, /* VMWRITE */
	[0x04] = UD, [0x0a] = UD, [0x0c] = UD, [0x24] = UD, [0x25] = UD, /* undefined */
	[0x26] = UD, [0x27] = UD, [0x36] = UD, [0x39] = UD, [0x3b] = UD,
	[0x3c] = UD, [0x3d] = UD, [0x3e] = UD, [0x3f] = UD, [0x7a] = UD,
	[0x7b] = UD, [0xa6] = UD, [0xa7] = UD,
	[0xaa] = HVX(EMU_X_SYSTEM),                    /* RSM */
	[0xb2] = {emu_op_hv, M | HV | MEM, EMU_X_SEG, 0}, /* LSS */
	[0xb4] = {emu_op_hv, M | HV | MEM, EMU_X_SEG, 0}, /* LFS */
	[0xb5] = {emu_op_hv, M | HV | MEM, EMU_X_SEG, 0}, /* LGS */
	CC16(0x40, emu_op_cmovcc, M),                  /* CMOVcc Gv,Ev */
	CC16(0x80, emu_op_jcc, IZ | F64 | REL),              /* Jcc rel32 */
	CC16(0x90, emu_op_setcc, M | B),               /* SETcc Eb */
	[0xa0] = HVX(EMU_X_SEG), [0xa1] = HVX(EMU_X_SEG), /* PUSH/POP FS */
	[0xa2] = HVX(EMU_X_CPUID),                     /* CPUID */
	[0xa3] = {emu_op_bt, M, 0, 0},                 /* BT Ev,Gv */
	[0xa4] = {emu_op_shd, M | IB, 0, 0},           /* SHLD Ev,Gv,Ib */
	[0xa5] = {emu_op_shd, M, 0, 2},                /* SHLD Ev,Gv,CL */
	[0xa8] = HVX(EMU_X_SEG), [0xa9] = HVX(EMU_X_SEG), /* PUSH/POP GS */
	[0xab] = {emu_op_bt, M | LK, 1, 0},            /* BTS Ev,Gv */
	[0xac] = {emu_op_shd, M | IB, 1, 0},           /* SHRD Ev,Gv,Ib */
	[0xad] = {emu_op_shd, M, 1, 2},                /* SHRD Ev,Gv,CL */
	                                               /* 0F AE: group 15 (sse_tab.c) */
	[0xaf] = {emu_op_imul_r_rm, M, 0, 0},          /* IMUL Gv,Ev */
	[0xb0] = {emu_op_cmpxchg, M | B | LK, 0, 0},   /* CMPXCHG Eb,Gb */
	[0xb1] = {emu_op_cmpxchg, M | LK, 0, 0},       /* CMPXCHG Ev,Gv */
	[0xb3] = {emu_op_bt, M | LK, 2, 0},            /* BTR Ev,Gv */
	[0xb6] = {emu_op_movzx, M, 1, 0},              /* MOVZX Gv,Eb */
	[0xb7] = {emu_op_movzx, M, 2, 0},              /* MOVZX Gv,Ew */
	[0xb8] = {emu_op_popcnt, M, 0, 0},             /* F3: POPCNT Gv,Ev */
	[0xb9] = UD,                                   /* UD1 */
	[0xba] = {0, M | IB | GRP, G8, 0},             /* grp8: BT* Ev,Ib */
	[0xbb] = {emu_op_bt, M | LK, 3, 0},            /* BTC Ev,Gv */
	[0xbc] = {emu_op_tzcnt_bsf, M, 0, 0},          /* BSF / F3: TZCNT */
	[0xbd] = {emu_op_lzcnt_bsr, M, 0, 0},          /* BSR / F3: LZCNT */
	[0xbe] = {emu_op_movsx, M, 1, 0},              /* MOVSX Gv,Eb */
	[0xbf] = {emu_op_movsx, M, 2, 0},              /* MOVSX Gv,Ew */
	[0xc0] = {emu_op_xadd, M | B | LK, 0, 0},      /* XADD Eb,Gb */
	[0xc1] = {emu_op_xadd, M | LK, 0, 0},          /* XADD Ev,Gv */
	[0xc7] = {0, M | GRP, G9, 0},                  /* grp9: CMPXCHG8B/16B */
	X8(0xc8, emu_op_bswap, RG, 0),                 /* BSWAP r */
	[0xff] = UD,                                   /* UD0 */
};

/* Group tables, indexed by ModRM.reg (SDM "Opcode Extensions for One- and
 * Two-byte Opcodes by Group Number"). Flags here are OR-ed into the primary
 * entry's. Missing entries raise #UD. */
static const struct emu_op grp[NGRP][8] = {
	[G3B] = {
		{emu_op_test_rm_imm, IB, 0, 0}, {emu_op_test_rm_imm, IB, 0, 0},
		{emu_op_not, LK, 0, 0},  {emu_op_neg, LK, 0, 0},
		{emu_op_mul1, 0, 0, 0},  {emu_op_imul1, 0, 0, 0},
		{emu_op_div, 0, 0, 0},   {emu_op_idiv, 0, 0, 0},
	},
	[G3V] = {
		{emu_op_test_rm_imm, IZ, 0, 0}, {emu_op_test_rm_imm, IZ, 0, 0},
		{emu_op_not, LK, 0, 0},  {emu_op_neg, LK, 0, 0},
		{emu_op_mul1, 0, 0, 0},  {emu_op_imul1, 0, 0, 0},
		{emu_op_div, 0, 0, 0},   {emu_op_idiv, 0, 0, 0},
	},
	[G4] = { {emu_op_incdec, LK, 0, 0}, {emu_op_incdec, LK, 1, 0} },
	[G5] = {
		{emu_op_incdec, LK, 0, 0}, {emu_op_incdec, LK, 1, 0},
		{emu_op_call_rm, F64 | END, 0, 0},           /* CALL Ev */
		{emu_op_hv, HV | MEM, EMU_X_FAR, 0},   /* CALLF Mp */
		{emu_op_jmp_rm, F64 | END, 0, 0},            /* JMP Ev */
		{emu_op_hv, HV | MEM, EMU_X_FAR, 0},   /* JMPF Mp */
		{emu_op_push_rm, D64, 0, 0},           /* PUSH Ev */
	},
	[G1A] = { {emu_op_pop_rm, 0, 0, 0} },          /* POP Ev */
	[G11B] = { {emu_op_mov_rm_imm, IB, 0, 0} },    /* MOV Eb,Ib */
	[G11V] = { {emu_op_mov_rm_imm, IZ, 0, 0} },    /* MOV Ev,Iz */
	[G8] = {
		[4] = {emu_op_bt_imm, 0, 0, 0},        /* BT */
		[5] = {emu_op_bt_imm, LK, 1, 0},       /* BTS */
		[6] = {emu_op_bt_imm, LK, 2, 0},       /* BTR */
		[7] = {emu_op_bt_imm, LK, 3, 0},       /* BTC */
	},
	[G9] = {
		[1] = {emu_op_cmpxchg8b, LK | MEM, 0, 0},   /* CMPXCHG8B/16B */
		[3] = {emu_op_hv, MEM, EMU_X_XSAVE, 0},     /* XRSTORS */
		[4] = {emu_op_hv, MEM, EMU_X_XSAVE, 0},     /* XSAVEC */
		[5] = {emu_op_hv, MEM, EMU_X_XSAVE, 0},     /* XSAVES */
		[6] = {emu_op_hv, 0, EMU_X_RDRAND, 0},      /* RDRAND r; m: VMPTRLD.. */
		[7] = {emu_op_hv, 0, EMU_X_RDSEED, 0},      /* RDSEED r, F3: RDPID r; m: VMPTRST */
	},
};

static unsigned imm_size(unsigned f, unsigned osz, unsigned asz)
{
	if (f & IB)
		return 1;
	if (f & IW)
		return 2;
	if (f & IZ)
		return osz == 2 ? 2 : 4;
	if (f & IV)
		return osz;
	if (f & MO)
		return asz;
	if (f & EN)
		return 3;
	return 0;
}

static u64 get_le(const u8 *p, unsigned n)
{
	u64 v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

/* ModRM/SIB/displacement (SDM "REX Prefixes", "Special Cases of REX Encodings"). Returns
 * the new offset, or -(bytes needed) if the buffer is too short. */
static int decode_modrm(struct emu_insn *in, const u8 *p, unsigned i,
			unsigned avail, unsigned modrm, unsigned rex, bool *riprel)
{
	unsigned mod = modrm >> 6, rm = modrm & 7, dsz = 0;
	in->base = rm | ((rex & 1) << 3);
	in->index = EMU_ZREG;
	if (mod == 3)
		return (int)i;
	in->flags |= EMU_I_MEM;
	if (rm == 4) {
		if (i >= avail)
			return -(int)(i + 1);
		unsigned sib = p[i++];
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
		in->scale = sib >> 6;
		in->index = idx == 4 ? EMU_ZREG : idx;
		in->base = (sib & 7) | ((rex & 1) << 3);
		if ((sib & 7) == 5 && mod == 0) {
			in->base = EMU_ZREG;
			dsz = 4;
		}
	} else if (rm == 5 && mod == 0) {
		in->base = EMU_ZREG; /* RIP-relative: finish() adds the next RIP */
		*riprel = true;
		dsz = 4;
	}
	if (mod == 1)
		dsz = 1;
	else if (mod == 2)
		dsz = 4;
	if (in->base == EMU_RSP || in->base == EMU_RBP)
		in->flags |= EMU_I_SS;
	if (i + dsz > avail)
		return -(int)(i + dsz);
	in->disp = dsz ? (i64)emu_sx(get_le(p + i, dsz), dsz) : 0;
	return (int)(i + dsz);
}

static unsigned byte_reg(unsigned r, unsigned rex)
{
	return (!rex && r >= 4 && r < 8) ? (0x10 | (r - 4)) : r;
}

/* Operand size (SDM "Operand Size and Address Size in 64-Bit Mode"). */
static unsigned op_size(unsigned f, unsigned rex, unsigned pf)
{
	if (f & B)
		return 1;
	if ((rex & 8) || (f & F64))
		return 8;
	if (pf & EMU_I_OSZ)
		return 2;
	return (f & D64) ? 8 : 4;
}

/* Parse legacy and REX prefixes; returns the opcode offset or -(need). */
static int prefixes(struct emu_insn *in, const u8 *p, unsigned avail,
		    unsigned *rex)
{
	unsigned i = 0;
	for (;; i++) {
		if (i >= 15)
			return (int)i;
		if (i >= avail)
			return -(int)(i + 1);
		u8 b = p[i];
		if ((b & 0xf0) == 0x40) {
			*rex = b;
			continue;
		}
		switch (b) {
		case 0x66: in->flags |= EMU_I_OSZ; break;
		case 0x67: in->flags |= EMU_I_A32; break;
		case 0xf0: in->flags |= EMU_I_LOCK; break;
		case 0xf2: in->flags = (in->flags & ~EMU_I_REP) | EMU_I_REPNE; break;
		case 0xf3: in->flags = (in->flags & ~EMU_I_REPNE) | EMU_I_REP; break;
		case 0x64: in->flags = (in->flags & ~EMU_I_GS) | EMU_I_FS; break;
		case 0x65: in->flags = (in->flags & ~EMU_I_FS) | EMU_I_GS; break;
		case 0x26: case 0x2e: case 0x36: case 0x3e: break;
		default: return (int)i;
		}
		*rex = 0; /* a REX not immediately before the opcode is ignored */
	}
}

/* Handlers that stop the run end their trace as well. */
static int finish(struct emu_insn *in, emu_fn fn, unsigned len)
{
	in->fn = fn;
	in->len = (u8)(len > 15 ? 15 : len);
	if (fn == emu_op_ud || fn == emu_op_toolong || fn == emu_op_unsupported || fn == emu_op_hv)
		in->flags |= EMU_I_END;
	return 0;
}

/* Addresses that depend on the instruction's own RIP, resolved once. */
static void resolve(struct emu_insn *in, emu_fn fn, unsigned f, bool riprel, u64 rip)
{
	u64 next = rip + in->len;
	if (riprel)
		in->disp += (i64)next;
	if (f & REL) {
		in->imm += next;
		if (fn == emu_op_call)
			in->disp = (i64)next; /* the return address */
	}
	if ((f & END) || ((in->flags & (EMU_I_REP | EMU_I_REPNE)) &&
			  (fn == emu_op_movs || fn == emu_op_stos || fn == emu_op_lods ||
			   fn == emu_op_cmps || fn == emu_op_scas)))
		in->flags |= EMU_I_END;
}

/* Pick a specialised handler for hot forms (same semantics as fn). */
static emu_fn specialise(struct emu_insn *in, emu_fn fn)
{
	bool mem = in->flags & EMU_I_MEM;
	if (fn == emu_op_shift && in->imm2 == 1)
		in->imm = 1, in->imm2 = 0; /* count 1: as an immediate */
	if (fn == emu_op_jcc && (u64)((i64)(in->imm << 16) >> 16) == in->imm)
		return emu_jcc_fast(in->ext);
	if (fn == emu_op_cmovcc && !mem && in->osz >= 4)
		return emu_cmov_fast(in->ext, in->osz);
	if (fn == emu_op_test_rm_r || fn == emu_op_test_rm_imm)
		return emu_test_fast(fn, in);
	if (fn == emu_op_alu_rm_r || fn == emu_op_alu_r_rm || fn == emu_op_alu_rm_imm)
		return emu_alu_fast(fn, in);
	if (fn == emu_op_mov_rm_r || fn == emu_op_mov_r_rm || fn == emu_op_mov_rm_imm || fn == emu_op_movzx ||
	    fn == emu_op_movsx)
		return emu_mov_fast(fn, in);
	if (fn == emu_op_setcc)
		return emu_setcc_fast(in);
	if (fn == emu_op_imul_r_rm || fn == emu_op_imul_r_rm_imm)
		return emu_imul_fast(fn, in);
	if (fn == emu_op_jmp_rm)
		return emu_jmp_fast(in);
	if (fn == emu_op_push_r || fn == emu_op_pop_r)
		return emu_stack_fast(fn, in);
	if (!mem && in->osz >= 4 && !(in->flags & EMU_I_LOCK) &&
	    (fn == emu_op_incdec || fn == emu_op_not || fn == emu_op_neg))
		return emu_unary_fast(fn, in);
	if (!mem && fn == emu_op_shift)
		return emu_shift_fast(in->ext, in->osz);
	return emu_ctl_fast(fn, in);
}

/* What the trace builder needs for flag liveness (run.c flags_dead):
 * EMU_I_FW or EMU_I_FM with the twin in alt, or EMU_I_FT. */
static void flag_class(struct emu_insn *in, emu_fn fn)
{
	emu_fn nf = emu_nf(fn, in);
	if (nf) {
		in->flags |= (in->flags & EMU_I_MEM) ? EMU_I_FM : EMU_I_FW;
		*emu_twin(in) = nf;
	} else if (fn == emu_op_lea || fn == emu_op_mov_r_imm ||
		   (!(in->flags & EMU_I_MEM) && (fn == emu_op_mov_rm_r || fn == emu_op_mov_r_rm ||
						  fn == emu_op_mov_rm_imm || fn == emu_op_movzx ||
						  fn == emu_op_movsx))) {
		in->flags |= EMU_I_FT;
	}
}

/* Opcode byte(s) at p[i]: the one-byte or 0F entry, or (*sop) the entry of
 * the mandatory-prefix tables (sse_tab.c). *i advances past the opcode;
 * -(need) if p is short. */
static int opcode(const struct emu_insn *in, const u8 *p, unsigned avail, int *i, const struct emu_op **d,
		  const struct emu_sop **sop)
{
	unsigned pfx = (in->flags & EMU_I_REP) ? 2 : (in->flags & EMU_I_REPNE) ? 3 : (in->flags & EMU_I_OSZ) ? 1 : 0;
	if (p[*i] != 0x0f) {
		*d = &op1[p[(*i)++]];
		return 0;
	}
	if ((unsigned)*i + 2 > avail)
		return -(*i + 2);
	unsigned b = p[*i + 1];
	if (b == 0x38 || b == 0x3a) {
		if ((unsigned)*i + 3 > avail)
			return -(*i + 3);
		*sop = emu_sse_op(b == 0x38 ? 2 : 3, p[*i + 2], pfx, 0);
		*d = 0;
		*i += 3;
		return 0;
	}
	if (b == 0xae && (unsigned)*i + 3 > avail)
		return -(*i + 3); /* group 15: the ModRM selects the table */
	*sop = emu_sse_op(1, b, pfx, b == 0xae ? p[*i + 2] : 0);
	*d = &op2[b];
	*i += 2;
	return 0;
}

/* Immediate (or moffs, or ENTER's pair) at p[i]; returns the new offset or
 * -(need). */
static int immediate(struct emu_insn *in, const u8 *p, int i, unsigned avail, unsigned f)
{
	unsigned n = imm_size(f, in->osz, emu_asz(in));
	if ((unsigned)i + n > avail)
		return -(i + (int)n);
	if (f & MO)
		in->imm = get_le(p + i, n);
	else if (f & EN) {
		in->imm = get_le(p + i, 2);
		in->imm2 = p[i + 2];
	} else if (n)
		in->imm = (f & (IB | IZ)) ? emu_sx(get_le(p + i, n), n) : get_le(p + i, n);
	return i + (int)n;
}

/* What this CPU (emu.cpuid) makes of an instruction: #UD for an extension it
 * lacks, BSF/BSR for TZCNT/LZCNT without BMI1/LZCNT; group 9's register and
 * memory forms. Returns the handler. */
static emu_fn gate(const struct emu *e, struct emu_insn *in, emu_fn fn)
{
	bool mem = in->flags & EMU_I_MEM;
	unsigned f = EMU_F_NONE;
	if (fn == emu_op_hv && (in->ext == EMU_X_RDRAND || in->ext == EMU_X_RDSEED)) {
		if (mem) {
			in->ext = EMU_X_SYSTEM; /* VMPTRLD, VMCLEAR, VMXON, VMPTRST: VM exits */
			return fn;
		}
		if (in->ext == EMU_X_RDSEED && (in->flags & EMU_I_REP))
			in->ext = EMU_X_RDPID, in->osz = 8;
		f = in->ext == EMU_X_RDRAND ? EMU_F_RDRAND : in->ext == EMU_X_RDSEED ? EMU_F_RDSEED : EMU_F_RDPID;
	} else if (fn == emu_op_lahf || fn == emu_op_sahf) {
		f = EMU_F_LAHF;
	} else if (fn == emu_op_popcnt) {
		f = EMU_F_POPCNT;
	} else if (fn == emu_op_cmpxchg8b && (in->flags & EMU_I_REXW)) {
		f = EMU_F_CX16;
	} else if ((fn == emu_op_tzcnt_bsf && !emu_has(e, EMU_F_BMI1)) ||
		   (fn == emu_op_lzcnt_bsr && !emu_has(e, EMU_F_LZCNT))) {
		in->flags &= ~EMU_I_REP; /* F3 is ignored: BSF, BSR */
	}
	return emu_has(e, f) ? fn : emu_op_ud;
}

static void clear(struct emu_insn *in)
{
	in->flags = 0;
	in->imm = 0;
	in->disp = 0;
	in->imm2 = 0;
	in->op = 0;
	in->base = in->index = EMU_ZREG;
	in->scale = 0;
	in->reg = in->rm = 0;
}

/* Decode one instruction from p[0..avail). Returns 0 (in filled; fn may be
 * a #UD/#GP/unsupported handler) or -(bytes needed) when avail is short. */
/* x87 (D8-DF, 9B): the control instructions the interpreter runs, else the CPU's. */
static emu_fn x87(struct emu_insn *in, unsigned opc, unsigned modrm)
{
	unsigned reg = (modrm >> 3) & 7, op = 0xff;
	if (opc == 0x9b)
		op = SO_FWAIT;
	else if (modrm < 0xc0)
		op = opc == 0xd9 && reg == 5 ? SO_FLDCW : opc == 0xd9 && reg == 7 ? SO_FNSTCW
			: opc == 0xdd && reg == 7 ? SO_FNSTSW : 0xff;
	else if (opc == 0xdf && modrm == 0xe0)
		op = SO_FNSTSW_AX;
	else if (opc == 0xdb && (modrm == 0xe2 || modrm == 0xe3))
		op = modrm == 0xe2 ? SO_FNCLEX : SO_FNINIT;
	if (op != 0xff) {
		in->op = (u8)op;
		return emu_op_x87;
	}
	in->ext = EMU_X_X87;
	return emu_op_hv;
}

/* A mandatory-prefix table entry after its ModRM: forms, sizes, alignment. */
static emu_fn sse(struct emu_insn *in, const struct emu_sop *s, unsigned modrm, unsigned rex)
{
	static const u8 shi[3][8] = {{[2] = SO_PSRLW, [4] = SO_PSRAW, [6] = SO_PSLLW},
				     {[2] = SO_PSRLD, [4] = SO_PSRAD, [6] = SO_PSLLD},
				     {[2] = SO_PSRLQ, [3] = SO_PSRLDQ, [6] = SO_PSLLQ, [7] = SO_PSLLDQ}};
	bool mem = in->flags & EMU_I_MEM;
	if (!s->fn || ((s->fl & EMU_S_REG) && mem))
		return emu_op_ud;
	if (s->fl & EMU_S_W)
		in->osz = (rex & 8) ? 8 : 4;
	if (s->fl & EMU_S_ALIGN)
		in->flags |= EMU_I_ALIGN;
	if (s->fn == emu_op_hv)
		return s->fn; /* ext = the exit */
	in->op = s->op;
	if (s->fn == emu_op_sse_shi) {
		in->op = shi[s->op - SO_PSRLW][(modrm >> 3) & 7];
		if (!in->op)
			return emu_op_ud;
	}
	if ((s->fn == emu_op_pextr || s->fn == emu_op_pinsr) && (s->fl & EMU_S_W))
		in->imm2 = in->osz; /* PEXTRD/Q, PINSRD/Q */
	return s->fn;
}

/* VEX (C4, C5) and EVEX (62) encodings (SDM "Instruction Prefixes": "VEX" and "EVEX").
 * The general-purpose ones of BMI1/BMI2 run here; the vector ones go to the
 * CPU (EMU_X_AVX), or #UD if the guest has no AVX / AVX-512. */
enum { BX_ANDN, BX_BLSR, BX_BLSMSK, BX_BLSI, BX_BEXTR, BX_BZHI, BX_PEXT, BX_PDEP, BX_MULX, BX_SHLX, BX_SARX,
       BX_SHRX, BX_RORX, BX_NONE };

static unsigned bmi_op(unsigned map, unsigned opc, unsigned pp, unsigned reg)
{
	static const u8 f5[4] = {BX_BZHI, BX_NONE, BX_PEXT, BX_PDEP}, f7[4] = {BX_BEXTR, BX_SHLX, BX_SARX, BX_SHRX};
	if (map == 3)
		return opc == 0xf0 && pp == 3 ? BX_RORX : BX_NONE;
	if (map != 2)
		return BX_NONE;
	switch (opc) {
	case 0xf2: return pp ? BX_NONE : BX_ANDN;
	case 0xf3: return pp || reg < 1 || reg > 3 ? BX_NONE : BX_BLSR + reg - 1;
	case 0xf5: return f5[pp];
	case 0xf6: return pp == 3 ? BX_MULX : BX_NONE;
	case 0xf7: return f7[pp];
	}
	return BX_NONE;
}

static int vex(const struct emu *e, struct emu_insn *in, const u8 *p, int i, unsigned avail, unsigned pre_rex, u64 rip)
{
	unsigned n = p[i] == 0xc5 ? 2 : p[i] == 0xc4 ? 3 : 4, map, pp, w, vvvv, l, r, rex;
	bool riprel = false;
	if ((unsigned)i + n + 2 > avail)
		return -(i + (int)n + 2);
	const u8 *v = p + i;
	if (n == 2)
		map = 1, w = 0, r = v[1] >> 7, rex = 0x40 | ((~r & 1) << 2), vvvv = (~v[1] >> 3) & 15,
		l = (v[1] >> 2) & 1, pp = v[1] & 3;
	else
		map = v[1] & (n == 3 ? 31 : 7), rex = 0x40 | ((~v[1] >> 5) & 7), w = v[2] >> 7,
		vvvv = (~v[2] >> 3) & 15, l = n == 3 ? (v[2] >> 2) & 1 : (v[3] >> 5) & 3, pp = v[2] & 3;
	unsigned opc = v[n], modrm = v[n + 1];
	i += (int)n + 1;
	unsigned bx = n == 4 ? BX_NONE : bmi_op(map, opc, pp, (modrm >> 3) & 7);
	if (!(map == 1 && opc == 0x77)) { /* all but VZEROUPPER/VZEROALL have a ModRM */
		in->reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		if ((i = decode_modrm(in, p, (unsigned)i + 1, avail, modrm, rex | (w << 3), &riprel)) < 0)
			return i;
		in->rm = in->base;
	}
	if (map == 3 || (map == 1 && ((opc >= 0x70 && opc <= 0x73) || opc == 0xc2 || (opc >= 0xc4 && opc <= 0xc6)))) {
		if ((unsigned)i >= avail)
			return -(i + 1);
		in->imm = p[i++];
	}
	if (i > 15)
		return finish(in, emu_op_toolong, 15);
	in->len = (u8)i;
	if (pre_rex || (in->flags & (EMU_I_OSZ | EMU_I_REP | EMU_I_REPNE | EMU_I_LOCK)))
		return finish(in, emu_op_ud, (unsigned)i); /* a prefix before VEX */
	if (bx == BX_NONE) {
		in->ext = EMU_X_AVX;
		return finish(in, emu_has(e, n == 4 ? EMU_F_AVX512F : EMU_F_AVX) ? emu_op_hv : emu_op_ud, (unsigned)i);
	}
	if (riprel)
		in->disp += (i64)(rip + in->len);
	in->ext = (u8)bx, in->op = (u8)vvvv, in->osz = w ? 8 : 4;
	bool bad = l || (bx == BX_RORX && vvvv != 0) ||
		   !emu_has(e, bx <= BX_BEXTR ? EMU_F_BMI1 : EMU_F_BMI2);
	return finish(in, bad ? emu_op_ud : emu_op_bmi, (unsigned)i);
}

/* Decode one instruction from p[0..avail), at linear address rip, for the
 * CPU e->cpuid describes. Returns 0 (in filled; fn may be a #UD/#GP/
 * unsupported handler) or -(bytes needed) when avail is short. */
int emu_decode(const struct emu *e, struct emu_insn *in, const u8 *p, unsigned avail, u64 rip)
{
	unsigned rex = 0, f, modrm = 0;
	const struct emu_op *d;
	const struct emu_sop *sop = 0;
	struct emu_op tmp;
	bool riprel = false;
	int i, r;

	clear(in);
	i = prefixes(in, p, avail, &rex);
	if (i < 0)
		return i;
	if (i >= 15)
		return finish(in, emu_op_toolong, 15); /* SDM "Interrupt 13-General Protection Exception (#GP)": #GP(0) */
	if (rex)
		in->flags |= (rex & 8) ? EMU_I_REXW : 0;
	if (p[i] == 0xc4 || p[i] == 0xc5 || p[i] == 0x62)
		return vex(e, in, p, i, avail, rex, rip);
	unsigned opc = p[i];
	if ((r = opcode(in, p, avail, &i, &d, &sop)) < 0)
		return r;
	if (sop) { /* every mandatory-prefix form has a ModRM; all of 0F 3A an imm8 */
		bool ib = (sop->fl & EMU_S_IMM) || (i >= 3 && p[i - 3] == 0x0f && p[i - 2] == 0x3a && !d);
		tmp = (struct emu_op){sop->fn ? sop->fn : emu_op_ud, M | (ib ? IB : 0) | ((sop->fl & EMU_S_MEM) ? MEM : 0),
				      sop->op, sop->sz};
		d = &tmp;
	}
	if (!d || (!d->fn && !(d->f & GRP)))
		return finish(in, emu_op_unsupported, 15);
	f = d->f;
	in->ext = d->ext;
	in->imm2 = d->aux;
	if (f & M) {
		if ((unsigned)i >= avail)
			return -(i + 1);
		modrm = p[i++];
		if (f & GRP) {
			d = &grp[d->ext][(modrm >> 3) & 7];
			f = (f & ~GRP) | d->f;
			in->ext = d->ext;
			if (!d->fn)
				return finish(in, emu_op_ud, (unsigned)i);
		}
		if (f & XR)
			in->ext = (modrm >> 3) & 7;
		in->reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		if ((i = decode_modrm(in, p, (unsigned)i, avail, modrm, rex, &riprel)) < 0)
			return i;
		in->rm = in->base;
	} else if (f & RG) {
		in->reg = in->rm = (p[i - 1] & 7) | ((rex & 1) << 3);
	}
	in->reg8 = (u8)byte_reg(in->reg, rex);
	in->rm8 = (u8)byte_reg(in->rm, rex);
	in->osz = (u8)op_size(f, rex, in->flags);
	if ((i = immediate(in, p, i, avail, f)) < 0)
		return i;
	if (i > 15)
		return finish(in, emu_op_toolong, 15);
	if ((in->flags & EMU_I_LOCK) &&
	    (!(f & LK) || !(in->flags & EMU_I_MEM) ||
	     ((d->fn == emu_op_alu_rm_imm || d->fn == emu_op_alu_rm_r) && in->ext == 7)))
		return finish(in, emu_op_ud, (unsigned)i);
	if ((f & MEM) && !(in->flags & EMU_I_MEM))
		return finish(in, emu_op_ud, (unsigned)i);
	in->len = (u8)i;
	emu_fn fn = d->fn;
	if (sop)
		fn = emu_has(e, sop->feat) ? sse(in, sop, modrm, rex) : emu_op_ud;
	else if (fn == emu_op_x87)
		fn = x87(in, opc, modrm);
	fn = gate(e, in, fn);
	resolve(in, fn, f, riprel, rip);
	if ((f & REL) && e->edge_map)
		in->flags |= EMU_I_END; /* edge coverage: every branch an entry (emu_set_edges) */
	if (fn == emu_op_ud)
		return finish(in, fn, (unsigned)i);
	emu_fn fast = specialise(in, fn);
	flag_class(in, fn);
	return finish(in, fast, (unsigned)i);
}
