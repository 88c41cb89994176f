/* sse_tab.c - opcode tables of the instructions selected by a mandatory
 * prefix (none, 66, F3, F2): SSE to SSE4.2 in the 0F, 0F 38 and 0F 3A maps
 * (SDM "Opcode Map" tables ), with MOVBE, CRC32, ADCX/ADOX and
 * group 15. Each entry: handler, operation, memory operand bytes, the CPUID
 * feature it needs and form flags. MMX forms go to the CPU (EMU_X_X87), SSE
 * floating point too (EMU_X_SIMD_FP). */
#include "emu_internal.h"

#define SA EMU_S_ALIGN
#define SI EMU_S_IMM
#define SR EMU_S_REG
#define SM EMU_S_MEM
#define SW EMU_S_W

/* 66-prefixed integer op (xmm, xmm/m128) of the given CPUID feature */
#define I2(o) {emu_op_sse, o, 16, EMU_F_SSE2, SA}
#define I3(o) {emu_op_sse, o, 16, EMU_F_SSSE3, SA}
#define I4(o) {emu_op_sse, o, 16, EMU_F_SSE41, SA}
#define PMOV(o, n) {emu_op_sse, o, n, EMU_F_SSE41, 0}
#define MMX {emu_op_hv, EMU_X_X87, 0, EMU_F_NONE, 0}
#define FP(f) {emu_op_hv, EMU_X_SIMD_FP, 0, f, 0}
#define SIMD(f) {emu_op_hv, EMU_X_SIMD, 0, f, 0}
#define FP4(f1, f2) {FP(f1), FP(f2), FP(f1), FP(f2)}
#define LD(o, n, f, fl) {emu_op_sse, o, n, f, fl}
#define ST(o, f, fl) {emu_op_sse_st, o, 0, f, fl}
#define SHI(o) {emu_op_sse_shi, o, 0, EMU_F_SSE2, SI | SR}

