#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Break the code on purpose, one mutation at a time, in a scratch copy of the
# sources, and check that the named test program catches it (exits non-zero).
# Prints TAP: "ok N - mutant" when the mutant was caught.
#
# Usage: mutate.sh [name-filter]
#
# The el2 mutants break the real hypercall bodies (iommu.c, smmu_v3.c) and
# need the kernel tree: KSRC and KBUILD are passed on to make when set.

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
filter=${1:-}
tmp=$(mktemp -d)
echo "# scratch: $tmp"
trap 'rm -rf "$tmp"' EXIT

files="arch/arm64/kvm/hyp/nvhe/smmu_invs.c
arch/arm64/kvm/hyp/nvhe/smmu_tags.c
arch/arm64/kvm/hyp/nvhe/hyp_gp.c
arch/arm64/kvm/hyp/include/nvhe/smmu_invs.h
arch/arm64/kvm/hyp/include/nvhe/smmu_tags.h
arch/arm64/kvm/hyp/include/nvhe/hyp_gp.h
arch/arm64/kvm/hyp/nvhe/iommu.c
arch/arm64/kvm/hyp/nvhe/smmu_v3.c
arch/arm64/kvm/hyp/include/nvhe/iommu.h
arch/arm64/kvm/hyp/include/nvhe/smmu_v3.h
arch/arm64/kvm/hyp/nvhe/pci_cfg.c
arch/arm64/kvm/hyp/include/nvhe/pci_cfg.h
arch/arm64/include/asm/kvm_pkvm_smmu.h"
kvars=()
[ -n "${KSRC:-}" ] && kvars+=("KSRC=$KSRC")
[ -n "${KBUILD:-}" ] && kvars+=("KBUILD=$KBUILD")

nr=0
failed=0
# Mutants built and run at once (MUTATE_JOBS, default the CPUs), each in a
# scratch tree of its own; the stress programs, whose races must show, run
# alone. Results come out in order at the end.
jobs_max=${MUTATE_JOBS:-$(nproc)}

# mutant NAME PROGRAM FILE OLD NEW [OLD NEW]...: replace the single
# occurrence of each OLD by its NEW in FILE (relative to the tree root), build,
# then run PROGRAM (unit, tsan, asan, el2, el2stress, el2shim or fuzz). The
# mutant must build, and it is caught if PROGRAM fails. fuzz is the bounded run
# of make check (seed corpus, then FUZZ_MUTANT_RUNS executions from libFuzzer
# seed 1); el2stress the TSan stress of the real hypercall bodies
# (EL2_STRESS_ARGS, as in make check).
mutant()
{
	local name=$1 prog=$2

	[ -n "$filter" ] && [[ $name != *$filter* ]] && return
	nr=$((nr + 1))
	case "$prog" in
	*stress|tsan)
		wait
		run_mutant "$nr" "$@" >"$tmp/res.$nr"
		;;
	*)
		while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
			wait -n
		done
		run_mutant "$nr" "$@" >"$tmp/res.$nr" &
		;;
	esac
}

# run_mutant N NAME PROGRAM FILE OLD NEW...: the work of mutant number N.
run_mutant()
{
	local nr=$1 name=$2 prog=$3 file=$4 copy=$tmp/tree.$1 log=$tmp/log.$1
	local target=all runs=()

	shift 4
	rm -rf "$copy"
	mkdir -p "$copy/tools/testing"
	# With their times: make then recompiles only the mutated file of the
	# el2 scenario, whose per-file objects of the last build are kept.
	cp -rp "$here" "$copy/tools/testing/pkvm-smmu"
	find "$copy/tools/testing/pkvm-smmu/build" -mindepth 1 -maxdepth 1 \
		! -name el2-obj -exec rm -rf {} + 2>/dev/null
	for f in $files; do
		mkdir -p "$copy/$(dirname "$f")"
		cp -p "$root/$f" "$copy/$f"
	done

	if ! python3 - "$copy/$file" "$@" <<'EOF'
import sys
path, pairs = sys.argv[1], sys.argv[2:]
text = open(path).read()
for old, new in zip(pairs[0::2], pairs[1::2]):
    if text.count(old) != 1:
        sys.exit("mutation anchor found %d times: %r" % (text.count(old), old))
    text = text.replace(old, new)
open(path, "w").write(text)
EOF
	then
		echo "not ok $nr - $name # mutation does not apply"
		return
	fi

	[ "$prog" = el2 ] && target=el2-build
	[ "$prog" = el2stress ] && target=el2-stress-build
	[ "$prog" = el2deferredstress ] && target=el2-stress-build &&
		runs=("EL2_STRESS_ARGS=${EL2_STRESS_DEFERRED_ARGS:-3000 3 8 deferred}") &&
		prog=el2stress
	[ "$prog" = el2pvmstress ] && target=el2-pvm-stress-build
	[ "$prog" = el2shim ] && target=el2-shim-build
	[ "$prog" = fuzz ] && target=fuzz-build &&
		runs=("FUZZ_CHECK_RUNS=${FUZZ_MUTANT_RUNS:-3000}")
	if ! make -s -C "$copy/tools/testing/pkvm-smmu" "${kvars[@]}" "$target" \
		>"$log" 2>&1; then
		echo "not ok $nr - $name # mutant does not build: $(grep -m1 error: "$log")"
		rm -rf "$copy"
		return
	fi

	if timeout 180 make -s -C "$copy/tools/testing/pkvm-smmu" "${kvars[@]}" \
		"${runs[@]}" "run-$prog" >"$log" 2>&1; then
		echo "not ok $nr - $name # NOT caught by $prog"
	else
		echo "ok $nr - $name # caught by $prog: $(grep -m1 -E 'fuzz oracle|^not ok|ThreadSanitizer|AddressSanitizer|runtime error|EL2 WARN|SMMU model|^EL2:' "$log")"
	fi
	rm -rf "$copy"
}

INVS_C=arch/arm64/kvm/hyp/nvhe/smmu_invs.c
INVS_H=arch/arm64/kvm/hyp/include/nvhe/smmu_invs.h
TAGS_C=arch/arm64/kvm/hyp/nvhe/smmu_tags.c
GP_C=arch/arm64/kvm/hyp/nvhe/hyp_gp.c
GP_H=arch/arm64/kvm/hyp/include/nvhe/hyp_gp.h
STRESS=tools/testing/pkvm-smmu/stress.c

