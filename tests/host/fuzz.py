#!/usr/bin/env python3
"""fuzz.py: the host side of `make fuzz` and `make fuzz-repro` (docs/fuzzing.md).

  fuzz.py run   --target NAME [--seconds 60] [--execs N] [--seed 1] [--dirty wp|ad|pml] [--coverage bp|edges|none]
                [--corpus DIR]
  fuzz.py repro --target NAME --input FILE [--dirty ...]

Builds a one-entry GRUB ISO whose kernel command line says fuzz=NAME ..., boots it (Bochs, CPU
model --cpu), shows the fuzzer's status lines as they come, and writes each unique crash the
hypervisor reports ("# fuzz-crash:") to build/fuzz/NAME/crashes/ as the raw input (KIND-RIP.bin)
and a report (KIND-RIP.txt: vector, RIP, registers, the target's function and source line from
guest.debug.elf). --corpus DIR packs the files of DIR (by name; at most 256, each up to 64 bytes
used) into a GRUB module "corpus" that the fuzzer runs first and keeps in its starting corpus
(vmm/mutate.c: seed_corpus). A bad configuration is a message and exit status 2; a boot that ends without
a result, 1. Standard library only.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvboot  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = """set timeout=0
set default=0
menuentry "hvlab fuzz" {{
	multiboot2 /boot/hvlab.elf {cmdline}
	module2 /boot/guest.elf guest
{corpus}	boot
}}
"""
CORPUS_MAGIC = b"HVCORP01"
CORPUS_MAX, LEN_MAX = 256, 64  # vmm/fuzz.h: FUZZ_CORPUS_MAX, FUZZ_LEN_MAX


def targets():
    with open(os.path.join(ROOT, "guest", "fuzz", "harness.c")) as f:
        return re.findall(r'\{"(\w+)", fuzz_target_\w+\}', f.read())


def fail(msg):
    print("fuzz: %s" % msg, file=sys.stderr)
    sys.exit(2)


def check(args):
    known = targets()
    if not args.target:
        fail("no TARGET=; the targets are: %s" % " ".join(known))
    if args.target not in known:
        fail("unknown target %r; the targets are: %s" % (args.target, " ".join(known)))
    if args.dirty not in ("wp", "ad", "pml"):
        fail("DIRTY=%s: the methods are wp (EPT write protection), ad (EPT dirty flags), pml" % args.dirty)
    if args.coverage not in ("bp", "none", "edges"):
        fail("COVERAGE=%s: the modes are bp (breakpoints), none, edges" % args.coverage)
    if args.backend not in ("bochs", "qemu-kvm"):
        fail("BACKEND=%s: fuzzing needs VMX: bochs, or qemu-kvm on a host with VMX" % args.backend)


def pack_corpus(folder):
    """The corpus module of folder's files, in name order: (bytes, notes about what is cut)."""
    if not os.path.isdir(folder):
        fail("CORPUS=%s: no such folder" % folder)
    names = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    entries, notes = [], []
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            data = f.read()
        if not data:
            notes.append("%s is empty: not used" % n)
            continue
        if len(data) > LEN_MAX:
            notes.append("%s is %d bytes: its first %d are used" % (n, len(data), LEN_MAX))
        entries.append(data)
    if not entries:
        fail("CORPUS=%s: no file with at least one byte in it" % folder)
    if len(entries) > CORPUS_MAX - 1:
        notes.append("%d files: the first %d are used (the corpus holds %d with the built-in entry)" %
                     (len(entries), CORPUS_MAX - 1, CORPUS_MAX))
    blob = CORPUS_MAGIC + struct.pack("<Q", len(entries))
    for e in entries:
        blob += struct.pack("<I", len(e)) + e
    return blob, notes


def symbol(debug_elf, rip):
    """'function at file:line' of a guest address, from the debug ELF (addr2line)."""
    try:
        out = subprocess.run(["addr2line", "-f", "-i", "-e", debug_elf, "0x%x" % rip], capture_output=True,
                             text=True, timeout=30).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "?"
    frames = ["%s at %s" % (out[i], os.path.relpath(out[i + 1], ROOT) if out[i + 1].startswith("/") else out[i + 1])
              for i in range(0, len(out) - 1, 2) if out[i]]
    return ", inlined in ".join(frames) or "?"