static const struct emu_sop map1[256][4] = {
	[0x10] = {LD(SO_MOV, 16, EMU_F_SSE, 0), LD(SO_MOV, 16, EMU_F_SSE2, 0), LD(SO_MOVSS, 4, EMU_F_SSE, 0),
		  LD(SO_MOVSD, 8, EMU_F_SSE2, 0)},
	[0x11] = {ST(SO_ST_16, EMU_F_SSE, 0), ST(SO_ST_16, EMU_F_SSE2, 0), ST(SO_ST_SS, EMU_F_SSE, 0),
		  ST(SO_ST_SD, EMU_F_SSE2, 0)},
	[0x12] = {LD(SO_MOV12, 8, EMU_F_SSE, 0), LD(SO_MOV12, 8, EMU_F_SSE2, SM), LD(SO_MOVSLDUP, 16, EMU_F_SSE3, SA),
		  LD(SO_MOVDDUP, 8, EMU_F_SSE3, 0)},
	[0x13] = {ST(SO_ST_LO, EMU_F_SSE, SM), ST(SO_ST_LO, EMU_F_SSE2, SM)},
	[0x14] = {LD(SO_PUNPCKLDQ, 16, EMU_F_SSE, SA), I2(SO_PUNPCKLQDQ)},
	[0x15] = {LD(SO_PUNPCKHDQ, 16, EMU_F_SSE, SA), I2(SO_PUNPCKHQDQ)},
	[0x16] = {LD(SO_MOVHI, 8, EMU_F_SSE, 0), LD(SO_MOVHI, 8, EMU_F_SSE2, SM), LD(SO_MOVSHDUP, 16, EMU_F_SSE3, SA)},
	[0x17] = {ST(SO_ST_HI, EMU_F_SSE, SM), ST(SO_ST_HI, EMU_F_SSE2, SM)},
	[0x28] = {LD(SO_MOV, 16, EMU_F_SSE, SA), LD(SO_MOV, 16, EMU_F_SSE2, SA)},
	[0x29] = {ST(SO_ST_16, EMU_F_SSE, SA), ST(SO_ST_16, EMU_F_SSE2, SA)},
	[0x2a] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x2b] = {ST(SO_ST_16, EMU_F_SSE, SA | SM), ST(SO_ST_16, EMU_F_SSE2, SA | SM)},
	[0x2c] = FP4(EMU_F_SSE, EMU_F_SSE2), [0x2d] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x2e] = {FP(EMU_F_SSE), FP(EMU_F_SSE2)}, [0x2f] = {FP(EMU_F_SSE), FP(EMU_F_SSE2)},
	[0x50] = {{emu_op_movmsk, 0, 4, EMU_F_SSE, SR}, {emu_op_movmsk, 0, 8, EMU_F_SSE2, SR}},
	[0x51] = FP4(EMU_F_SSE, EMU_F_SSE2), [0x52] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x53] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x54] = {LD(SO_PAND, 16, EMU_F_SSE, SA), I2(SO_PAND)},   /* ANDPS ANDPD */
	[0x55] = {LD(SO_PANDN, 16, EMU_F_SSE, SA), I2(SO_PANDN)}, /* ANDNPS ANDNPD */
	[0x56] = {LD(SO_POR, 16, EMU_F_SSE, SA), I2(SO_POR)},     /* ORPS ORPD */
	[0x57] = {LD(SO_PXOR, 16, EMU_F_SSE, SA), I2(SO_PXOR)},   /* XORPS XORPD */
	[0x58] = FP4(EMU_F_SSE, EMU_F_SSE2), [0x59] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x5a] = FP4(EMU_F_SSE2, EMU_F_SSE2), [0x5b] = FP4(EMU_F_SSE2, EMU_F_SSE2),
	[0x5c] = FP4(EMU_F_SSE, EMU_F_SSE2), [0x5d] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x5e] = FP4(EMU_F_SSE, EMU_F_SSE2), [0x5f] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0x60] = {MMX, I2(SO_PUNPCKLBW)}, [0x61] = {MMX, I2(SO_PUNPCKLWD)},
	[0x62] = {MMX, I2(SO_PUNPCKLDQ)}, [0x63] = {MMX, I2(SO_PACKSSWB)},
	[0x64] = {MMX, I2(SO_PCMPGTB)}, [0x65] = {MMX, I2(SO_PCMPGTW)},
	[0x66] = {MMX, I2(SO_PCMPGTD)}, [0x67] = {MMX, I2(SO_PACKUSWB)},
	[0x68] = {MMX, I2(SO_PUNPCKHBW)}, [0x69] = {MMX, I2(SO_PUNPCKHWD)},
	[0x6a] = {MMX, I2(SO_PUNPCKHDQ)}, [0x6b] = {MMX, I2(SO_PACKSSDW)},
	[0x6c] = {{0}, I2(SO_PUNPCKLQDQ)}, [0x6d] = {{0}, I2(SO_PUNPCKHQDQ)},
	[0x6e] = {MMX, {emu_op_movd_x, 0, 0, EMU_F_SSE2, SW}},
	[0x6f] = {MMX, LD(SO_MOV, 16, EMU_F_SSE2, SA), LD(SO_MOV, 16, EMU_F_SSE2, 0)},
	[0x70] = {MMX, LD(SO_PSHUFD, 16, EMU_F_SSE2, SA | SI), LD(SO_PSHUFHW, 16, EMU_F_SSE2, SA | SI),
		  LD(SO_PSHUFLW, 16, EMU_F_SSE2, SA | SI)},
	[0x71] = {MMX, {emu_op_sse_shi, SO_PSRLW, 0, EMU_F_SSE2, SI | SR}},
	[0x72] = {MMX, {emu_op_sse_shi, SO_PSRLD, 0, EMU_F_SSE2, SI | SR}},
	[0x73] = {MMX, {emu_op_sse_shi, SO_PSRLQ, 0, EMU_F_SSE2, SI | SR}},
	[0x74] = {MMX, I2(SO_PCMPEQB)}, [0x75] = {MMX, I2(SO_PCMPEQW)}, [0x76] = {MMX, I2(SO_PCMPEQD)},
	[0x7c] = {{0}, FP(EMU_F_SSE3), {0}, FP(EMU_F_SSE3)}, [0x7d] = {{0}, FP(EMU_F_SSE3), {0}, FP(EMU_F_SSE3)},
	[0x7e] = {MMX, {emu_op_movd_r, 0, 0, EMU_F_SSE2, SW}, LD(SO_MOVQZ, 8, EMU_F_SSE2, 0)},
	[0x7f] = {MMX, ST(SO_ST_16, EMU_F_SSE2, SA), ST(SO_ST_16, EMU_F_SSE2, 0)},
	[0xc2] = FP4(EMU_F_SSE, EMU_F_SSE2),
	[0xc3] = {{emu_op_mov_rm_r, 0, 0, EMU_F_SSE2, SM | SW}}, /* MOVNTI */
	[0xc4] = {MMX, {emu_op_pinsr, 0, 2, EMU_F_SSE2, SI}},
	[0xc5] = {MMX, {emu_op_pextr, 1, 2, EMU_F_SSE2, SI | SR}},
	[0xc6] = {LD(SO_SHUFPS, 16, EMU_F_SSE, SA | SI), LD(SO_SHUFPD, 16, EMU_F_SSE2, SA | SI)},
	[0xd0] = {{0}, FP(EMU_F_SSE3), {0}, FP(EMU_F_SSE3)},
	[0xd1] = {MMX, I2(SO_PSRLW)}, [0xd2] = {MMX, I2(SO_PSRLD)}, [0xd3] = {MMX, I2(SO_PSRLQ)},
	[0xd4] = {MMX, I2(SO_PADDQ)}, [0xd5] = {MMX, I2(SO_PMULLW)},
	[0xd6] = {{0}, ST(SO_ST_Q, EMU_F_SSE2, 0), MMX, MMX}, /* MOVQ; MOVQ2DQ, MOVDQ2Q */
	[0xd7] = {MMX, {emu_op_movmsk, 0, 1, EMU_F_SSE2, SR}},
	[0xd8] = {MMX, I2(SO_PSUBUSB)}, [0xd9] = {MMX, I2(SO_PSUBUSW)}, [0xda] = {MMX, I2(SO_PMINUB)},
	[0xdb] = {MMX, I2(SO_PAND)}, [0xdc] = {MMX, I2(SO_PADDUSB)}, [0xdd] = {MMX, I2(SO_PADDUSW)},
	[0xde] = {MMX, I2(SO_PMAXUB)}, [0xdf] = {MMX, I2(SO_PANDN)},
	[0xe0] = {MMX, I2(SO_PAVGB)}, [0xe1] = {MMX, I2(SO_PSRAW)}, [0xe2] = {MMX, I2(SO_PSRAD)},
	[0xe3] = {MMX, I2(SO_PAVGW)}, [0xe4] = {MMX, I2(SO_PMULHUW)}, [0xe5] = {MMX, I2(SO_PMULHW)},
	[0xe6] = {{0}, FP(EMU_F_SSE2), FP(EMU_F_SSE2), FP(EMU_F_SSE2)},
	[0xe7] = {MMX, ST(SO_ST_16, EMU_F_SSE2, SA | SM)}, /* MOVNTQ; MOVNTDQ */
	[0xe8] = {MMX, I2(SO_PSUBSB)}, [0xe9] = {MMX, I2(SO_PSUBSW)}, [0xea] = {MMX, I2(SO_PMINSW)},
	[0xeb] = {MMX, I2(SO_POR)}, [0xec] = {MMX, I2(SO_PADDSB)}, [0xed] = {MMX, I2(SO_PADDSW)},
	[0xee] = {MMX, I2(SO_PMAXSW)}, [0xef] = {MMX, I2(SO_PXOR)},
	[0xf0] = {{0}, {0}, {0}, LD(SO_MOV, 16, EMU_F_SSE3, SM)}, /* LDDQU */
	[0xf1] = {MMX, I2(SO_PSLLW)}, [0xf2] = {MMX, I2(SO_PSLLD)}, [0xf3] = {MMX, I2(SO_PSLLQ)},
	[0xf4] = {MMX, I2(SO_PMULUDQ)}, [0xf5] = {MMX, I2(SO_PMADDWD)}, [0xf6] = {MMX, I2(SO_PSADBW)},
	[0xf7] = {MMX, {emu_op_maskmov, 0, 0, EMU_F_SSE2, SR}},
	[0xf8] = {MMX, I2(SO_PSUBB)}, [0xf9] = {MMX, I2(SO_PSUBW)}, [0xfa] = {MMX, I2(SO_PSUBD)},
	[0xfb] = {MMX, I2(SO_PSUBQ)}, [0xfc] = {MMX, I2(SO_PADDB)}, [0xfd] = {MMX, I2(SO_PADDW)},
	[0xfe] = {MMX, I2(SO_PADDD)},
};