# Mutations checked by more than one program (the el2 scenario and the fuzzer).
ZALLOC_NO_MEMSET=(
	'	if (page)
		memset(page, 0, PAGE_SIZE);
	return page;' '	return page;')
L2_STRTAB_NOT_ZEROED=(
	'static void *hyp_iommu_zalloc_page(void *arg)' \
	'static void *hyp_iommu_pop_page(void *arg)
{
	return pop_hyp_memcache(arg, hyp_phys_to_virt);
}

static void *hyp_iommu_zalloc_page(void *arg)' \
	'ret = hyp_smmu_install_ste(smmu, sid, &cfg, hyp_iommu_zalloc_page, mc);' \
	'ret = hyp_smmu_install_ste(smmu, sid, &cfg, hyp_iommu_pop_page, mc);')
UNMAP_ERROR_UNSHARES=(
	'		if (ret)
			return ret;
	}
	/*
	 * Only an unmap' '	}
	/*
	 * Only an unmap')
HOST_LOST_NO_FAIL_CLOSED=(
	'			hyp_iommu_fail_closed(domain);
			stopped = true;' '			stopped = true;')
LOST_BATCH_NO_FLUSH=(
	'	if (hyp_iommu_flush(domain, batch->start, batch->end - batch->start))' \
	'	if (0)')

echo "TAP version 13"

# Invalidation array
mutant invs_iter_no_skip unit "$INVS_H" \
	'if (READ_ONCE(invs->inv[i].users)) {' 'if (1) {'
mutant invs_iter_no_advance unit "$INVS_H" \
	'for ((i) = 0; ((inv) = __smmu_invs_next((invs), &(i))); (i)++)' \
	'for ((i) = 0; ((inv) = __smmu_invs_next((invs), &(i))); )'
mutant invs_sort_s1_first unit "$INVS_H" \
	'	SMMU_INV_S2_VMID,
	SMMU_INV_S1_ASID,' '	SMMU_INV_S1_ASID,
	SMMU_INV_S2_VMID,'
mutant invs_merge_no_overflow_check unit "$INVS_C" \
	'			if (!cmp && check_add_overflow(cur->users, add[j].users,
						       &next.users))
				return -EOVERFLOW;' \
	'			if (!cmp)
				next.users = cur->users + add[j].users;'
mutant invs_merge_accepts_duplicates unit "$INVS_C" \
	'if (i && smmu_inv_cmp(&inv[i - 1], &inv[i]) >= 0)' \
	'if (i && smmu_inv_cmp(&inv[i - 1], &inv[i]) > 0)'
mutant invs_unref_no_precheck unit "$INVS_C" \
	'		if (i >= invs->nr || invs->inv[i].users < del[j].users)
			return -ENOENT;' '		if (i >= invs->nr)
			return -ENOENT;'
mutant invs_merge_purge_keep_trash unit "$INVS_C" \
	'static int smmu_invs_merge_walk(' \
	'#define __smmu_invs_next(v, x) ((v) && *(x) < (v)->nr ? &(v)->inv[*(x)] : NULL)
static int smmu_invs_merge_walk('
mutant invs_publish_not_release tsan "$INVS_H" \
	'smp_store_release(slot, (struct smmu_invs __force __rcu *)invs);' \
	'WRITE_ONCE(*slot, (struct smmu_invs __force __rcu *)invs);'
mutant invs_deref_not_acquire tsan "$INVS_H" \
	'return (struct smmu_invs __force *)smp_load_acquire(slot);' \
	'return (struct smmu_invs __force *)READ_ONCE(*slot);'

# Tags
mutant tags_vmid0_handed_out unit "$TAGS_C" \
	'	smmu_tag_set(space, 0);
	for' '	for' \
	'space->nr_free = nr - 1;' 'space->nr_free = nr;' \
	'bit = smmu_tag_find_free(space, 1);' 'bit = smmu_tag_find_free(space, 0);' \
	'if (bit >= space->nr || !bit)' 'if (bit >= space->nr)'
mutant tags_off_by_one unit "$TAGS_C" \
	'	*tag = bit;' '	*tag = bit - 1;'
mutant tags_free_unallocated unit "$TAGS_C" \
	'	if (!smmu_tag_test(space, tag))' '	if (0 && !smmu_tag_test(space, tag))'
mutant tags_get_always_new unit "$TAGS_C" \
	'	if (ref->users) {' '	if (0) {'
mutant tags_put_frees_early unit "$TAGS_C" \
	'	return --ref->users ? 0 : 1;' \
	'	return --ref->users ? 1 : 0;'
mutant tags_no_lock_assert unit "$TAGS_C" \
	'	hyp_assert_lock_held(space->lock);

	if (!space->nr_free)' '	if (!space->nr_free)'

# Grace period
mutant gp_free_immediately unit "$GP_C" \
	'node->epoch < oldest' '(node->epoch < oldest || node->epoch)'
mutant gp_free_immediately_stress asan "$GP_C" \
	'node->epoch < oldest' '(node->epoch < oldest || node->epoch)'
mutant gp_free_immediately_tsan tsan "$GP_C" \
	'node->epoch < oldest' '(node->epoch < oldest || node->epoch)'
mutant gp_off_by_one unit "$GP_C" \
	'node->epoch < oldest' 'node->epoch <= oldest'
mutant gp_off_by_one_stress tsan "$GP_C" \
	'node->epoch < oldest' 'node->epoch <= oldest'
mutant gp_idle_cpu_blocks unit "$GP_H" \
	'READ_ONCE(c->state) & ~HYP_GP_IN_HYP);' 'READ_ONCE(c->state));'
mutant gp_idle_cpu_blocks_stress tsan "$GP_H" \
	'READ_ONCE(c->state) & ~HYP_GP_IN_HYP);' 'READ_ONCE(c->state));'
mutant gp_no_epoch_bump unit "$GP_C" \
	'smp_store_release(&gp->epoch, epoch + 1);' ''
mutant gp_enter_not_marked tsan "$GP_H" \
	'(epoch << 1) | HYP_GP_IN_HYP);' '(epoch << 1));'
# Not here: hyp_gp_enter() with WRITE_ONCE() instead of smp_store_release().
# TSan keeps one release clock per address, so the acquire in reclaim still
# syncs with the previous hyp_gp_quiescent() release; x86 and the TSO model
# never reorder two stores. Argued in docs/invalidation-array.md only.
mutant gp_reclaim_ignores_entry_epoch unit "$GP_C" \
	'oldest = min(oldest, state >> 1);' 'oldest = min(oldest, gp->epoch);'
mutant gp_quiescent_not_release tsan "$GP_H" \
	'smp_store_release(&c->state, READ_ONCE(c->state) & ~HYP_GP_IN_HYP);' \
	'WRITE_ONCE(c->state, READ_ONCE(c->state) & ~HYP_GP_IN_HYP);'
mutant gp_reclaim_not_acquire tsan "$GP_C" \
	'u64 state = smp_load_acquire(&gp->cpus[cpu].state);' \
	'u64 state = READ_ONCE(gp->cpus[cpu].state);'

# Caller order, checked by the stress test's model of the EL2 driver
mutant attach_ste_before_publish tsan "$STRESS" \
	'	smmu_invs_publish(&d->invs, new);
	retire(old);
	jitter();

	/* 4. The STE write path'"'"'s dsb, then install the STE */
	smp_mb();	/* pairs with smp_mb() in smmu_invs_deref_for_inv() */
	d->ste[s][k] = 1;
	if (!d->nr_ste[s]++)
		interval_open(d, s, add.tag);' \
	'	d->ste[s][k] = 1;
	if (!d->nr_ste[s]++)
		interval_open(d, s, add.tag);
	jitter();
	smmu_invs_publish(&d->invs, new);
	retire(old);'
mutant detach_unref_before_ste_clear tsan "$STRESS" \
	'	if (!--d->nr_ste[s])
		interval_close(d, s);
	d->ste[s][k] = 0;
	smp_mb();	/* CMD_SYNC completion, before the unref below */
	jitter();

	/* 2. Drop the array entry in place: cannot fail */
	cur = smmu_invs_deref_locked(&d->invs);
	dead = smmu_invs_unref(cur, &del, 1);' \
	'	cur = smmu_invs_deref_locked(&d->invs);
	dead = smmu_invs_unref(cur, &del, 1);
	jitter();
	if (!--d->nr_ste[s])
		interval_close(d, s);
	d->ste[s][k] = 0;'

# The real hypercall bodies, against the SMMUv3 model (el2/el2.c)
IOMMU_C=arch/arm64/kvm/hyp/nvhe/iommu.c
SMMU_C=arch/arm64/kvm/hyp/nvhe/smmu_v3.c
PCI_C=arch/arm64/kvm/hyp/nvhe/pci_cfg.c

# ATS "fast mode": registration reads ATSCHK back and refuses the SMMU.
mutant el2_reset_no_atschk el2 "$SMMU_C" \
	'	if (smmu->features & HYP_SMMU_FEAT_ATS)
		cr0 |= CR0_ATSCHK;
' ''
# LPA2: the STE says nothing of the descriptors' format or shareability.
mutant el2_lpa2_no_s2ds el2 "$SMMU_C" \
	'		smmu->features |= HYP_SMMU_FEAT_DS;
		return 0;' '		return 0;'
mutant el2_lpa2_no_shcfg el2 "$SMMU_C" \
	'		smmu->features |= HYP_SMMU_FEAT_SHCFG;' '		smmu->features |= 0;'
mutant el2_lpa2_memory_above_ignored el2 "$SMMU_C" \
	'	if (hyp_iommu_memory_above(HYP_SMMU_NO_DS_MAX_PA))' '	if (hyp_iommu_memory_above(U64_MAX))'
# Addresses a 4 KiB descriptor without LPA2 cannot hold get mapped.
mutant el2_max_pa_50 el2 "$IOMMU_C" \
	'#define HYP_IOMMU_MAX_PA	BIT_ULL(48)' '#define HYP_IOMMU_MAX_PA	BIT_ULL(50)'
mutant el2_lpa2_ds_without_lpa2 el2 "$SMMU_C" \
	'	if (!kvm_lpa2_is_enabled())
		return 0;
	if (idr5' '	if (idr5'
# Memory regions that share a page: mapped twice, the identity domain fails.
mutant el2_identity_region_pages_twice el2 "$IOMMU_C" \
	'	*start = max(ALIGN_DOWN(hyp_memory[i].base, PAGE_SIZE), prev);' \
	'	*start = ALIGN_DOWN(hyp_memory[i].base, PAGE_SIZE) + 0 * prev;'
# Enhanced command queues: their control pages stay with the host.
mutant el2_ecmdq_pages_kept el2 "$SMMU_C" \
	'	return __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(start), size >> PAGE_SHIFT);' \
	'	return (start + size) & 0;'
mutant el2_ecmdq_refusal_forgotten el2 "$SMMU_C" \
	'	if (smmu_take_ecmdq_pages(smmu, mmio))
		smmu_note_unsafe_locked(mmio);' '	smmu_take_ecmdq_pages(smmu, mmio);'
# Only an SMMU refused for its queues gives them up.
mutant el2_ecmdq_taken_late el2 "$SMMU_C" \
	'	if (idr1 & HYP_SMMU_IDR1_ECMDQ)
		return -EOPNOTSUPP;' '	if (idr1 & HYP_SMMU_IDR1_ECMDQ) {
		smmu_take_ecmdq_pages(smmu, smmu->mmio_phys);
		return -EOPNOTSUPP;
	}' \
	'	/* Whatever refuses the SMMU next, its command queues are not the host'"'"'s. */
	if (smmu_take_ecmdq_pages(smmu, mmio))
		smmu_note_unsafe_locked(mmio);' ''
mutant el2_ecmdq_any_granule el2 "$SMMU_C" \
	'	if (log2nump > HYP_SMMU_ECMDQ_MAX_LOG2NUMP ||
	    FIELD_GET(HYP_SMMU_ECMDQ_PAGE_GS, page0) != HYP_SMMU_ECMDQ_PAGE_GS_64K)' \
	'	if (log2nump > HYP_SMMU_ECMDQ_MAX_LOG2NUMP)'
mutant el2_ecmdq_any_count el2 "$SMMU_C" \
	'	if (log2nump > HYP_SMMU_ECMDQ_MAX_LOG2NUMP ||' '	if ('
mutant el2_pmcg_page1_always el2 "$SMMU_C" \
	'	if (size1 && (readl_relaxed(base + HYP_PMCG_CFGR) & HYP_PMCG_CFGR_RELOC_CTRS) &&' \
	'	if (size1 &&'
mutant el2_deferred_lost_no_flush el2 "$IOMMU_C" \
	'	} else {
		hyp_iommu_flush_deferred_all();
	}' '	}'
mutant el2_deferred_batch_no_flush el2 "$IOMMU_C" \
	'		return;
	hyp_iommu_flush_deferred_all();' '		return;'
mutant el2_deferred_not_marked el2 "$IOMMU_C" \
	'		if (smmu && !hyp_smmu_defer_tlbi(smmu))' '		if (smmu && !smmu)'
mutant el2_deferred_mmio_too el2 "$IOMMU_C" \
	'			if (data->defer && !addr_is_memory(phys))' \
	'			if (0)'
mutant el2_deferred_ignored el2 "$IOMMU_C" \
	'	if (data.cleared && data.defer && hyp_iommu_mark_stale(domain)) {' \
	'	if (0 && hyp_iommu_mark_stale(domain)) {'
mutant el2_deferred_flush_nothing el2 "$SMMU_C" \
	'	ret = smmu_cmdq_issue_sync_locked(smmu, &cmd, 1);
	if (!ret)
		WRITE_ONCE(smmu->tlb_stale, false);' '	ret = cmd.data[0] ? 0 : 0;
	smmu->tlb_stale = false;'
mutant el2_deferred_stale_not_rechecked el2 "$SMMU_C" \
	'	if (!smmu->tlb_stale)
		goto unlock;' ''
mutant el2_fuzz_deferred_lost_no_flush fuzz "$IOMMU_C" \
	'	} else {
		hyp_iommu_flush_deferred_all();
	}' '	}'