def save_crash(outdir, debug_elf, line):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    kind = f.get("kind", "?")
    first = re.search(r"\brip=(0x[0-9a-f]+)", line)  # the crash's RIP; the last rip= is the registers'
    rip = int(first.group(1) if first else "0", 16)
    name = "%s-%x" % (re.sub(r"[^A-Za-z0-9]+", "_", kind).strip("_"), rip)
    data = bytes.fromhex(f.get("input", ""))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, name + ".bin"), "wb") as o:
        o.write(data)
    with open(os.path.join(outdir, name + ".txt"), "w") as o:
        regs = " ".join("%s=%s" % (r, f.get(r, "?")) for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                                               "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                                                               "rflags"))
        o.write("crash: %s (vector %s)\nrip: 0x%x in %s\ninfo: %s (the #PF address, error code or panic code)\n"
                "registers: %s\nexecution: %s\ninput: %d bytes, %s.bin\n" %
                (kind, f.get("vector"), rip, symbol(debug_elf, rip), f.get("info"), regs, f.get("exec"), len(data), name))
    print("fuzz: crash %s at 0x%x (%s) saved as %s" % (kind, rip, symbol(debug_elf, rip),
                                                       os.path.join(outdir, name + ".bin")))


def boot(args, cmdline, work, corpus=None):
    cfg, iso = os.path.join(work, "grub.cfg"), os.path.join(work, "fuzz.iso")
    modules = [os.path.join(args.build, "guest.elf")]
    if corpus is not None:
        modules.append(os.path.join(work, "corpus.bin"))
        with open(modules[-1], "wb") as f:
            f.write(corpus)
    with open(cfg, "w") as f:
        f.write(CFG.format(cmdline=cmdline, corpus="\tmodule2 /boot/corpus.bin corpus\n" if corpus is not None else ""))
    subprocess.run([os.path.join(ROOT, "iso", "mkiso.sh"), iso, os.path.join(args.build, "hvlab.elf"), cfg] + modules,
                   check=True)
    serial = os.path.join(work, "serial.log")
    if os.path.exists(serial):
        os.unlink(serial)
    if args.backend == "bochs":
        argv, env = hvboot.bochs_command(iso, os.path.join(work, "bochs"), serial, hvboot.bochs_model(args.cpu))
    else:
        argv, env = hvboot.qemu_command(iso, args.backend, serial=serial), None
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True), serial


def follow(proc, serial, timeout, on_line):
    """Feed each new serial line to on_line until the result line (then the result) or the end."""
    t0, done, result = time.monotonic(), 0, None
    while time.monotonic() - t0 < timeout:
        if os.path.exists(serial):
            with open(serial, "rb") as f:
                f.seek(done)
                chunk = f.read()
            cut = chunk.rfind(b"\n") + 1
            for line in chunk[:cut].decode("utf-8", "replace").splitlines():
                on_line(line)
                if line.startswith("# result:"):
                    result = line.split(":", 1)[1].strip()
            done += cut
        if result or proc.poll() is not None:
            break
        time.sleep(0.2)
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "repro"])
    p.add_argument("--target", default="")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--execs", type=int, default=0, help="stop after this many executions too (0: no bound)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dirty", default="wp")
    p.add_argument("--coverage", default="bp")
    p.add_argument("--backend", default="bochs")
    p.add_argument("--cpu", default="corei7_skylake_x")
    p.add_argument("--input", default="")
    p.add_argument("--corpus", default="", help="a folder of starting inputs (a GRUB module)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = p.parse_args()
    check(args)
    outdir = os.path.join(args.build, "fuzz", args.target)
    work = os.path.join(outdir, "work")
    os.makedirs(work, exist_ok=True)
    cmdline = "fuzz=%s seconds=%d seed=%d dirty=%s coverage=%s" % (args.target, args.seconds, args.seed, args.dirty,
                                                                    args.coverage)
    if args.execs:
        cmdline += " execs=%d" % args.execs
    if args.mode == "repro":
        if not args.input or not os.path.isfile(args.input):
            fail("INPUT=%s: no such file" % args.input)
        data = open(args.input, "rb").read()
        if len(data) > 1024:
            fail("INPUT is %d bytes; at most 1024 go on the command line" % len(data))
        cmdline += " fuzz_input=%s" % data.hex()
    corpus = None
    if args.corpus and args.mode == "run":
        corpus, notes = pack_corpus(args.corpus)
        for n in notes:
            print("fuzz: corpus: %s" % n)
    debug_elf = os.path.join(args.build, "guest-obj", "guest.debug.elf")
    verdict = {"repro": None}

    def on_line(line):
        if line.startswith("# fuzz-crash:"):
            save_crash(os.path.join(outdir, "crashes"), debug_elf, line)
        elif line.startswith("# fuzz-repro:"):
            verdict["repro"] = line
            m = re.search(r"rip=0x([0-9a-f]+)", line)
            print(line[2:] + (" in %s" % symbol(debug_elf, int(m.group(1), 16)) if m else ""))
        elif line.startswith(("# fuzz", "[guest] unknown", "[guest] HC_FUZZ")):
            print(line[2:] if line.startswith("# ") else line, flush=True)

    proc, serial = boot(args, cmdline, work, corpus)
    result = follow(proc, serial, args.seconds * 20 + 600, on_line)
    if result != "PASS":
        print("fuzz: the boot ended with %s (serial log: %s)" % (result or "no result line", serial), file=sys.stderr)
        return 2 if result == "ERROR" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