/* 0F 38: the SSSE3 rows also have MMX forms without 66. */
static const struct emu_sop map2[256][4] = {
	[0x00] = {MMX, I3(SO_PSHUFB)}, [0x01] = {MMX, I3(SO_PHADDW)}, [0x02] = {MMX, I3(SO_PHADDD)},
	[0x03] = {MMX, I3(SO_PHADDSW)}, [0x04] = {MMX, I3(SO_PMADDUBSW)}, [0x05] = {MMX, I3(SO_PHSUBW)},
	[0x06] = {MMX, I3(SO_PHSUBD)}, [0x07] = {MMX, I3(SO_PHSUBSW)}, [0x08] = {MMX, I3(SO_PSIGNB)},
	[0x09] = {MMX, I3(SO_PSIGNW)}, [0x0a] = {MMX, I3(SO_PSIGND)}, [0x0b] = {MMX, I3(SO_PMULHRSW)},
	[0x10] = {{0}, I4(SO_PBLENDVB)}, [0x14] = {{0}, I4(SO_BLENDVPS)}, [0x15] = {{0}, I4(SO_BLENDVPD)},
	[0x17] = {{0}, I4(SO_PTEST)},
	[0x1c] = {MMX, I3(SO_PABSB)}, [0x1d] = {MMX, I3(SO_PABSW)}, [0x1e] = {MMX, I3(SO_PABSD)},
	[0x20] = {{0}, PMOV(SO_PMOVSXBW, 8)}, [0x21] = {{0}, PMOV(SO_PMOVSXBD, 4)},
	[0x22] = {{0}, PMOV(SO_PMOVSXBQ, 2)}, [0x23] = {{0}, PMOV(SO_PMOVSXWD, 8)},
	[0x24] = {{0}, PMOV(SO_PMOVSXWQ, 4)}, [0x25] = {{0}, PMOV(SO_PMOVSXDQ, 8)},
	[0x28] = {{0}, I4(SO_PMULDQ)}, [0x29] = {{0}, I4(SO_PCMPEQQ)},
	[0x2a] = {{0}, LD(SO_MOV, 16, EMU_F_SSE41, SA | SM)}, /* MOVNTDQA */
	[0x2b] = {{0}, I4(SO_PACKUSDW)},
	[0x30] = {{0}, PMOV(SO_PMOVZXBW, 8)}, [0x31] = {{0}, PMOV(SO_PMOVZXBD, 4)},
	[0x32] = {{0}, PMOV(SO_PMOVZXBQ, 2)}, [0x33] = {{0}, PMOV(SO_PMOVZXWD, 8)},
	[0x34] = {{0}, PMOV(SO_PMOVZXWQ, 4)}, [0x35] = {{0}, PMOV(SO_PMOVZXDQ, 8)},
	[0x37] = {{0}, {emu_op_sse, SO_PCMPGTQ, 16, EMU_F_SSE42, SA}},
	[0x38] = {{0}, I4(SO_PMINSB)}, [0x39] = {{0}, I4(SO_PMINSD)}, [0x3a] = {{0}, I4(SO_PMINUW)},
	[0x3b] = {{0}, I4(SO_PMINUD)}, [0x3c] = {{0}, I4(SO_PMAXSB)}, [0x3d] = {{0}, I4(SO_PMAXSD)},
	[0x3e] = {{0}, I4(SO_PMAXUW)}, [0x3f] = {{0}, I4(SO_PMAXUD)},
	[0x40] = {{0}, I4(SO_PMULLD)}, [0x41] = {{0}, I4(SO_PHMINPOSUW)},
	[0x80] = {{0}, {emu_op_hv, EMU_X_SYSTEM, 0, EMU_F_NONE, SM}}, /* INVEPT */
	[0x81] = {{0}, {emu_op_hv, EMU_X_SYSTEM, 0, EMU_F_NONE, SM}}, /* INVVPID */
	[0x82] = {{0}, {emu_op_hv, EMU_X_SYSTEM, 0, EMU_F_NONE, SM}}, /* INVPCID */
	[0xc8] = {SIMD(EMU_F_NONE)}, [0xc9] = {SIMD(EMU_F_NONE)}, [0xca] = {SIMD(EMU_F_NONE)}, /* SHA */
	[0xcb] = {SIMD(EMU_F_NONE)}, [0xcc] = {SIMD(EMU_F_NONE)}, [0xcd] = {SIMD(EMU_F_NONE)},
	[0xdb] = {{0}, SIMD(EMU_F_NONE)}, [0xdc] = {{0}, SIMD(EMU_F_NONE)}, [0xdd] = {{0}, SIMD(EMU_F_NONE)}, /* AES */
	[0xde] = {{0}, SIMD(EMU_F_NONE)}, [0xdf] = {{0}, SIMD(EMU_F_NONE)},
	[0xf0] = {{emu_op_movbe, 0, 0, EMU_F_MOVBE, SM}, {emu_op_movbe, 0, 0, EMU_F_MOVBE, SM},
		  {0}, {emu_op_crc32, 1, 0, EMU_F_SSE42, 0}},
	[0xf1] = {{emu_op_movbe, 1, 0, EMU_F_MOVBE, SM}, {emu_op_movbe, 1, 0, EMU_F_MOVBE, SM},
		  {0}, {emu_op_crc32, 0, 0, EMU_F_SSE42, 0}},
	[0xf6] = {{0}, {emu_op_adx, 0, 0, EMU_F_ADX, SW}, {emu_op_adx, 1, 0, EMU_F_ADX, SW}},
};