mutant el2_stress_deferred_lost_no_flush el2deferredstress "$IOMMU_C" \
	'	} else {
		hyp_iommu_flush_deferred_all();
	}' '	}'
mutant el2_deferred_releases_retired el2 "$IOMMU_C" \
	'	if (!kvm_pte_valid(old))
		data->defer = false;' ''
# The per-table loops step whole pages from an unaligned start: a range
# shorter than a page (a nomap firmware table) never advances.
mutant el2_l3_slices_unaligned el2 "$IOMMU_C" \
	'	for ((ret) = 0, (addr) = ALIGN_DOWN(start, PAGE_SIZE);' \
	'	for ((ret) = 0, (addr) = (start);'
mutant el2_quarantine_retry_passes el2 "$SMMU_C" \
	'	if (ret)
		smmu_note_unsafe_locked(mmio);
unlock:' '	if (0)
		smmu_note_unsafe_locked(mmio);
unlock:'
mutant el2_quarantine_no_ecmdq el2 "$SMMU_C" \
	'	if (smmu_take_ecmdq_pages(&tmp, mmio))
		ret = -EIO;' ''
# PMCGs: still counting, their MSI armed, or page 1 left with the host.
mutant el2_pmcg_not_stopped el2 "$SMMU_C" \
	'	writel_relaxed(0, base + HYP_PMCG_CR);' ''
mutant el2_pmcg_msi_kept el2 "$SMMU_C" \
	'		writeq_relaxed(0, base + HYP_PMCG_IRQ_CFG0);' \
	'		readq_relaxed(base + HYP_PMCG_IRQ_CFG0);'
mutant el2_pmcg_page1_kept el2 "$SMMU_C" \
	'	    __pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(page1), size1 >> PAGE_SHIFT))' \
	'	    !page1)'
mutant el2_pmcg_no_ack_wait el2 "$SMMU_C" \
	'	ret = smmu_wait_until(!readl_relaxed(base + HYP_PMCG_IRQ_CTRLACK),
			      smmu_poll_deadline());' '	ret = 0;'
# Pages from the memcache keep what the host wrote in them.
mutant el2_zalloc_no_memset el2 "$IOMMU_C" "${ZALLOC_NO_MEMSET[@]}"
# Only the level-2 stream table is not zeroed: el2_l2_strtab_zeroed alone.
mutant el2_l2_strtab_not_zeroed el2 "$IOMMU_C" "${L2_STRTAB_NOT_ZEROED[@]}"
mutant el2_flush_no_tlbi el2 "$IOMMU_C" \
	'ret = hyp_smmu_tlbi_range(smmu, inv->tag, iova, size, tlbi_flags) ?: ret;' '(void)size;'
mutant el2_detach_no_vmid_tlbi el2 "$IOMMU_C" \
	'if (last == 1 && !hyp_smmu_tlbi_vmid(smmu, ref->tag)) {' 'if (last == 1) {'
mutant el2_attach_no_fresh_vmid_tlbi el2 "$IOMMU_C" \
	'ret = hyp_smmu_tlbi_vmid(smmu, ref->tag);' 'ret = 0;'
mutant el2_free_unbounded el2 "$IOMMU_C" \
	'#define HYP_IOMMU_FREE_BUDGET	(4 * PKVM_IOMMU_MAP_MAX_PAGES)' \
	'#define HYP_IOMMU_FREE_BUDGET	U64_MAX'
mutant el2_host_lost_no_fail_closed el2 "$IOMMU_C" "${HOST_LOST_NO_FAIL_CLOSED[@]}"
# A batch of donations (refill_memcache()) never invalidates the SMMUs.
mutant el2_lost_batch_no_flush el2 "$IOMMU_C" "${LOST_BATCH_NO_FLUSH[@]}"
# Donations inside a batch invalidate one by one, as without it.
mutant el2_lost_batch_ignored el2 "$IOMMU_C" \
	'		flags = HYP_IOMMU_NO_FLUSH;' '		flags = 0;'
