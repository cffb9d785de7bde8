#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark boots of scripts/bench.sh into docs/benchmark.md.

usage: bench-report.py --counts LOG TRACE --timing LOG --stock LOG
                       --out MD --plot-dir DIR --command CMD --qemu VERSION

--counts is the serial log and the QEMU trace of the boot that counts
commands (tracing slows MMIO, so its times are not used); --timing the log
of the same boot without tracing, whose times are reported; --stock the log
of the stock driver's boot, for ratios. Commands are counted by QEMU: a write
to an SMMU's CMDQ_PROD (offset 0x98 of its 128 KiB frame) makes QEMU consume
that queue at once, under its big lock, so the smmuv3_cmdq_opcode lines that
follow are that SMMU's; smmu_bench's markers (0x5a000000 | id, then
0xa5000000 | id, written to an edu register 0x04) delimit each case.
"""

import argparse
import collections
import os
import re
import subprocess
import sys

WRITE = re.compile(r"memory_region_ops_write .*addr (0x[0-9a-f]+) value (0x[0-9a-f]+)"
                   r" size \d+ name '([^']+)'")
OPCODE = re.compile(r"smmuv3_cmdq_opcode <--- SMMU_CMD_(\w+)")
MARK = re.compile(r"^MARK (\d+) (\S+) smmus=(\d+) pages=(\d+) ops=(\d+)")
BENCH = re.compile(r"^BENCH (\S+) smmus=(\d+) pages=(\d+) iters=(\d+) min_ns=(\d+)"
                   r" median_ns=(\d+) max_ns=(\d+)")
PVM = re.compile(r"^BENCH pvm-fault pages=(\d+) run_ns=(\d+)")
DMAB = re.compile(r"^DMABENCH domain=(\S+) granule=(\d+) threads=(\d+) map_us=([0-9.]+)"
                  r" unmap_us=([0-9.]+)")
INVS = re.compile(r"^INVS (\S+) readers=(\d+) writer=(\S+) reads_per_s=(\d+)"
                  r" writes_per_s=(\d+) reads_per_cpu_s=(\d+)")
MEM = re.compile(r"^MEM (\S+) smmus=(\d+) mapped_pages=(\d+) hyp_pages=(-?\d+)")
# The host driver's line for each SMMU it gave the hypervisor.
REG = re.compile(r"SMMUv3 at 0x[0-9a-f]+ owned by the hypervisor \(index (\d+), (\d+) pages\)")
UNMAPS = ["unmap-4k", "unmap-64k", "unmap-1m", "unmap-2m"]
STRATEGIES = ["shared", "per-smmu"]
TLBIS = {"TLBI_S2_IPA", "TLBI_S12_VMALL", "TLBI_NH_ALL", "TLBI_NSNH_ALL", "TLBI_EL2_ALL",
         "TLBI_NH_VA", "TLBI_NH_VAA", "TLBI_NH_ASID"}


def die(msg):
    print(f"bench-report: {msg}", file=sys.stderr)
    sys.exit(1)


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")


def parse_trace(path):
    """{mark id: {smmu base: Counter(opcode)}}, per case."""
    counts = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    smmu = None
    open_mark = None
    problems = []
    for line in read_lines(path):
        m = WRITE.search(line)
        if m:
            addr, value, name = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if name == "arm-smmuv3" and addr & 0x1ffff == 0x98:
                smmu = addr & ~0x1ffff
            elif name == "edu-mmio" and addr & 0xfff == 0x04:
                kind, mid = value >> 24, value & 0xffffff
                if kind == 0x5a:
                    if open_mark is not None:
                        problems.append(f"marker {mid} begins inside {open_mark}")
                    open_mark = mid
                elif kind == 0xa5:
                    if open_mark != mid:
                        problems.append(f"marker {mid} ends while {open_mark} is open")
                    open_mark = None
            continue
        m = OPCODE.search(line)
        if m and open_mark is not None:
            if smmu is None:
                problems.append(f"command {m.group(1)} of no known SMMU")
                continue
            counts[open_mark][smmu][m.group(1)] += 1
    if open_mark is not None:
        problems.append(f"marker {open_mark} never ends")
    if problems:
        die(f"{path}: " + "; ".join(problems))
    return counts


def parse_log(path):
    """MARK lines by id, BENCH-like lines by (case, K, pages), MEM lines by
    (strategy, K) -> (mapped pages, hyp pages), and each SMMU's registration
    as ("registration", index) -> (0, pages)."""
    marks, bench, mems = {}, {}, {}
    for line in read_lines(path):
        m = DMAB.match(line)
        if m:
            bench[("dma:" + m.group(1), int(m.group(3)), int(m.group(2)))] = {
                "map": float(m.group(4)), "unmap": float(m.group(5))}
            continue
        m = PVM.match(line)
        if m:
            bench[("pvm-fault", 0, int(m.group(1)))] = {"iters": 1, "min": int(m.group(2)),
                                                       "median": int(m.group(2)),
                                                       "max": int(m.group(2))}
            continue
        m = MEM.match(line)
        if m:
            mems[(m.group(1), int(m.group(2)))] = (int(m.group(3)), int(m.group(4)))
            continue
        m = REG.search(line)
        if m:
            mems[("registration", int(m.group(1)))] = (0, int(m.group(2)))
            continue
        m = MARK.match(line)
        if m:
            mark = (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
            if marks.get(int(m.group(1)), mark) != mark:
                die(f"{path}: marker {m.group(1)} names two cases: "
                    f"{marks[int(m.group(1))][0]} and {mark[0]}")
            marks[int(m.group(1))] = mark
            continue
        m = BENCH.match(line)
        if m:
            key = (m.group(1), int(m.group(2)), int(m.group(3)))
            bench[key] = {"iters": int(m.group(4)), "min": int(m.group(5)),
                          "median": int(m.group(6)), "max": int(m.group(7))}
    if not bench:
        die(f"{path}: no BENCH line (did smmu_bench run?)")
    if not any(l.strip() == "PKVM-VERDICT: PASS" for l in read_lines(path)):
        die(f"{path}: the boot did not pass")
    return marks, bench, mems


def per_smmu(counts):
    """Per SMMU that received commands: (TLBIs, CMD_SYNCs, CFGIs, all)."""
    out = {}
    for base, c in counts.items():
        tlbi = sum(v for k, v in c.items() if k in TLBIS)
        sync = c.get("SYNC", 0)
        cfgi = sum(v for k, v in c.items() if k.startswith("CFGI"))
        out[base] = (tlbi, sync, cfgi, sum(c.values()))
    return out


def strat_floor_miss(ps, k, ops):
    """Did an unmap call on K SMMUs miss one TLBI and one CMD_SYNC per SMMU?"""
    tl = {v[0] for v in ps.values()}
    sy = {v[1] for v in ps.values()}
    return not (len(ps) == k and len(tl) == 1 and len(sy) == 1 and
                max(tl) == ops and max(sy) == ops)


def fmt(x):
    if x == int(x):
        return str(int(x))
    return f"{x:.2f}"


def us(ns):
    return f"{ns / 1000:.0f}" if ns >= 10000 else f"{ns / 1000:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", nargs=2, required=True, metavar=("LOG", "TRACE"))
    ap.add_argument("--timing", required=True)
    ap.add_argument("--stock", required=True)
    ap.add_argument("--invs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot-dir", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--machine", required=True)
    args = ap.parse_args()

    marks, _, mems = parse_log(args.counts[0])
    counts = parse_trace(args.counts[1])
    _, timing, _ = parse_log(args.timing)
    _, stock, _ = parse_log(args.stock)

    by_case = {}
    for mid, (case, smmus, pages, ops) in marks.items():
        by_case[(case, smmus, pages)] = (ops, per_smmu(counts.get(mid, {})))

    smmu_counts = sorted({k[1] for k in timing if k[0].split(":")[-1] in UNMAPS})
    md = []
    w = md.append
    w("# Benchmark: DMA invalidation on hypervisor-owned SMMUs")
    w("")
    w("Written by `make bench` (scripts/bench.sh, about 5 minutes with a warm cache);")
    w("do not edit by hand. Every figure below but the native invalidation-array")
    w("section's comes from boots of the bench topology (`run-qemu.sh --topology bench8`:")
    w("eight SMMUv3, one edu device behind each) in hVHE mode, under QEMU TCG, so")
    w("absolute times mean little: compare within a table. Commands are counted by")
    w("QEMU itself from its SMMUv3 trace events, per SMMU, in a boot of its own")
    w("(tracing slows MMIO down); the times come from a second boot without tracing,")
    w("and the stock driver's from a third (`pkvm_smmu=off`).")
    w("")
    w(f"- Command: `{args.command}`")
    w(f"- QEMU: {args.qemu}")
    w(f"- Machine: {args.machine}")
    w("- Program: `tools/testing/pkvm-smmu/vfio/smmu_bench.c` (the kernel's VFIO")
    w("  selftest library, iommufd), run by `tests/boot/bench/smmu-bench.sh`.")
    w("")

    w("## Commands per unmap call (QEMU's count)")
    w("")
    w("One iommufd IOAS, which the hypervisor backs with one domain (one page table)")
    w("spanning K SMMUs, each with a VMID of its own. Each row is a buffer mapped and")
    w("unmapped with IOMMU_IOAS_UNMAP, many times; the counts are per unmap call and")
    w("per SMMU (every SMMU of the domain received the same). The floor is one TLBI")
    w("and one CMD_SYNC per SMMU per call.")
    w("")
    w("With one domain per SMMU instead (`per-smmu`, the host driver's debugfs")
    w("`share_domains` off, so that iommufd gives each device a domain of its own,")
    w("as drivers without cross-SMMU domains do), the floor per SMMU is the same but")
    w("each unmap is K hypercalls, each walking its own page table.")
    w("")
    w("| domains | unmap | K SMMUs | SMMUs invalidated | TLBIs per SMMU | CMD_SYNCs per SMMU | at the floor |")
    w("|---|---|---|---|---|---|---|")
    floor_misses = []
    for strat, case in [(st, c) for st in STRATEGIES for c in UNMAPS]:
        for k in smmu_counts:
            key = next((x for x in by_case if x[0] == f"{strat}:{case}" and x[1] == k),
                       None)
            if not key:
                continue
            ops, ps = by_case[key]
            if not ps:
                w(f"| {strat} | {case} | {k} | 0 | - | - | no count |")
                continue
            tl = {v[0] for v in ps.values()}
            sy = {v[1] for v in ps.values()}
            same = len(tl) == 1 and len(sy) == 1
            t = max(tl) / ops
            s = max(sy) / ops
            at = len(ps) == k and same and t == 1 and s == 1
            if not at and strat == "shared":
                floor_misses.append((case, k, t, s))
            w(f"| {strat} | {case} | {k} | {len(ps)} | {fmt(t)}{'' if same else ' (max)'} | "
              f"{fmt(s)}{'' if same else ' (max)'} | {'yes' if at else 'no'} |")
    w("")

    w("## Unmap latency against the number of SMMUs")
    w("")
    w("Median of the timed IOMMU_IOAS_UNMAP calls (microseconds, TCG). `x K=1` is")
    w("the shared domain's ratio to itself on one SMMU; `per-smmu` is the same unmap")
    w("with one domain per SMMU, in the same boot, and `x shared` its ratio to the")
    w("shared domain. The stock driver's median (its own domain per SMMU, its own")
    w("invalidation) comes from another boot, and TCG timings move by up to 2x")
    w("between boots, so read that column as an order of magnitude. The 2M unmap is")
    w("one 2 MiB huge page, mapped at 4 KiB granule (the hypervisor maps only 4 KiB")
    w("leaves): its cost is the 512 leaves and borrows given back.")
    w("")
    w("| unmap | K | shared us | x K=1 | per-smmu us | x shared | stock us |")
    w("|---|---|---|---|---|---|---|")
    plot_rows = []

    def median(table, name, k):
        key = next((x for x in table if x[0] == name and x[1] == k), None)
        return table[key]["median"] if key else None

    for case in UNMAPS:
        base = None
        for k in smmu_counts:
            med = median(timing, f"shared:{case}", k)
            if med is None:
                continue
            base = base or med
            per = median(timing, f"per-smmu:{case}", k)
            smed = median(stock, f"shared:{case}", k)
            w(f"| {case} | {k} | {us(med)} | {med / base:.2f} | "
              f"{us(per) if per else '-'} | {f'{per / med:.2f}' if per else '-'} | "
              f"{us(smed) if smed else '-'} |")
            plot_rows.append((case, k, med / 1000, per / 1000 if per else None))
    w("")
    w("![unmap latency](benchmark-unmap.png)")
    w("")

    guest_cases = [c for c in UNMAPS if any(k[0] == f"guest:{c}" for k in timing)]
    if guest_cases:
        w("## A VMM unmapping its guest's memory (QEMU's count and times)")
        w("")
        w("`vfio_edu_unmap_perf_test` (a KVM selftest, with the VFIO selftest library):")
        w("a VM whose memory slot its guest has touched in full (under pKVM every page")
        w("is shared with the guest as well as borrowed by the domain), K edu devices")
        w("behind K SMMUs assigned to it in one iommufd IOAS, and part of its memory")
        w("mapped at IOVA = GPA and unmapped again by the VMM. Commands per unmap call")
        w("and per SMMU; median time, and its ratio to the same unmap of memory that")
        w("no guest uses (smmu_bench's `shared` rows above), in the same boot.")
        w("")
        w("| unmap | K | SMMUs invalidated | TLBIs per SMMU | CMD_SYNCs per SMMU | guest us | x shared | stock us |")
        w("|---|---|---|---|---|---|---|---|")
        for case in guest_cases:
            for k in smmu_counts:
                med = median(timing, f"guest:{case}", k)
                if med is None:
                    continue
                key = next((x for x in by_case if x[0] == f"guest:{case}" and x[1] == k),
                           None)
                cnt = "| - | - | - |"
                if key:
                    ops, ps = by_case[key]
                    if ps:
                        t = max(v[0] for v in ps.values()) / ops
                        sy = max(v[1] for v in ps.values()) / ops
                        cnt = f"| {len(ps)} | {fmt(t)} | {fmt(sy)} |"
                        if strat_floor_miss(ps, k, ops):
                            floor_misses.append((f"guest {case}", k, t, sy))
                sh = median(timing, f"shared:{case}", k)
                smed = median(stock, f"guest:{case}", k)
                w(f"| {case} | {k} {cnt} {us(med)} | {f'{med / sh:.2f}' if sh else '-'} | "
                  f"{us(smed) if smed else '-'} |")
        w("")

    lock_ks = [k for k in smmu_counts if median(timing, "locked:unmap-4k", k)]
    if lock_ks:
        w("## The invalidation array: read without a lock, or under one (times)")
        w("")
        w("The same shared domain, its unmaps alternating between the hypervisor")
        w("reading the invalidation array without a lock (`lock-free`, what it does)")
        w("and under a per-domain spinlock that attach and detach hold while they")
        w("build and publish a new array (`locked`: a test kernel's knob,")
        w("`__pkvm_iommu_bench_knob`, flipped between two unmaps; drivers that keep")
        w("their invalidation list under a lock work so), so that drift during the")
        w("boot falls on both alike. Then the same while another thread attaches and")
        w("detaches one more device (behind an SMMU of its own) to and from the IOAS")
        w("without pause (`+ writer`, each attach and detach publishing a new array;")
        w("the writer's SMMU is in the array half the time, so half the unmaps")
        w("invalidate one SMMU more, under either strategy). Median unmap in")
        w("microseconds (half the iterations each), and locked to lock-free.")
        w("")
        w("| unmap | K | lock-free us | locked us | locked / lock-free | "
          "lock-free + writer us | locked + writer us | locked / lock-free |")
        w("|---|---|---|---|---|---|---|---|")
        for case in UNMAPS:
            for k in lock_ks:
                lf = median(timing, f"lock-free:{case}", k)
                lk = median(timing, f"locked:{case}", k)
                lfw = median(timing, f"lock-free+writer:{case}", k)
                lkw = median(timing, f"locked+writer:{case}", k)
                if not lf or not lk:
                    continue
                w(f"| {case} | {k} | {us(lf)} | {us(lk)} | {lk / lf:.2f} | "
                  f"{us(lfw) if lfw else '-'} | {us(lkw) if lkw else '-'} | "
                  f"{f'{lkw / lfw:.2f}' if lfw and lkw else '-'} |")
        w("")
        w("Under TCG an uncontended spinlock costs far less than the timing noise of")
        w("an unmap (a few atomic instructions against a hypercall and SMMU commands")
        w("emulated in software), and with two guest CPUs the writer and the")
        w("unmapping thread take turns more than they race: read these ratios as")
        w("\"no difference measurable here\" unless they stand far from 1. The read")
        w("path itself is measured natively below, with real concurrent readers.")
        w("")

    w("## Hypervisor memory per domain")
    w("")
    w("Pages the hypervisor holds for the IOMMU once K devices (one per SMMU) are")
    w("attached to one IOAS with 1 MiB (256 pages of 4 KiB) mapped, less what it")
    w("held before: domain structures, page tables and invalidation arrays. Counted")
    w("by the host driver (debugfs `donated_pages`) after giving back the free")
    w("memcache.")
    w("")
    w("| K | shared: pages | per-smmu: pages | per-smmu / shared |")
    w("|---|---|---|---|")
    for k in smmu_counts:
        sh = mems.get(("shared", k))
        pe = mems.get(("per-smmu", k))
        if not sh:
            continue
        w(f"| {k} | {sh[1]} | {pe[1] if pe else '-'} | "
          f"{f'{pe[1] / sh[1]:.2f}' if pe and sh[1] > 0 else '-'} |")
    w("")
    w("### Hypervisor memory per attached SMMU")
    w("")
    regs = sorted(v[1] for key, v in mems.items() if key[0] == "registration")
    if regs:
        w(f"- Once per SMMU, at registration (stream table, command and event queues,")
        w(f"  VMID bitmap), from the host driver's log: "
          + (f"{regs[0]} pages each" if len(set(regs)) == 1 else
             ", ".join(str(r) for r in regs) + " pages")
          + f" ({len(regs)} SMMUs).")
    ks = [k for k in smmu_counts if mems.get(("shared", k)) and mems.get(("per-smmu", k))]
    if len(ks) > 1:
        lo, hi = ks[0], ks[-1]
        for name, label in (("shared", "one domain shared by all"),
                            ("per-smmu", "one domain per SMMU")):
            extra = (mems[(name, hi)][1] - mems[(name, lo)][1]) / (hi - lo)
            w(f"- Each further SMMU a domain spans, {label}: {extra:g} pages "
              f"(from {lo} to {hi} SMMUs, with 1 MiB mapped).")
    w("- A shared domain records each SMMU it spans in its invalidation array, a 12-byte")
    w("  entry in the array's one page; the first stream attached in a span of 64 stream")
    w("  ids takes one page for its level-2 stream table, kept for good (not in the")
    w("  counts above, which start after the first pass installed them).")
    w("")

    w("## Attach and detach (QEMU's count)")
    w("")
    w("The K-th device joining the domain (its SMMU's first stream in it: a fresh")
    w("VMID there) and the devices leaving it again, last first. Commands per SMMU")
    w("that received any, summed over the call (libvfio's device init and cleanup:")
    w("open, reset, attach; close, detach). `TLBI` includes the VMID-wide ones.")
    w("")
    w("| domains | call | K | SMMUs | TLBIs | CMD_SYNCs | CFGI_STEs | all |")
    w("|---|---|---|---|---|---|---|---|")
    for strat, case in [(st, c) for st in STRATEGIES for c in ("attach", "detach")]:
        for key in sorted(x for x in by_case if x[0] == f"{strat}:{case}"):
            ops, ps = by_case[key]
            cells = []
            for i in range(4):
                vals = sorted({v[i] for v in ps.values()})
                cells.append("/".join(map(str, vals)) if vals else "0")
            w(f"| {strat} | {case} | {key[1]} | {len(ps)} | " + " | ".join(cells) + " |")
    w("")

    w("## Memcache top-up: commands per donated page (QEMU's count)")
    w("")
    w("`topup N` through debugfs/pkvm-smmu/hvc: N host pages donated to the")
    w("hypervisor's IOMMU memcache in one call (batched: refill_memcache() donates")
    w("32 pages, then invalidates once), then the same N pages' worth in N calls of")
    w("one page (what a donation costs page by page). Each page leaves the identity")
    w("domain, which spans every SMMU with a device in it (all eight here: the")
    w("bench's devices are released), and must be invalidated on every one of them")
    w("before the hypervisor uses it. Commands are per SMMU (each received the same).")
    w("The N-call times also pay N debugfs writes and N hypercalls: compare commands.")
    w("")
    w("| pages | SMMUs | one call: TLBIs + CMD_SYNCs | N calls of one page | x fewer | one call (ms) | N calls (ms) |")
    w("|---|---|---|---|---|---|---|")
    topup_ratios = []
    for key in sorted((x for x in by_case if x[0] == "shared:topup"), key=lambda x: x[2]):
        pages = key[2]
        _, ps = by_case[key]
        _, pp = by_case.get(("shared:topup-by-page", 0, pages), (0, {}))
        one = max((v[0] + v[1] for v in ps.values()), default=0)
        many = max((v[0] + v[1] for v in pp.values()), default=0)
        t1 = next((timing[x]["median"] for x in timing
                   if x[0] == "shared:topup" and x[2] == pages), None)
        tn = next((timing[x]["median"] for x in timing
                   if x[0] == "shared:topup-by-page" and x[2] == pages), None)
        ratio = many / one if one else 0
        topup_ratios.append((pages, len(ps), ratio))
        w(f"| {pages} | {len(ps)} | {one} | {many} | {ratio:.1f} | "
          f"{t1 / 1e6:.1f} | {tn / 1e6:.1f} |" if t1 and tn else
          f"| {pages} | {len(ps)} | {one} | {many} | {ratio:.1f} | - | - |")
    w("")

    w("## dma_map_benchmark (the kernel's DMA API benchmark)")
    w("")
    w("`tools/dma/dma_map_benchmark` on one edu device bound to the kernel's")
    w("dma_map_benchmark driver, 3 seconds per row: dma_map_single/dma_unmap_single")
    w("of 4 KiB (granule 1) and 1 MiB (granule 256) with one and two threads. With")
    w("the hypervisor's SMMUs, through the device's default domain, the identity")
    w("domain (the DMA API maps nothing), then through translated DMA domains of the")
    w("hypervisor's (the group's sysfs type set to `DMA`: one map and one unmap")
    w("hypercall per call, the unmap invalidating before it returns; then `DMA-FQ`:")
    w("the unmap leaves the invalidation to the flush queue, one hypercall per flush).")
    w("The stock driver's default domain is translated and strict")
    w("(`CONFIG_IOMMU_DEFAULT_DMA_STRICT`), then `DMA-FQ` too. Average microseconds")
    w("per call (map / unmap), and the ratios of the hypervisor's domains to the")
    w("stock driver's of the same kind (from another boot).")
    w("")
    w("| granule | threads | identity | DMA | DMA-FQ | stock DMA | stock DMA-FQ | identity x stock DMA | DMA x stock DMA | DMA-FQ x stock DMA-FQ |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    dma_ratios = []

    def pair(x):
        return f"{x['map']:.1f} / {x['unmap']:.1f}" if x else "-"

    def ratio(x, st):
        if not x or not st or not st["map"] or not st["unmap"]:
            return None
        return (x["map"] / st["map"], x["unmap"] / st["unmap"])

    def fmt_ratio(r):
        return f"{r[0]:.2f} / {r[1]:.2f}" if r else "-"

    for key in sorted(k for k in timing if k[0] == "dma:identity"):
        _, thr, gran = key
        idn = timing[key]
        tr = timing.get(("dma:DMA", thr, gran))
        fq = timing.get(("dma:DMA-FQ", thr, gran))
        st = stock.get(("dma:DMA", thr, gran))
        stfq = stock.get(("dma:DMA-FQ", thr, gran))
        r_id, r_tr, r_fq = ratio(idn, st), ratio(tr, st), ratio(fq, stfq)
        if r_tr:
            dma_ratios.append(("DMA", gran, thr) + r_tr + (r_id[0],))
        if r_fq:
            dma_ratios.append(("DMA-FQ", gran, thr) + r_fq + (r_id[0],))
        w(f"| {gran} | {thr} | {pair(idn)} | {pair(tr)} | {pair(fq)} | {pair(st)} | "
          f"{pair(stfq)} | {fmt_ratio(r_id)} | {fmt_ratio(r_tr)} | {fmt_ratio(r_fq)} |")
    w("")
    w("Where the translated domains cost more: each map is a hypercall, and each")
    w("unmap two (iommu-dma asks `iova_to_phys()` before every unmap, and the")
    w("hypervisor's table is the only one); a round trip to EL2 and back costs several")
    w("microseconds under TCG, which is most of a 4 KiB map's difference. Each call")
    w("holds the domain's page-table lock, and the host's stage-2 lock while it borrows")
    w("or gives back the pages (a page-state update per 4 KiB page, one lock hold per")
    w("physically contiguous run); two threads on one domain serialise on both locks,")
    w("where the stock driver's io-pgtable updates disjoint IOVAs without a lock. A")
    w("flush queue saves the stock driver its whole invalidation, but the hypervisor")
    w("only the TLBI and CMD_SYNC of a call: the deferred unmap still clears the leaves")
    w("and gives the pages back before it returns, which is why DMA-FQ unmap stands")
    w("furthest from stock. The leaves are written one level-3 table at a time, as")
    w("io-pgtable does (`hyp_iommu_map_leaves()`, `hyp_iommu_unmap_slices()`), not one")
    w("page-table walk per page: that took the 1 MiB map from 5.4x stock (the run")
    w("committed before it: 123.8 us against 22.9) to the figures above. Answering")
    w("`iova_to_phys()`")
    w("from a host-side record (a maple tree) instead of a hypercall was tried and")
    w("measured slower here: a tree store per map and unmap cost more under TCG than")
    w("the hypercall it saved.")
    w("")

    w("## A protected guest faulting its memory in (QEMU's count)")
    w("")
    w("`pvm_dma --bench N`: a protected VM whose guest stores to N pages; each")
    w("store faults, and pKVM donates the page to the guest, which takes it out of")
    w("the identity domain on every SMMU (eight here) before the guest can run on.")
    w("Runs of 1 and 257 pages; the difference is 256 faults, without the VM's")
    w("creation and teardown. The floor is one TLBI and one CMD_SYNC per SMMU per")
    w("fault: each fault is a donation of its own.")
    w("")
    one = by_case.get(("pvm-fault", 0, 1))
    many = by_case.get(("pvm-fault", 0, 257))
    t1 = timing.get(("pvm-fault", 0, 1))
    tn = timing.get(("pvm-fault", 0, 257))
    if one and many:
        smmus = sorted(set(one[1]) | set(many[1]))
        per = [(many[1].get(b, (0, 0, 0, 0))[0] - one[1].get(b, (0, 0, 0, 0))[0],
                many[1].get(b, (0, 0, 0, 0))[1] - one[1].get(b, (0, 0, 0, 0))[1])
               for b in smmus]
        tl = max(p[0] for p in per) / 256
        sy = max(p[1] for p in per) / 256
        w("| SMMUs | TLBIs per fault per SMMU | CMD_SYNCs per fault per SMMU | us per fault |")
        w("|---|---|---|---|")
        w(f"| {len(smmus)} | {fmt(tl)} | {fmt(sy)} | "
          f"{(tn['median'] - t1['median']) / 256 / 1000:.0f} |" if t1 and tn else
          f"| {len(smmus)} | {fmt(tl)} | {fmt(sy)} | - |")
    else:
        w("(no protected-guest run in this boot)")
    w("")

    w("## A protected VM's stage-2 changing under its devices (QEMU's count)")
    w("")
    w("`pvm_dma --dma --assign ... --reclaim-bench N`: a protected VM whose guest")
    w("stored to 257 pages, with edu devices behind K SMMUs assigned to it (its")
    w("domain: the SMMUs walk the VM's own stage-2, one VMID per SMMU). The host")
    w("takes N of its pages back (`__pkvm_force_reclaim_guest_page`, through")
    w("debugfs/hvc): each page leaves the VM's stage-2, and the hypervisor")
    w("invalidates every SMMU of the VM's domain, through its invalidation array,")
    w("before the page is the host's. Runs of 0 and 256 pages, the same VM")
    w("otherwise; the difference is 256 stage-2 changes. The floor is one TLBI and")
    w("one CMD_SYNC per SMMU of the domain per change (min and max over its K")
    w("SMMUs), and nothing on the others: what the others got between the two runs")
    w("(the identity domain's own commands, alike on every SMMU) is shown, and")
    w("taken off the domain's counts. The time per change is less a call through")
    w("the same debugfs file that does nothing (each call opens, writes, reads and")
    w("closes it); it still includes poisoning the page. Beside it, the paging")
    w("domain's 4 KiB unmap (the first table) on as many SMMUs, through iommufd.")
    w("The teardown takes the devices' BARs out of the VM's stage-2 before it")
    w("detaches the streams, so that a VM whose detach fails no longer drives them:")
    w("a stage-2 change per BAR page too, whose SMMU invalidations it holds back")
    w("and issues once per SMMU, VMID-wide, at its end (in both runs).")
    w("")
    rows = []
    pvm_floor = None
    for k in (1, 2):
        zero = by_case.get((f"pvm-reclaim-{k}", 0, 0))
        many = by_case.get((f"pvm-reclaim-{k}", 0, 256))
        if not zero or not many:
            continue
        bases = sorted(set(zero[1]) | set(many[1]))
        diff = {b: tuple(many[1].get(b, (0, 0, 0, 0))[i] - zero[1].get(b, (0, 0, 0, 0))[i]
                         for i in range(4))
                for b in bases}
        # The K SMMUs of the domain are those that took the most commands.
        order = sorted(bases, key=lambda b: diff[b][3], reverse=True)
        dom, rest = order[:k], order[k:]
        nt = max((diff[b][0] for b in rest), default=0, key=abs)
        nsy = max((diff[b][1] for b in rest), default=0, key=abs)
        other = max((abs(diff[b][3]) for b in rest), default=0)
        tls = [(diff[b][0] - nt) / 256 for b in dom]
        sys_ = [(diff[b][1] - nsy) / 256 for b in dom]
        met = (len(dom) == k and all(t == 1 for t in tls) and all(x == 1 for x in sys_)
               and all(diff[b][2] == 0 for b in dom) and other <= 8)
        pvm_floor = met if pvm_floor is None else pvm_floor and met

        def rng(v):
            return fmt(min(v)) if min(v) == max(v) else f"{fmt(min(v))} to {fmt(max(v))}"
        t = median(timing, "pvm-reclaim", k)
        n0 = median(timing, "pvm-hvc-null", k)
        u = median(timing, "shared:unmap-4k", k)
        per = us(t - n0) if t is not None and n0 is not None else "-"
        rows.append(f"| {k} | {rng(tls)}{'' if met else ' (**above the floor**)'} | "
                    f"{rng(sys_)} | {other} | {per} | {us(u) if u else '-'} |")
    if rows:
        w("| SMMUs of the VM's domain | TLBIs per change per SMMU | "
          "CMD_SYNCs per change per SMMU | commands on the other SMMUs (difference) | "
          "us per change | paging domain: us per 4 KiB unmap |")
        w("|---|---|---|---|---|---|")
        for r in rows:
            w(r)
    else:
        w("(no protected-VM stage-2 run in this boot)")
    w("")

    w("## Invalidation-array reads with a concurrent writer (native)")
    w("")
    w("`tools/testing/pkvm-smmu/invs_bench.c`, on the build machine, one second per")
    w("row: reader threads walk a domain's invalidation array as unmap does (eight")
    w("entries), while a writer attaches and detaches a ninth SMMU's entry, back to")
    w("back (`tight`) or 100 us apart (`paced`). Lock-free: the real `smmu_invs.c`")
    w("and `hyp_gp.c` (enter/quiescent around each read, publish and retire to the")
    w("grace period); rwlock: the same walk under a pthread rwlock. Millions of reads")
    w("per second, the ratio to the same readers without a writer, and the writer's")
    w("own updates per second. The machine has as many cores as the header says:")
    w("threads beyond them share cores, so the writer also takes CPU time from the")
    w("readers there.")
    w("")
    invs = {}
    for line in read_lines(args.invs):
        m = INVS.match(line)
        if m:
            invs[(m.group(1), int(m.group(2)), m.group(3))] = (int(m.group(4)),
                                                                int(m.group(5)),
                                                                int(m.group(6)))
    if not invs:
        die(f"{args.invs}: no INVS line")
    w("| readers | lock-free M/s | + paced writer | + tight writer | writer updates/s (paced, tight) | rwlock M/s | + paced writer | + tight writer | writer updates/s (paced, tight) |")
    w("|---|---|---|---|---|---|---|---|---|")
    paced_ratios = []

    def invs_row(rd, sch, col):
        """The none/paced/tight runs of @sch with @rd readers, figure @col (0:
        reads per wall-clock second, 2: per reader CPU second), or None."""
        runs = [invs.get((sch, rd, wr)) for wr in ("none", "paced", "tight")]
        if not all(runs) or not runs[0][col]:
            return None
        base, paced, tight = runs
        return base, paced, tight, [f"{base[col] / 1e6:.1f}",
                                    f"{paced[col] / 1e6:.1f} ({paced[col] / base[col]:.2f}x)",
                                    f"{tight[col] / 1e6:.1f} ({tight[col] / base[col]:.2f}x)"]

    for rd in sorted({k[1] for k in invs}):
        cells = []
        for sch in ("lock-free", "rwlock"):
            row = invs_row(rd, sch, 0)
            cells += row[3] + [f"{row[1][1]}, {row[2][1]}"] if row else ["-"] * 4
        w(f"| {rd} | " + " | ".join(cells) + " |")
    w("")
    w("The same runs, as reads per second of CPU time the readers got (each reader")
    w("thread's `CLOCK_THREAD_CPUTIME_ID`): what each read costs, whatever share of")
    w("the cores the writer took. Millions of reads per reader CPU second, and the")
    w("ratio to the same readers without a writer.")
    w("")
    w("| readers | lock-free | + paced writer | + tight writer | rwlock | + paced writer | + tight writer |")
    w("|---|---|---|---|---|---|---|")
    for rd in sorted({k[1] for k in invs}):
        cells = []
        for sch in ("lock-free", "rwlock"):
            row = invs_row(rd, sch, 2)
            cells += row[3] if row else ["-"] * 3
            if row and sch == "lock-free":
                base, paced = row[0], row[1]
                paced_ratios.append((rd, paced[2] / base[2], paced[0] / base[0]))
        w(f"| {rd} | " + " | ".join(cells) + " |")
    w("")
    w("Reading it: beyond one reader the rwlock's readers serialise on the lock's")
    w("cache line, and its writer starves (glibc's rwlock prefers readers); the")
    w("lock-free writer keeps its pace whatever the readers do. What a writer costs")
    w("the lock-free readers is the cache-line traffic of each publish and grace")
    w("period step, and, on a machine with fewer cores than threads, the share of a")
    w("core its thread takes whenever it runs.")
    w("")

    w("## Targets")
    w("")
    if floor_misses:
        w("Commands per unmap call: **missed** where the table says no:")
        for case, k, t, s in floor_misses:
            w(f"- {case} on {k} SMMUs: {fmt(t)} TLBIs and {fmt(s)} CMD_SYNCs per SMMU per call.")
    else:
        w("Commands per unmap call: met (one TLBI and one CMD_SYNC per SMMU per call).")
    w("")
    mem = [(k, mems.get(("shared", k)), mems.get(("per-smmu", k)))
           for k in smmu_counts]
    mem = [(k, sh[1], pe[1]) for k, sh, pe in mem if sh and pe]
    if mem:
        flat = len({sh for _, sh, _ in mem}) == 1
        w("Page-table memory 1x whatever the number of SMMUs (per-SMMU domains: Kx): "
          f"{'met' if flat else '**missed**'} (shared: "
          + ", ".join(f"{sh} pages on {k}" for k, sh, _ in mem) + "; per-SMMU: "
          + ", ".join(f"{pe} on {k}" for k, _, pe in mem) + ").")
        w("")
    if dma_ratios:
        worst_id = max(r[5] for r in dma_ratios)
        parts = []
        for kind in ("DMA", "DMA-FQ"):
            rs = [r for r in dma_ratios if r[0] == kind]
            if not rs:
                continue
            wm = max(r[3] for r in rs)
            wu = max(r[4] for r in rs)
            parts.append(f"{kind} against stock {kind}: map <= 1.5x "
                         f"({'met' if wm <= 1.5 else '**missed**'}: at worst {wm:.2f}x), "
                         f"unmap <= 1.3x ({'met' if wu <= 1.3 else '**missed**'}: at worst "
                         f"{wu:.2f}x)")
        w("dma_map_benchmark, translated domains against stock: " + "; ".join(parts) +
          f"; identity domain <= 1.0x ({'met' if worst_id <= 1.0 else '**missed**'}: "
          f"at worst {worst_id:.2f}x). Across two boots: see the noise note above.")
        w("")
    if paced_ratios:
        worst = min(r for _, r, _ in paced_ratios)
        wall = min(r for _, _, r in paced_ratios)
        w("Lock-free read throughput with a (paced) writer >= 0.9x of without, per")
        w("reader CPU second: "
          f"{'met' if worst >= 0.9 else '**missed**'} (at worst {worst:.2f}x; "
          + ", ".join(f"{r:.2f}x with {n} reader{'s' if n > 1 else ''}"
                      for n, r, _ in paced_ratios) + "). Per second of wall-clock "
          f"time, at worst {wall:.2f}x: with more threads than cores that figure "
          "also counts the CPU time the writer's thread takes from the readers.")
        w("")
    big = [r for r in topup_ratios if r[0] == 1024]
    if big:
        pages, nsmmu, ratio = big[0]
        met = "met" if ratio >= 10 else "**missed**"
        w(f"A 1024-page top-up on {nsmmu} SMMUs, at least 10x fewer commands than page by")
        w(f"page: {met} ({ratio:.1f}x).")
        w("")
    if pvm_floor is not None:
        w("A protected VM's stage-2 change: one TLBI and one CMD_SYNC per SMMU of its")
        w(f"domain, none elsewhere: {'met' if pvm_floor else '**missed**'}.")
        w("")

    os.makedirs(args.plot_dir, exist_ok=True)
    dat = os.path.join(args.plot_dir, "benchmark-unmap.dat")
    series = 0
    with open(dat, "w") as f:
        for case in UNMAPS:
            for col, label in ((2, "shared"), (3, "per-smmu")):
                rows = [r for r in plot_rows if r[0] == case and r[col] is not None]
                if not rows:
                    continue
                f.write(f'"{case} {label}"\n')
                for r in rows:
                    f.write(f"{r[1]} {r[col]:.1f}\n")
                f.write("\n\n")
                series += 1
    png = os.path.join(args.plot_dir, "benchmark-unmap.png")
    gp = (f'set terminal png size 800,500 noenhanced; set output "{png}";'
          'set title "IOAS unmap latency against the SMMUs it spans (QEMU TCG)";'
          'set xlabel "SMMUs"; set ylabel "median latency (us)";'
          'set logscale x 2; set logscale y; set xrange [0.8:10]; set xtics (1, 2, 4, 8);'
          'set key top left;'
          f'plot for [i=0:{series - 1}] "{dat}" index i using 1:2 '
          'with linespoints title columnheader(1)')
    try:
        subprocess.run(["gnuplot", "-e", gp], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"gnuplot failed: {e}")
    os.remove(dat)

    with open(args.out + ".tmp", "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