/* 0F 3A: all with imm8. */
static const struct emu_sop map3[256][4] = {
	[0x08] = {{0}, FP(EMU_F_SSE41)}, [0x09] = {{0}, FP(EMU_F_SSE41)},
	[0x0a] = {{0}, FP(EMU_F_SSE41)}, [0x0b] = {{0}, FP(EMU_F_SSE41)},
	[0x0c] = {{0}, LD(SO_BLENDPS, 16, EMU_F_SSE41, SA)}, [0x0d] = {{0}, LD(SO_BLENDPD, 16, EMU_F_SSE41, SA)},
	[0x0e] = {{0}, I4(SO_PBLENDW)}, [0x0f] = {MMX, I3(SO_PALIGNR)},
	[0x14] = {{0}, {emu_op_pextr, 0, 1, EMU_F_SSE41, 0}}, [0x15] = {{0}, {emu_op_pextr, 0, 2, EMU_F_SSE41, 0}},
	[0x16] = {{0}, {emu_op_pextr, 0, 4, EMU_F_SSE41, SW}}, [0x17] = {{0}, {emu_op_pextr, 0, 4, EMU_F_SSE41, 0}},
	[0x20] = {{0}, {emu_op_pinsr, 0, 1, EMU_F_SSE41, 0}},
	[0x21] = {{0}, LD(SO_INSERTPS, 4, EMU_F_SSE41, 0)},
	[0x22] = {{0}, {emu_op_pinsr, 0, 4, EMU_F_SSE41, SW}},
	[0x40] = {{0}, FP(EMU_F_SSE41)}, [0x41] = {{0}, FP(EMU_F_SSE41)},
	[0x42] = {{0}, I4(SO_MPSADBW)}, [0x44] = {{0}, SIMD(EMU_F_NONE)}, /* PCLMULQDQ */
	[0x60] = {{0}, SIMD(EMU_F_SSE42)}, [0x61] = {{0}, SIMD(EMU_F_SSE42)},
	[0x62] = {{0}, SIMD(EMU_F_SSE42)}, [0x63] = {{0}, SIMD(EMU_F_SSE42)},
	[0xcc] = {SIMD(EMU_F_NONE)}, [0xdf] = {{0}, SIMD(EMU_F_NONE)},
};