# An unmap of scattered pages stops at the runs it can record (a flush per 16).
mutant el2_unmap_no_retire el2 "$IOMMU_C" \
	'		if (!data->free_tables && kvm_phys_to_pte(phys)) {' \
	'		if (0) {'
# Unmap leaves the leaf in place: the SMMUs are invalidated but walk it again.
mutant el2_unmap_no_pte_clear el2 "$IOMMU_C" \
	'	WRITE_ONCE(*ptep, pte);
	if (!data->cleared)' '	(void)pte;
	if (!data->cleared)'
# A retired leaf forgets its page: never given back.
mutant el2_retired_forgotten el2 "$IOMMU_C" \
	'			pte = kvm_phys_to_pte(phys);' '			pte = 0;'
# Retired leaves are cleared but their pages not given back.
mutant el2_retired_not_unshared el2 "$IOMMU_C" \
	'		__pkvm_host_unshare_dma(run->phys, run->size);' \
	'		(void)0;'
# Map takes an IOVA whose leaf a failed unmap retired (the stale entry shadows it).
mutant el2_map_over_retired el2 "$IOMMU_C" \
	'			if (READ_ONCE(ptep[i]))' \
	'			if (kvm_pte_valid(READ_ONCE(ptep[i])))'
# Map writes over whatever is in a table slice (no check at all).
mutant el2_map_unchecked el2 "$IOMMU_C" \
	'	ret = hyp_iommu_check_unmapped(domain, iova, iova + size);' \
	'	ret = hyp_iommu_check_unmapped(domain, iova, iova);'
# The fast path writes its leaves without the attributes kvm_pgtable chose.
mutant el2_map_leaves_no_attr el2 "$IOMMU_C" \
	'			smp_store_release(&ptep[i], kvm_phys_to_pte(pa) | attr);' \
	'			smp_store_release(&ptep[i], kvm_phys_to_pte(pa) | KVM_PTE_VALID);'
# The fast path maps the first page only of each table slice.
mutant el2_map_leaves_first_only el2 "$IOMMU_C" \
	'		for (i = 0; i < nr; i++, pa += PAGE_SIZE) {' \
	'		for (i = 0; i < 0; i++, pa += PAGE_SIZE) {'
# Unmap skips the rest of a table slice after its first leaf.
mutant el2_unmap_slice_first_only el2 "$IOMMU_C" \
	'			ret = hyp_iommu_unmap_leaf(data, &ptep[i], addr + (i << PAGE_SHIFT),
						   old, PAGE_SIZE);
			if (ret)
				return ret;' '			ret = hyp_iommu_unmap_leaf(data, &ptep[i], addr + (i << PAGE_SHIFT),
						   old, PAGE_SIZE);
			if (ret)
				return ret;
			break;'
# Release gives back one run of retired leaves as if contiguous across a gap.
mutant el2_release_runs_merged el2 "$IOMMU_C" \
	'			if (!run.size || run.phys + run.size != phys || run.memory != memory) {' \
	'			if (!run.size || run.memory != memory) {'
