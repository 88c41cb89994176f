#!/usr/bin/env python3
"""blocks.py GUEST_DEBUG_ELF OUT OBJ...: the basic blocks of the fuzz targets, for the
hypervisor's coverage breakpoints (docs/fuzzing.md). The functions are those the objects OBJ
define (guest/fuzz/*.c but the harness); their blocks start at the function's entry, at every
direct jump's target inside the function and after every jump or return. OUT: the magic
b"HVFBLK01", the count and the sorted addresses, little-endian u64 each; the guest build adds it
to guest.elf as the section .fuzzblocks (not loaded; the hypervisor reads the module)."""
import re
import struct
import subprocess
import sys


def functions(objs):
    names = set()
    for o in objs:
        for line in subprocess.run(["nm", "--defined-only", o], capture_output=True, text=True, check=True).stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tT":
                names.add(f[2])
    return names


def blocks(elf, names):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", elf], capture_output=True, text=True, check=True).stdout
    leaders, func, insns = set(), None, []

    def close():
        if not func:
            return
        addrs = [a for a, _ in insns]
        lo, hi = (min(addrs), max(addrs)) if addrs else (0, 0)
        leaders.add(lo)
        for i, (a, text) in enumerate(insns):
            m = re.match(r"(j\w+|ret\w*)\s*([0-9a-f]+)?", text)
            if not m:
                continue
            if m.group(2) and lo <= int(m.group(2), 16) <= hi:
                leaders.add(int(m.group(2), 16))
            if i + 1 < len(insns):
                leaders.add(insns[i + 1][0])

    for line in out.splitlines():
        h = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if h:
            close()
            func = h.group(2) if h.group(2) in names else None
            insns = []
            continue
        i = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if func and i and i.group(2).strip() and not i.group(2).startswith("(bad)"):
            insns.append((int(i.group(1), 16), i.group(2).strip()))
    close()
    return sorted(leaders)


def main():
    elf, out, objs = sys.argv[1], sys.argv[2], sys.argv[3:]
    b = blocks(elf, functions(objs))
    with open(out, "wb") as f:
        f.write(b"HVFBLK01" + struct.pack("<Q", len(b)) + b"".join(struct.pack("<Q", a) for a in b))
    print("fuzz blocks: %d in %d objects" % (len(b), len(objs)))


if __name__ == "__main__":
    main()