/* Group 15 (0F AE) by ModRM.reg, memory forms [prefix], register forms [prefix]. */
static const struct emu_sop grp15_mem[8][4] = {
	[0] = {{emu_op_hv, EMU_X_XSAVE, 0, EMU_F_FXSR, 0}}, /* FXSAVE */
	[1] = {{emu_op_hv, EMU_X_XSAVE, 0, EMU_F_FXSR, 0}}, /* FXRSTOR */
	[2] = {{emu_op_mxcsr, 0, 0, EMU_F_SSE, 0}},         /* LDMXCSR */
	[3] = {{emu_op_mxcsr, 1, 0, EMU_F_SSE, 0}},         /* STMXCSR */
	[4] = {{emu_op_hv, EMU_X_XSAVE, 0, EMU_F_NONE, 0}}, /* XSAVE */
	[5] = {{emu_op_hv, EMU_X_XSAVE, 0, EMU_F_NONE, 0}}, /* XRSTOR */
	[6] = {{emu_op_hv, EMU_X_XSAVE, 0, EMU_F_NONE, 0}, {emu_op_clflush, 0, 0, EMU_F_CLWB, 0}}, /* XSAVEOPT, CLWB */
	[7] = {{emu_op_clflush, 0, 0, EMU_F_CLFSH, 0}, {emu_op_clflush, 0, 0, EMU_F_CLFLUSHOPT, 0}},
};
static const struct emu_sop grp15_reg[8][4] = {
	[0] = {{0}, {0}, {emu_op_fsgs, 0, 0, EMU_F_FSGSBASE, SW}}, /* RDFSBASE */
	[1] = {{0}, {0}, {emu_op_fsgs, 1, 0, EMU_F_FSGSBASE, SW}}, /* RDGSBASE */
	[2] = {{0}, {0}, {emu_op_fsgs, 2, 0, EMU_F_FSGSBASE, SW}}, /* WRFSBASE */
	[3] = {{0}, {0}, {emu_op_fsgs, 3, 0, EMU_F_FSGSBASE, SW}}, /* WRGSBASE */
	[5] = {{emu_op_fence, 0, 0, EMU_F_SSE2, 0}},                /* LFENCE */
	[6] = {{emu_op_fence, 0, 0, EMU_F_SSE2, 0}},                /* MFENCE */
	[7] = {{emu_op_fence, 0, 0, EMU_F_SSE, 0}},                 /* SFENCE */
};

/* The entry for map (1: 0F, 2: 0F 38, 3: 0F 3A), opcode, prefix (0 none,
 * 1 66, 2 F3, 3 F2) and ModRM; NULL: not an opcode of these tables. An
 * entry without handler is #UD. The rest of 0F 38 and 0F 3A is where newer
 * extensions live (GFNI, MOVDIRI, Key Locker..), and the rest of group 15:
 * the CPU decides, it runs them or raises #UD itself. */
const struct emu_sop *emu_sse_op(unsigned map, unsigned opc, unsigned pfx, unsigned modrm)
{
	static const struct emu_sop cpu = SIMD(EMU_F_NONE);
	const struct emu_sop *t = map == 1 ? map1[opc] : map == 2 ? map2[opc] : map3[opc];
	if (map == 1 && opc == 0xae) /* group 15 too (PTWRITE, UMWAIT, CET..) */
		map = 4, t = ((modrm >> 6) == 3 ? grp15_reg : grp15_mem)[(modrm >> 3) & 7];
	if (map > 1 && !t[pfx].fn)
		return &cpu;
	for (unsigned i = 0; i < 4; i++)
		if (t[i].fn)
			return &t[pfx];
	return 0;
}