# A detach whose CFGI_STE failed forgets the domain's table in the STE: no retry.
mutant el2_clear_ste_forgets_on_failure el2 "$SMMU_C" \
	'	ret = smmu_cfgi_ste_locked(smmu, sid);
	if (ret)
		goto unlock;
	for (i = 1;' '	ret = smmu_cfgi_ste_locked(smmu, sid);
	for (i = 1;'
# A stream whose detach is not finished can be attached elsewhere.
mutant el2_install_over_pending_detach el2 "$SMMU_C" \
	'	if ((le64_to_cpu(ste->data[0]) & STRTAB_STE_0_V) || le64_to_cpu(ste->data[2]) ||
	    le64_to_cpu(ste->data[3]))' '	if (le64_to_cpu(ste->data[0]) & STRTAB_STE_0_V)'
# A range that holds the doorbell is taken whole, and readable.
mutant el2_doorbell_start_only el2 "$IOMMU_C" \
	'if (hyp_iommu_doorbells[i] - phys < size)' 'if (hyp_iommu_doorbells[i] == phys)'
# A peer's BAR is mapped as normal memory (cacheable, speculative reads).
mutant el2_mmio_mapped_normal el2 "$IOMMU_C" \
	'	if (!addr_is_memory(phys))
		kprot |= KVM_PGTABLE_PROT_DEVICE;' ''
# A protected VM's stage-2 changes do not reach the SMMUs that walk it.
mutant el2_pvm_no_smmu_flush el2 "$IOMMU_C" \
	'	domain = hyp_iommu_pvm_domain(mmu);
	if (domain &&' '	domain = NULL;
	if (domain &&'
# A block leaves the VM's stage-2, and only its first page the SMMUs' TLBs.
mutant el2_pvm_flush_first_page el2 "$IOMMU_C" \
	'	size = kvm_granule_size(level);' '	size = PAGE_SIZE;'
# The VM's changes invalidate level-3 leaves only: a cached block survives.
mutant el2_pvm_flush_leaf3 el2 "$IOMMU_C" \
	'if (domain && hyp_iommu_flush_rcu(domain, ipa, size, 0))' \
	'if (domain && hyp_iommu_flush_rcu(domain, ipa, size, HYP_SMMU_TLBI_LEAF3))'
# The teardown leaves the streams translating through the dead VM's table.
mutant el2_pvm_teardown_keeps_streams el2 "$IOMMU_C" \
	'	while (domain->nr_streams) {' '	while (0) {'
# A stream assigned to a VM that is not protected, or being torn down.
mutant el2_pvm_assign_any_vm el2 "$IOMMU_C" \
	'	if (!pkvm_hyp_vm_is_protected(vm) || vm->kvm.arch.pkvm.is_dying) {' '	if (0) {'
# An SMMU without S2FWB walks FWB-encoded leaves.
mutant el2_pvm_fwb_unchecked el2 "$IOMMU_C" \
	'	return !hyp_iommu_table_fwb(pgt) || (smmu->features & HYP_SMMU_FEAT_FWB);' \
	'	return true;'
# A peer's BAR unmapped from a domain stays borrowed for good: no device
# MMIO could ever go to a protected VM again.
mutant el2_mmio_unmap_keeps_borrow el2 "$IOMMU_C" \
	'	if (data->unshare && !hyp_iommu_range_has_doorbell(phys, size)) {' \
	'	if (data->unshare && addr_is_memory(phys)) {'
# An MSI doorbell given to a protected VM.
mutant el2_pvm_mmio_doorbell el2 "$IOMMU_C" \
	'	if (hyp_iommu_range_has_doorbell(phys, size))
		return -EPERM;
	vm = hyp_iommu_get_pvm(handle);' '	vm = hyp_iommu_get_pvm(handle);'
# Device MMIO mapped past the VM's IPA space.
mutant el2_pvm_mmio_past_ipa el2 "$IOMMU_C" \
	'	if (ipa + size > BIT_ULL(vm->pgt.ia_bits))' '	if (0)'
# A fault of a protected VM's device tells the host where it was.
mutant el2_pvm_event_address el2 "$SMMU_C" \
	'	if (smmu_event_private_locked(smmu, sid, smmu->evts_popped)) {' \
	'	if (smmu_event_private_locked(smmu, sid, smmu->evts_popped) && 0) {'
# A record written while the stream was the VM's, popped after the teardown.
mutant el2_pvm_event_public_early el2 "$SMMU_C" \
	'		p->until = smmu->evts_popped + ((prod - cons) & qmask);' \
	'		p->until = smmu->evts_popped + ((prod - cons) & qmask & 0);'
# PCI configuration space (nvhe/pci_cfg.c). A store that moves a BAR or
# renumbers a bridge lands.
mutant el2_pci_routing_not_frozen el2 "$PCI_C" \
	'	return ((val << shift) ^ old) & mask & frozen;' \
	'	return ((val << shift) ^ old) & mask & frozen & 0;'
# The host reprograms a function a protected VM holds.
mutant el2_pci_held_store el2 "$PCI_C" \
	'	if (fn && (fn->vm_handle || hyp_pci_port_guards_locked(fn)))
		return false;' \
	'	if (fn && hyp_pci_port_guards_locked(fn))
		return false;'
# A hot-added bridge is numbered at will.
mutant el2_pci_hotplug_bridge el2 "$PCI_C" \
	'	if (type == PCI_HEADER_TYPE_NORMAL)' '	if (type == PCI_HEADER_TYPE_NORMAL || 1)'
# The host's PC does not move past an emulated access: it traps for ever.
mutant el2_pci_pc_stays el2 "$PCI_C" \
	'	write_sysreg_el2(read_sysreg_el2(SYS_ELR) + ((esr & ESR_ELx_IL) ? 4 : 2), SYS_ELR);' ''
# A stream shared by two functions stays assignable.
mutant el2_pci_shared_stream el2 "$PCI_C" \
	'		other->unassignable = true;
		fn->unassignable = true;' ''
# A store to an alias of a held function (another function number) lands.
mutant el2_pci_alias_store el2 "$PCI_C" \
	'	if (hyp_pci_bus_held_locked(cfg_phys))' '	if (hyp_pci_bus_held_locked(cfg_phys) && 0)'
# ACS, ARI forwarding, Link Disable and the like change after registration.
mutant el2_pci_xfrozen_ignored el2 "$PCI_C" \
	'			if (fn->xfrozen[i].off == dw * 4 &&' '			if (0 &&'
# One of two claims in flight fails: the function is released under the other.
mutant el2_pci_claims_dropped el2 "$PCI_C" \
	'		else if (!fn->given && !fn->claims)' '		else if (!fn->given)'
# A switch with a BAR (its ports' registers outside configuration space).
mutant el2_pci_bridge_bar_window el2 "$PCI_C" \
	'		win->unassignable = true;' ''
# A root port's BAR (its MSI-X table) makes its window unassignable.
mutant el2_pci_root_port_bar el2 "$PCI_C" \
	'	    fn->pcie_type != PCI_EXP_TYPE_ROOT_PORT && win)' '	    win)'
# Of two overlapping BARs, the first function stays assignable.
mutant el2_pci_overlap_one_side el2 "$PCI_C" \
	'	if (other)
		other->unassignable = true;' ''
# A 16-bit T32 access: the PC skips half of the next instruction.
mutant el2_pci_il_ignored el2 "$PCI_C" \
	'((esr & ESR_ELx_IL) ? 4 : 2)' '4'
# A function whose stream translates for the host goes to a VM.
mutant el2_pci_claim_in_use el2 "$PCI_C" \
	'		if (pkvm_iommu_stream_in_use(fn->sids[0].smmu_idx, fn->sids[0].sid))' \
	'		if (0)'
# The host attaches the stream of a function a VM holds.
mutant el2_pci_attach_held el2 "$PCI_C" \
	'	if (fn && (fn->vm_handle || hyp_pci_reset_poll_locked(fn))) {' \
	'	if (fn && (0 || hyp_pci_reset_poll_locked(fn))) {'
# A capability list that never ends, without a PCI Express capability,
# leaves the function assignable.
mutant el2_pci_caps_fail_open el2 "$PCI_C" \
	'	if ((nr == HYP_PCI_MAX_CAPS && !exp) ||' '	if ((0 && !exp) ||'
# One that loops after the PCI Express capability makes it unassignable.
mutant el2_pci_caps_loop_exp_refused el2 "$PCI_C" \
	'	if ((nr == HYP_PCI_MAX_CAPS && !exp) ||' '	if (nr == HYP_PCI_MAX_CAPS ||'
# The stream goes before every BAR page is the VM's.
mutant el2_pci_stream_part_bar el2 "$PCI_C" \
	'	    fn->bar_bytes && fn->given == fn->bar_bytes)' '	    fn->bar_bytes && fn->given)'
# Two VMs hold one function.
mutant el2_pci_claim_other_vm el2 "$PCI_C" \
	'	if (fn->vm_handle && fn->vm_handle != handle)' '	if (0)'
# The VM takes the function as the host left it (an MSI, a DMA armed).
mutant el2_pci_assign_no_reset el2 "$PCI_C" \
	'		if (given && fn->given == fn->bar_bytes && hyp_pci_reset_start_locked(fn))' \
	'		if (0)'
# A reset that cannot start leaves the function assignable.
mutant el2_pci_reset_fail_ignored el2 "$PCI_C" \
	'		if (given && fn->given == fn->bar_bytes && hyp_pci_reset_start_locked(fn))
			fn->unassignable = true;' \
	'		if (given && fn->given == fn->bar_bytes)
			hyp_pci_reset_start_locked(fn);'
# The stream goes before the reset is over.
mutant el2_pci_stream_before_reset el2 "$PCI_C" \
	'		ret = hyp_pci_reset_poll_locked(fn) == -EAGAIN ? -EAGAIN : 0;' '		ret = 0;'
# A reset that did not happen (the BARs kept their addresses) is taken as done.
mutant el2_pci_reset_unverified el2 "$PCI_C" \
	'			if (ret)
				goto failed;' ''
# A function whose reset failed at release goes back to the host to drive.
mutant el2_pci_no_quarantine el2 "$PCI_C" \
	'	if (!fn->vm_handle)
		fn->vm_handle = HYP_PCI_QUARANTINE;' ''
# Nor one whose reset could not even start.
mutant el2_pci_release_fail_open el2 "$PCI_C" \
	'		if (!fn->reset_end && hyp_pci_reset_start_locked(fn))
			fn->vm_handle = HYP_PCI_QUARANTINE;' \
	'		if (!fn->reset_end)
			hyp_pci_reset_start_locked(fn);'
# The host attaches the stream while the teardown's reset runs.
mutant el2_pci_attach_during_reset el2 "$PCI_C" \
	'	if (fn && (fn->vm_handle || hyp_pci_reset_poll_locked(fn))) {' \
	'	if (fn && fn->vm_handle) {'
# Another VM claims a function while its release reset runs: a failed claim
# would hand a function whose reset failed back to the host.
mutant el2_pci_claim_during_reset el2 "$PCI_C" \
	'		if (hyp_pci_reset_poll_locked(fn))
			goto unlock;' ''
# The host stores to the root port above a held function (D3hot, a bus reset).
mutant el2_pci_port_unguarded el2 "$PCI_C" \
	'	if (fn && (fn->vm_handle || hyp_pci_port_guards_locked(fn)))' \
	'	if (fn && (fn->vm_handle || (hyp_pci_port_guards_locked(fn) && 0)))'
# A function still completing with Request Retry Status counts as ready.
mutant el2_pci_rrs_ready el2 "$PCI_C" \
	'	if (vendor == 0xffff || vendor == 0x0001)' '	if (vendor == 0xffff)'
# A function below a switch port goes to a VM: its siblings reach it peer-to-peer.
mutant el2_pci_switch_port_parent el2 "$PCI_C" \
	'		if (f->pcie_type != PCI_EXP_TYPE_ROOT_PORT)
			continue;' ''
# The host gets the function back with what the VM left in it.
mutant el2_pci_release_no_reset el2 "$PCI_C" \
	'		if (!fn->reset_end && hyp_pci_reset_start_locked(fn))
			fn->vm_handle = HYP_PCI_QUARANTINE;
	}' '	}'
# The function is used before its reset is over.
mutant el2_pci_reset_no_wait el2 "$PCI_C" \
	'	if (now < fn->reset_end)
		return -EAGAIN;' ''
# After the reset the BARs are not put back: the VM's MMIO decodes nothing.
mutant el2_pci_reset_no_restore el2 "$PCI_C" \
	'		writel(fn->hdr[i], fn->cfg + 4 * i);' ''
# The host reprograms a function while the hypervisor resets it.
mutant el2_pci_resetting_store_lands el2 "$PCI_C" \
	'	resetting = fn && hyp_pci_reset_poll_locked(fn) == -EAGAIN;' \
	'	resetting = fn && hyp_pci_reset_poll_locked(fn) == -EAGAIN && 0;'
# A function that shares its bus goes to a VM: a sibling the host drives
# could decode its MMIO, and a bus reset resets the sibling too.
mutant el2_pci_shared_bus el2 "$PCI_C" \
	'		if (f != fn && hyp_pci_find_window(f->cfg_phys) == win &&' \
	'		if (0 &&'
# A function with an FLR need not be alone below its bridge.
mutant el2_pci_flr_not_alone el2 "$PCI_C" \
	'	       hyp_pci_sole_bridge_locked(fn);' \
	'	       (fn->flr || hyp_pci_sole_bridge_locked(fn));'
# One VM holds any number of functions: its teardown pulses a bus reset for each.
mutant el2_pci_vm_fns_unbounded el2 "$PCI_C" \
	'		if (hyp_pci_vm_fns_locked(handle) >= HYP_PCI_MAX_VM_FNS)' \
	'		if (hyp_pci_vm_fns_locked(handle) > U8_MAX)'
# The bridge is never told to reset its bus.
mutant el2_pci_sbr_no_pulse el2 "$PCI_C" \
	'		writew(ctl | PCI_BRIDGE_CTL_BUS_RESET, reg);' '		writew(ctl, reg);'
# The stream of a device whose BAR is the host's goes to the VM.
mutant el2_pvm_stream_unchecked el2 "$IOMMU_C" \
	'	ret = pkvm_pci_stream_assignable(handle, smmu_idx, sid);' '	ret = 0;'
# MSIs of a protected VM's devices. The SMMUs walk the VM's table itself:
# no root above it, no doorbell.
mutant el2_pvm_msi_table_vm el2 "$IOMMU_C" \
	'	if (domain->msi_base && hyp_smmu_s2_compatible(smmu, domain->pgt.ia_bits))
		return &domain->pgt;' ''
# The MSI root leads to the doorbell only: no DMA reaches the VM's memory.
mutant el2_pvm_msi_root_no_vm_tables el2 "$IOMMU_C" \
	'	for (i = 0; i < base >> kvm_granule_shift(level); i++)' \
	'	for (i = 0; !base; i++)'
# The doorbell is mapped readable too.
mutant el2_pvm_msi_doorbell_readable el2 "$IOMMU_C" \
	'KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_DEVICE,
					     mc, 0);' \
	'KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_DEVICE,
					     mc, 0);'
# The MSI root's tables never go back with the domain.
mutant el2_pvm_msi_chain_leaked el2 "$IOMMU_C" \
	'	hyp_iommu_pvm_msi_free(domain, &hyp_iommu_mc);
	push_hyp_memcache(&hyp_iommu_mc, (phys_addr_t *)domain, hyp_virt_to_phys);' \
	'	push_hyp_memcache(&hyp_iommu_mc, (phys_addr_t *)domain, hyp_virt_to_phys);'
# The free follows the root's first entry: the VM's start table, not the doorbell's.
mutant el2_pvm_msi_free_wrong_entry el2 "$IOMMU_C" \
	'	idx = domain->msi_base >> kvm_granule_shift(level);' '	idx = 0;'
# The assignment does not tell nvhe/pci_cfg.c that the stream reaches the doorbells.
mutant el2_pvm_msi_base_untold el2 "$IOMMU_C" \
	'	if (!ret && hyp_iommu_table(domain, smmu) == &domain->pgt)
		pkvm_pci_stream_msi(handle, smmu_idx, sid);' ''
# An SMMU that cannot walk the MSI root's input size is given it all the same.
mutant el2_pvm_msi_root_too_wide el2 "$IOMMU_C" \
	'	if (domain->msi_base && hyp_smmu_s2_compatible(smmu, domain->pgt.ia_bits))' \
	'	if (domain->msi_base)'
# A stream whose SMMU walks the VM's table itself, not the MSI root, gets MSIs.
mutant el2_pvm_msi_told_without_root el2 "$IOMMU_C" \
	'	if (!ret && hyp_iommu_table(domain, smmu) == &domain->pgt)' '	if (!ret)'
# A deferred stage-2 change (the teardown's BARs) invalidates the SMMUs per
# page all the same; pkvm_iommu_s2_undefer() forgets the invalidation it owes;
# or issues one when none is owed.
mutant el2_pvm_defer_ignored el2 "$IOMMU_C" \
	'	if (defer->mmu == mmu) {' '	if (0) {'
mutant el2_pvm_undefer_forgets el2 "$IOMMU_C" \
	'		hyp_iommu_pvm_flush(mmu, 0, 0);
	defer->owed = false;' '	defer->owed = false;'
mutant el2_pvm_undefer_always el2 "$IOMMU_C" \
	'	if (defer->owed)
		hyp_iommu_pvm_flush(mmu, 0, 0);' '	hyp_iommu_pvm_flush(mmu, 0, 0);'
# The doorbells' leaves are left valid at creation: a device reaches every
# doorbell before the host routed an MSI of the VM's to it.
mutant el2_pvm_msi_leaves_not_cleared el2 "$IOMMU_C" \
	'		domain->msi_l3[i] = 0;' ''
# A route opens the doorbell of whichever VM's domain comes first, not the
# domain of the VM that holds the device.
mutant el2_pvm_msi_route_any_vm el2 "$IOMMU_C" \
	'		if (domain && domain->vm->kvm.arch.pkvm.handle == handle)' \
	'		if (domain)'
# The host turns MSIs on while the device's address is not a doorbell's.
mutant el2_pci_msi_enable_unchecked el2 "$PCI_C" \
	'		if (hyp_pci_msi_on_doorbell_locked(fn))' \
	'		if (hyp_pci_msi_on_doorbell_locked(fn) || 1)'
# Enable trusts that the device took the doorbell's address: no read back.
mutant el2_pci_msi_enable_no_readback el2 "$PCI_C" \
	'	return fn->msi_dev && hyp_pci_msi_layout_locked(fn) &&
	       hyp_pci_readl(cap + PCI_MSI_ADDRESS_LO) == lower_32_bits(fn->msi_dev) &&
	       hyp_pci_readl(cap + PCI_MSI_ADDRESS_HI) == upper_32_bits(fn->msi_dev);' \
	'	return fn->msi_dev && hyp_pci_msi_layout_locked(fn) && cap;'
# The layout is taken from registration: Message Control not read again.
mutant el2_pci_msi_layout_unchecked el2 "$PCI_C" \
	'	return flags != 0xffff && (flags & HYP_PCI_MSI_LAYOUT) == fn->msi_flags;' \
	'	return flags != 0xffff;'
# The route alone does not check the layout (Enable still does).
mutant el2_pci_msi_route_layout_unchecked el2 "$PCI_C" \
	'	if (!(fn->msi_flags & PCI_MSI_FLAGS_64BIT) || !hyp_pci_msi_layout_locked(fn))' \
	'	if (!(fn->msi_flags & PCI_MSI_FLAGS_64BIT))'
# A Message Control that reads all ones passes for the registered layout.
mutant el2_pci_msi_layout_ffff el2 "$PCI_C" \
	'	return flags != 0xffff && (flags & HYP_PCI_MSI_LAYOUT) == fn->msi_flags;' \
	'	return (flags & HYP_PCI_MSI_LAYOUT) == fn->msi_flags;'
# The host's address reaches the device untranslated (once it names a doorbell).
mutant el2_pci_msi_untranslated el2 "$PCI_C" \
	'	writel(lower_32_bits(addr), cap + PCI_MSI_ADDRESS_LO);
	writel(upper_32_bits(addr), cap + PCI_MSI_ADDRESS_HI);' \
	'	writel(lower_32_bits(fn->msi_addr), cap + PCI_MSI_ADDRESS_LO);
	writel(upper_32_bits(fn->msi_addr), cap + PCI_MSI_ADDRESS_HI);'
# An address that names no doorbell clears the device's doorbell address.
mutant el2_pci_msi_route_no_doorbell el2 "$PCI_C" \
	'	addr = pkvm_iommu_pvm_msi_route(fn->vm_handle, fn->msi_addr);
	if (!addr)
		return;' \
	'	addr = pkvm_iommu_pvm_msi_route(fn->vm_handle, fn->msi_addr);'
# A 32-bit-only MSI capability is routed: the high half lands on its data.
mutant el2_pci_msi_32bit_routed el2 "$PCI_C" \
	'	if (!(fn->msi_flags & PCI_MSI_FLAGS_64BIT) || !hyp_pci_msi_layout_locked(fn))' \
	'	if (!hyp_pci_msi_layout_locked(fn))'
# MSI stores land before the stream is the VM's.
mutant el2_pci_msi_before_stream el2 "$PCI_C" \
	'	if (!fn->msi_stream)
		return true;' ''
# A VM's stream outlives it: the next VM's function takes MSI stores at once.
mutant el2_pci_msi_not_cleared el2 "$PCI_C" \
	'	fn->msi_stream = false;
	fn->msi_addr = 0;' '	fn->msi_addr = 0;'
# Mask bits stored into a capability without per-vector masking: the
# capability's extent taken as the largest one's.
mutant el2_pci_msi_mask_unchecked el2 "$PCI_C" \
	'	    off < fn->msi_pos || rel >= fn->msi_size)' \
	'	    off < fn->msi_pos || rel >= PCI_MSI_PENDING_64 + 4)' \
	'	} else if ((fn->msi_flags & PCI_MSI_FLAGS_MASKBIT) &&' '	} else if ('
# The size of a capability with per-vector masking misses the mask and
# pending bits: its mask stores are dropped, and one at 0xf0 fits.
mutant el2_pci_msi_size_no_mask el2 "$PCI_C" \
	'		if (flags & PCI_MSI_FLAGS_MASKBIT)
			fn->msi_size += 10;' ''
# An MSI capability whose registers pass the end of the header gets MSIs.
mutant el2_pci_msi_cap_at_end el2 "$PCI_C" \
	'		if (flags == 0xffff || msi + fn->msi_size > PCI_CFG_SPACE_SIZE)' \
	'		if (flags == 0xffff)'
# An MSI capability whose Message Control reads all ones gets MSIs.
mutant el2_pci_msi_cap_ffff el2 "$PCI_C" \
	'		if (flags == 0xffff || msi + fn->msi_size > PCI_CFG_SPACE_SIZE)' \
	'		if (msi + fn->msi_size > PCI_CFG_SPACE_SIZE)'
# An MSI capability that overlaps another capability gets MSIs.
mutant el2_pci_msi_cap_overlap el2 "$PCI_C" \
	'			if (caps[i] > msi && caps[i] < msi + fn->msi_size)' \
	'			if (!caps[i])'
# An MSI capability in a capability list that loops gets MSIs.
mutant el2_pci_msi_cap_in_loop el2 "$PCI_C" \
	'	if (msi && nr < HYP_PCI_MAX_CAPS) {' '	if (msi) {'
# The MSI stores of a function the host drives are mediated (dropped).
mutant el2_pci_msi_host_fn_mediated el2 "$PCI_C" \
	'	if (!fn->vm_handle || fn->vm_handle == HYP_PCI_QUARANTINE || !fn->msi_pos ||' \
	'	if (fn->vm_handle == HYP_PCI_QUARANTINE || !fn->msi_pos ||'
# Registration misses the MSI capability: the VM's device never gets an MSI.
mutant el2_pci_msi_cap_missed el2 "$PCI_C" \
	'		if (id == PCI_CAP_ID_MSI && !msi)
			msi = pos;' ''
# Doorbells named for the stream of a function another VM holds.
mutant el2_pci_msi_stream_other_vm el2 "$PCI_C" \
	'	if (fn && fn->vm_handle == handle)
		fn->msi_stream = true;' \
	'	if (fn)
		fn->msi_stream = true;'
# Device assignment to protected VMs raced under TSan (el2/pvm_stress.c).
# The flush hook skips the SMMUs: an unmap leaves a live stale entry.
mutant el2pvmstress_no_smmu_flush el2pvmstress "$IOMMU_C" \
	'	domain = hyp_iommu_pvm_domain(mmu);
	if (domain &&' '	domain = NULL;
	if (domain &&'
# The VM's binding is published only after its first STE: a stage-2 change
# in between does not reach an SMMU that already translates.
mutant el2pvmstress_binding_after_ste el2pvmstress "$IOMMU_C" \
	'	/* Last: from here on the VM'"'"'s stage-2 changes reach the domain. */
	smp_store_release(&hyp_iommu_pvm_mmus[slot], mmu);' \
	'	WRITE_ONCE(hyp_iommu_pvm_mmus[slot], (void *)1);' \
	'		if (hyp_iommu_pvm_mmus[i] == mmu) {' \
	'		if (hyp_iommu_pvm_mmus[i] == mmu ||
		    (hyp_iommu_pvm_mmus[i] == (void *)1 && hyp_iommu_pvm_domains[i]->vm == vm)) {' \
	'		hyp_smmu_events_public(smmu, sid);
	}
	hyp_spin_unlock(&domain->lock);' \
	'		hyp_smmu_events_public(smmu, sid);
	}
	hyp_spin_unlock(&domain->lock);
	for (int _d = 0; _d < 4000000; _d++)
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	hyp_spin_lock(&hyp_iommu_lock);
	for (int _i = 0; _i < HYP_IOMMU_MAX_PVMS; _i++)
		if (hyp_iommu_pvm_domains[_i] == domain)
			smp_store_release(&hyp_iommu_pvm_mmus[_i], &vm->kvm.arch.mmu);
	hyp_spin_unlock(&hyp_iommu_lock);'
# A failed invalidation still gives the pages back.
mutant el2_unmap_error_unshares el2 "$IOMMU_C" "${UNMAP_ERROR_UNSHARES[@]}"
# A rejected command is acknowledged but not reported.
mutant el2_cmdq_error_not_reported el2 "$SMMU_C" \
	'	smmu_write(smmu, ARM_SMMU_CMDQ_PROD, smmu->cmdq_prod);
	return -EIO;' '	smmu_write(smmu, ARM_SMMU_CMDQ_PROD, smmu->cmdq_prod);
	return 0;'
# A CMD_SYNC that never completes is taken for done.
mutant el2_sync_timeout_ignored el2 "$SMMU_C" \
	'		if (ret)
			return ret;
		if (smmu_cmdq_cons(smmu) == prod)
			break;' '		if (ret || smmu_cmdq_cons(smmu) == prod)
			break;'
# The real hypercall bodies raced from four CPUs under TSan (el2/stress.c).
# Unmap invalidates nothing: its oracle sees the TLB entry of a live VMID.
mutant el2stress_flush_no_tlbi el2stress "$IOMMU_C" \
	'ret = hyp_smmu_tlbi_range(smmu, inv->tag, iova, size, tlbi_flags) ?: ret;' '(void)size;'
# Attach installs the STE before it publishes the array with the new SMMU:
# an unmap in between does not invalidate an SMMU that already translates.
mutant el2stress_attach_ste_before_publish el2stress "$IOMMU_C" \
	'		ret = hyp_smmu_tlbi_vmid(smmu, ref->tag);
		if (!ret)
			ret = hyp_iommu_invs_add_locked(domain, idx, ref->tag, mc);' \
	'		ret = hyp_smmu_tlbi_vmid(smmu, ref->tag);
		hyp_iommu_s2_cfg(domain, ref->tag, smmu, &cfg);
		if (!ret)
			ret = hyp_smmu_install_ste(smmu, sid, &cfg, hyp_iommu_zalloc_page, mc);
		if (!ret)
			ret = hyp_iommu_invs_add_locked(domain, idx, ref->tag, mc);
		if (!ret) {
			domain->nr_streams++;
			return 0;
		}'
# Detach drops the SMMU from the array before it clears the STE.
mutant el2stress_detach_unref_before_ste_clear el2stress "$IOMMU_C" \
	'	ret = hyp_smmu_clear_ste(smmu, sid, &cfg);' \
	'	if (ref->users == 1)
		hyp_iommu_invs_del_locked(domain, idx, ref->tag);
	ret = hyp_smmu_clear_ste(smmu, sid, &cfg);' \
	'	if (last == 1)
		hyp_iommu_invs_del_locked(domain, idx, ref->tag);
	/*' '	/*'
# The VMID freed without invalidation: seen at teardown only (a later attach
# that takes the VMID invalidates it anyway).
mutant el2stress_detach_no_vmid_tlbi el2stress "$IOMMU_C" \
	'if (last == 1 && !hyp_smmu_tlbi_vmid(smmu, ref->tag)) {' 'if (last == 1) {'
# A VMID with a previous user's translations (planted) used as it is.
mutant el2stress_attach_no_fresh_vmid_tlbi el2stress "$IOMMU_C" \
	'ret = hyp_smmu_tlbi_vmid(smmu, ref->tag);' 'ret = 0;'
# Unmap reads the array outside a grace period: a detach frees it meanwhile.
mutant el2stress_flush_no_read_lock el2stress "$IOMMU_C" \
	'	hyp_assert_lock_held(&domain->pgt_lock);
	hyp_iommu_read_lock();
	ret =' '	hyp_assert_lock_held(&domain->pgt_lock);
	ret ='
# The array published with a plain store: its entries race with the readers.
mutant el2stress_publish_not_release el2stress "$INVS_H" \
	'smp_store_release(slot, (struct smmu_invs __force __rcu *)invs);' \
	'WRITE_ONCE(*slot, (struct smmu_invs __force __rcu *)invs);'
# A CPU inside EL2 not marked as such: reclaim frees what it reads.
mutant el2stress_gp_enter_not_marked el2stress "$GP_H" \
	'(epoch << 1) | HYP_GP_IN_HYP);' '(epoch << 1));'
# A domain reference dropped without hyp_iommu_lock.
mutant el2stress_put_domain_unlocked el2stress "$IOMMU_C" \
	'	hyp_spin_lock(&hyp_iommu_lock);
	domain->refs--;
	hyp_spin_unlock(&hyp_iommu_lock);' '	domain->refs--;'
# Not here: the old array retired (and reclaimed at once) before the new one
# is published. Only a reader that enters EL2 and loads the pointer inside
# those few instructions, with no SMMU access in them to stretch, reads a
# freed array; 16000 operations never hit it.
#
# Not here: smmu_invs_deref_for_inv() without its smp_mb() (the store-
# buffering pair with attach). TSan ignores fences and runs each atomic
# through its runtime, so the PTE store never passes the array load; on x86
# the window is a store buffer's (five runs of 80000 operations missed it).
# model/invs_order.pml NO_UNMAP_MB covers it.

# The page-state shim against mem_protect.c (el2/transitions.c): the shim
# itself broken, as a harness that drifted from the kernel would be.
MEMORY_C=tools/testing/pkvm-smmu/el2/memory.c
mutant el2shim_donate_hyp_no_hyp_check el2shim "$MEMORY_C" \
	'	ret = hyp_check_range(phys, size, EL2_NOPAGE);
	if (ret)
		goto unlock;' ''
mutant el2shim_hyp_donate_host_ignores_refcount el2shim "$MEMORY_C" \
	'		if (el2_page(a)->refcount) {' '		if (0) {'
mutant el2shim_share_dma_count_saturates el2shim "$MEMORY_C" \
	'p->share_dma_count != U32_MAX' '1'
mutant el2shim_unshare_dma_no_warn el2shim "$MEMORY_C" \
	'if (WARN_ON(!p || p->host != EL2_SHARED_OWNED || !p->share_dma_count))' \
	'if (!p || p->host != EL2_SHARED_OWNED || !p->share_dma_count)'

# Not here: dropping the ATSCHK test from smmu_check_state(). The CR0 write
# waits for CR0ACK to equal what was written, so an SMMU that drops ATSCHK
# already fails there (el2_ats_checked); the read-back is a second line.

# The same code, fuzzed (el2/fuzz.c): the oracles must see each breakage
# from the seed corpus or within the bounded run.
mutant fuzz_flush_no_tlbi fuzz "$IOMMU_C" \
	'ret = hyp_smmu_tlbi_range(smmu, inv->tag, iova, size, tlbi_flags) ?: ret;' '(void)size;'
# Only the first page of an unmapped range is invalidated.
mutant fuzz_flush_first_page_only fuzz "$IOMMU_C" \
	'		ret = hyp_iommu_flush(domain, data.mapped_start,
				      data.mapped_end - data.mapped_start);' \
	'		ret = hyp_iommu_flush(domain, data.mapped_start, PAGE_SIZE);'
# Without range invalidation, the last page of a range is not invalidated.
mutant fuzz_tlbi_pages_short fuzz "$SMMU_C" \
	'	else if (pages && pages <= HYP_SMMU_TLBI_MAX_PAGES)
		n = pages;' '	else if (pages && pages <= HYP_SMMU_TLBI_MAX_PAGES)
		n = pages > 1 ? pages - 1 : 1;'
# A donated page stays mapped in the identity domain.
mutant fuzz_host_lost_no_unmap fuzz "$IOMMU_C" \
	'	hyp_spin_lock(&domain->pgt_lock);
	for (; addr < end; addr += done) {' '	if (size)
		return;
	hyp_spin_lock(&domain->pgt_lock);
	for (; addr < end; addr += done) {'
# A page back with the host is not mapped again.
mutant fuzz_host_gained_no_map fuzz "$IOMMU_C" \
	'	kvm_pgtable_stage2_map(&domain->pgt, addr, size, addr,
			       KVM_PGTABLE_PROT_R | KVM_PGTABLE_PROT_W, NULL, 0);' ''
# Map does not borrow the pages (no ownership check).
mutant fuzz_map_no_ownership_check fuzz "$IOMMU_C" \
	'	ret = doorbell ? 0 : __pkvm_host_share_dma(phys, size);' '	ret = 0;'
mutant fuzz_detach_no_vmid_tlbi fuzz "$IOMMU_C" \
	'if (last == 1 && !hyp_smmu_tlbi_vmid(smmu, ref->tag)) {' 'if (last == 1) {'
# The STE stays valid after detach.
mutant fuzz_clear_ste_keeps_valid fuzz "$SMMU_C" \
	'		WRITE_ONCE(ste->data[0], 0);
		smmu_sync_to_device(smmu, ste, sizeof(*ste));
	}' '	}'
# The SMMU's cached copy of an STE is not invalidated at attach, at detach.
mutant fuzz_install_ste_no_cfgi fuzz "$SMMU_C" \
	'	smmu_sync_to_device(smmu, ste, sizeof(*ste));
	ret = smmu_cfgi_ste_locked(smmu, sid);
unlock:' '	smmu_sync_to_device(smmu, ste, sizeof(*ste));
	ret = 0;
unlock:'
mutant fuzz_clear_ste_no_cfgi fuzz "$SMMU_C" \
	'	ret = smmu_cfgi_ste_locked(smmu, sid);
	if (ret)
		goto unlock;
	for (i = 1;' '	ret = 0;
	for (i = 1;'
# Pages from the memcache keep what the host wrote in them.
mutant fuzz_zalloc_no_memset fuzz "$IOMMU_C" "${ZALLOC_NO_MEMSET[@]}"
mutant fuzz_l2_strtab_not_zeroed fuzz "$IOMMU_C" "${L2_STRTAB_NOT_ZEROED[@]}"
# After a fault (in the fuzzer's child process):
mutant fuzz_unmap_error_unshares fuzz "$IOMMU_C" "${UNMAP_ERROR_UNSHARES[@]}"
mutant fuzz_host_lost_no_fail_closed fuzz "$IOMMU_C" "${HOST_LOST_NO_FAIL_CLOSED[@]}"
# A batch of donations (a top-up) never invalidates the SMMUs.
mutant fuzz_lost_batch_no_flush fuzz "$IOMMU_C" "${LOST_BATCH_NO_FLUSH[@]}"

wait
for ((i = 1; i <= nr; i++)); do
	if [ -s "$tmp/res.$i" ]; then
		cat "$tmp/res.$i"
	else
		echo "not ok $i - # no result (the mutant's run was lost)"
	fi
	grep -q '^ok ' "$tmp/res.$i" 2>/dev/null || failed=$((failed + 1))
done
echo "1..$nr"
echo "# $((nr - failed)) of $nr mutants caught"
[ "$failed" -eq 0 ]
