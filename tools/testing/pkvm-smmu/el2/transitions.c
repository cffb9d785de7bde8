// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page-state shim (el2/memory.c) against mem_protect.c: from every
 * starting state of a page (host state, hyp state, host_share_guest_count,
 * hyp refcount), each ownership call the IOMMU code makes must be accepted
 * exactly when arch/arm64/kvm/hyp/nvhe/mem_protect.c (the kernel tree, with
 * the project's patches) accepts it, return the same errno and leave the
 * same state. The expected behaviour is written down below from a reading
 * of mem_protect.c, one rule list per function; the shim is driven through
 * every starting state, including ones the real code never reaches (the
 * checks look at one field at a time, so their answer is defined anyway).
 *
 * Not modelled by the shim, so not here: the hyp's SHARED_BORROWED and the
 * host's SHARED_BORROWED states (pages shared between host and hyp), guest
 * ownership, and the host stage-2 page table itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <asm/kvm_hyp.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>

#include "el2.h"
#include "../tap.h"

enum tr_op { DONATE_HYP, HYP_DONATE_HOST, SHARE_DMA, UNSHARE_DMA, NR_TR_OPS };

static const char *const tr_op_names[NR_TR_OPS] = {
	"__pkvm_host_donate_hyp", "__pkvm_hyp_donate_host",
	"__pkvm_host_share_dma", "__pkvm_host_unshare_dma",
};

/* Starting states: each field's values, as bit masks for the rules. */
static const enum el2_state tr_states[] = { EL2_OWNED, EL2_SHARED_OWNED, EL2_NOPAGE };
static const u32 tr_counts[] = { 0, 1, 2, U32_MAX };
static const u32 tr_refcounts[] = { 0, 1 };

#define S(x)		BIT(EL2_##x)
#define S_ANY		(S(OWNED) | S(SHARED_OWNED) | S(NOPAGE))
#define C0		BIT(0)
#define C1		BIT(1)
#define C2		BIT(2)
#define CMAX		BIT(3)
#define C_ANY		(C0 | C1 | C2 | CMAX)
#define R0		BIT(0)
#define R1		BIT(1)
#define R_ANY		(R0 | R1)
/* The call hits a WARN_ON: fatal at EL2 (hyp_panic), an abort here. */
#define TR_WARN		1
#define KEEP		-1

struct tr_rule {
	enum tr_op	op;
	u8		host, hyp, count, ref;	/* starting states it covers */
	int		ret;			/* 0, -errno or TR_WARN */
	int		host_to, hyp_to;	/* KEEP, or the new state */
	int		count_delta;
};

/* The first rule that covers a starting state says what happens. */
static const struct tr_rule tr_rules[] = {
	/*
	 * __pkvm_host_donate_hyp(): __host_check_page_state_range(...,
	 * PKVM_PAGE_OWNED), then __hyp_check_page_state_range(...,
	 * PKVM_NOPAGE), each -EPERM; then __hyp_set_page_state_range(...,
	 * PKVM_PAGE_OWNED) and host_stage2_set_owner_locked(..., PKVM_ID_HYP),
	 * whose host_stage2_set_owner_metadata_locked() makes the host's state
	 * PKVM_NOPAGE. host_share_guest_count and refcount are not looked at.
	 */
	{ DONATE_HYP, S_ANY & ~S(OWNED), S_ANY, C_ANY, R_ANY, -EPERM, KEEP, KEEP, 0 },
	{ DONATE_HYP, S(OWNED), S_ANY & ~S(NOPAGE), C_ANY, R_ANY, -EPERM, KEEP, KEEP, 0 },
	{ DONATE_HYP, S(OWNED), S(NOPAGE), C_ANY, R_ANY, 0, EL2_NOPAGE, EL2_OWNED, 0 },
	/*
	 * __pkvm_hyp_donate_host(): __hyp_check_page_state_range(...,
	 * PKVM_PAGE_OWNED), then __host_check_page_state_range(...,
	 * PKVM_NOPAGE), each -EPERM, then __hyp_check_page_count_range()
	 * (-EBUSY for a page with a refcount); then __hyp_set_page_state_range(
	 * ..., PKVM_NOPAGE) and host_stage2_set_owner_locked(..., PKVM_ID_HOST),
	 * which makes the host's state PKVM_PAGE_OWNED.
	 */
	{ HYP_DONATE_HOST, S_ANY, S_ANY & ~S(OWNED), C_ANY, R_ANY, -EPERM, KEEP, KEEP, 0 },
	{ HYP_DONATE_HOST, S_ANY & ~S(NOPAGE), S(OWNED), C_ANY, R_ANY, -EPERM, KEEP, KEEP, 0 },
	{ HYP_DONATE_HOST, S(NOPAGE), S(OWNED), C_ANY, R1, -EBUSY, KEEP, KEEP, 0 },
	{ HYP_DONATE_HOST, S(NOPAGE), S(OWNED), C_ANY, R0, 0, EL2_OWNED, EL2_NOPAGE, 0 },
	/*
	 * __pkvm_host_share_dma(): the host's state is PKVM_PAGE_OWNED, or
	 * PKVM_PAGE_SHARED_OWNED with a host_share_guest_count that is neither
	 * 0 (shared with the hypervisor) nor U32_MAX; anything else -EPERM. The
	 * hyp state is not looked at. Then PKVM_PAGE_SHARED_OWNED, count + 1.
	 */
	{ SHARE_DMA, S(OWNED), S_ANY, C_ANY, R_ANY, 0, EL2_SHARED_OWNED, KEEP, 1 },
	{ SHARE_DMA, S(SHARED_OWNED), S_ANY, C1 | C2, R_ANY, 0, EL2_SHARED_OWNED, KEEP, 1 },
	{ SHARE_DMA, S_ANY, S_ANY, C_ANY, R_ANY, -EPERM, KEEP, KEEP, 0 },
	/*
	 * __pkvm_host_unshare_dma(): WARN_ON() unless the host's state is
	 * PKVM_PAGE_SHARED_OWNED with a host_share_guest_count; then count - 1,
	 * and PKVM_PAGE_OWNED again when it reaches 0.
	 */
	{ UNSHARE_DMA, S_ANY & ~S(SHARED_OWNED), S_ANY, C_ANY, R_ANY, TR_WARN, KEEP, KEEP, 0 },
	{ UNSHARE_DMA, S(SHARED_OWNED), S_ANY, C0, R_ANY, TR_WARN, KEEP, KEEP, 0 },
	{ UNSHARE_DMA, S(SHARED_OWNED), S_ANY, C1, R_ANY, 0, EL2_OWNED, KEEP, -1 },
	{ UNSHARE_DMA, S(SHARED_OWNED), S_ANY, C2 | CMAX, R_ANY, 0, KEEP, KEEP, -1 },
};

/* The page under test, and its neighbour for the range checks. */
#define TR_PAGE		(EL2_MEM_BASE + 64 * PAGE_SIZE)
#define TR_NEXT		(TR_PAGE + PAGE_SIZE)

static int tr_call(enum tr_op op, phys_addr_t phys, u64 nr_pages)
{
	switch (op) {
	case DONATE_HYP:
		return __pkvm_host_donate_hyp(hyp_phys_to_pfn(phys), nr_pages);
	case HYP_DONATE_HOST:
		return __pkvm_hyp_donate_host(hyp_phys_to_pfn(phys), nr_pages);
	case SHARE_DMA:
		return __pkvm_host_share_dma(phys, nr_pages * PAGE_SIZE);
	case UNSHARE_DMA:
		__pkvm_host_unshare_dma(phys, nr_pages * PAGE_SIZE);
		return 0;
	default:
		abort();
	}
}

/* Does the call WARN (abort), in a child process? */
static bool tr_warns(enum tr_op op, const struct el2_page *start)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (!pid) {
		/* The shim's WARN report is expected here. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		*el2_page(TR_PAGE) = *start;
		tr_call(op, TR_PAGE, 1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static const struct tr_rule *tr_rule(enum tr_op op, unsigned int h, unsigned int y,
				     unsigned int c, unsigned int r)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tr_rules); i++) {
		const struct tr_rule *rule = &tr_rules[i];

		if (rule->op == op && (rule->host & BIT(tr_states[h])) &&
		    (rule->hyp & BIT(tr_states[y])) && (rule->count & BIT(c)) &&
		    (rule->ref & BIT(r)))
			return rule;
	}
	return NULL;
}

static void tr_state_str(char *buf, size_t len, const struct el2_page *p)
{
	static const char *const names[] = { "OWNED", "SHARED_OWNED", "NOPAGE" };

	snprintf(buf, len, "host %s hyp %s count %u refcount %u", names[p->host],
		 names[p->hyp], p->share_dma_count, p->refcount);
}

/* Every starting state of one page through @op. */
static void tr_check_op(enum tr_op op)
{
	const unsigned int nr_states = ARRAY_SIZE(tr_states) * ARRAY_SIZE(tr_states) *
				       ARRAY_SIZE(tr_counts) * ARRAY_SIZE(tr_refcounts);
	unsigned int i, h, y, c, r, nr = 0;
	struct el2_page start, want, got;
	const struct tr_rule *rule;
	char s1[96], s2[96], s3[96];
	int ret;

	for (i = 0; i < nr_states; i++) {
		r = i % ARRAY_SIZE(tr_refcounts);
		c = i / ARRAY_SIZE(tr_refcounts) % ARRAY_SIZE(tr_counts);
		y = i / ARRAY_SIZE(tr_refcounts) / ARRAY_SIZE(tr_counts) %
		    ARRAY_SIZE(tr_states);
		h = i / ARRAY_SIZE(tr_refcounts) / ARRAY_SIZE(tr_counts) /
		    ARRAY_SIZE(tr_states);
		start = (struct el2_page){
			.host = tr_states[h], .hyp = tr_states[y],
			.share_dma_count = tr_counts[c], .refcount = tr_refcounts[r],
		};
		rule = tr_rule(op, h, y, c, r);
		CHECK(rule);
		if (!rule)
			continue;
		nr++;
		tr_state_str(s1, sizeof(s1), &start);
		if (rule->ret == TR_WARN) {
			if (!tr_warns(op, &start)) {
				printf("# %s from %s: no WARN, mem_protect.c WARNs\n",
				       tr_op_names[op], s1);
				tap_cur_failed = 1;
			}
			continue;
		}
		want = start;
		if (!rule->ret) {
			if (rule->host_to != KEEP)
				want.host = rule->host_to;
			if (rule->hyp_to != KEEP)
				want.hyp = rule->hyp_to;
			want.share_dma_count += rule->count_delta;
		}
		*el2_page(TR_PAGE) = start;
		ret = tr_call(op, TR_PAGE, 1);
		got = *el2_page(TR_PAGE);
		if (ret != rule->ret || memcmp(&got, &want, sizeof(got))) {
			tr_state_str(s2, sizeof(s2), &want);
			tr_state_str(s3, sizeof(s3), &got);
			printf("# %s from %s: mem_protect.c gives %d, %s; the shim %d, %s\n",
			       tr_op_names[op], s1, rule->ret, s2, ret, s3);
			tap_cur_failed = 1;
		}
	}
	CHECK_EQ(nr, nr_states);
	*el2_page(TR_PAGE) = (struct el2_page){ .host = EL2_OWNED, .hyp = EL2_NOPAGE };
}

static void test_donate_hyp(void)
{
	tr_check_op(DONATE_HYP);
}

static void test_hyp_donate_host(void)
{
	tr_check_op(HYP_DONATE_HOST);
}

static void test_share_dma(void)
{
	tr_check_op(SHARE_DMA);
}

static void test_unshare_dma(void)
{
	tr_check_op(UNSHARE_DMA);
}

/*
 * Ranges: a refusal for any page leaves every page as it was (each function
 * checks the whole range before it changes anything); and the argument
 * checks before the states: pfn_range_is_valid() (-EINVAL), and
 * check_range_allowed_memory() through __host_check_page_state_range() or
 * directly (share_dma): -EPERM for MMIO, -EINVAL for a range that leaves
 * memory.
 */
static void test_ranges(void)
{
	const struct el2_page host = { .host = EL2_OWNED, .hyp = EL2_NOPAGE };
	const struct el2_page hyp = { .host = EL2_NOPAGE, .hyp = EL2_OWNED };
	const struct el2_page shared_hyp = { .host = EL2_SHARED_OWNED, .hyp = EL2_NOPAGE };
	const struct el2_page busy = { .host = EL2_NOPAGE, .hyp = EL2_OWNED, .refcount = 1 };
	phys_addr_t last = EL2_MEM_BASE + EL2_MEM_SIZE - PAGE_SIZE;
	struct {
		enum tr_op op;
		struct el2_page first, second;
		int ret;
	} cases[] = {
		{ DONATE_HYP, host, hyp, -EPERM },
		{ HYP_DONATE_HOST, hyp, host, -EPERM },
		{ HYP_DONATE_HOST, hyp, busy, -EBUSY },
		{ SHARE_DMA, host, shared_hyp, -EPERM },
		{ SHARE_DMA, host, hyp, -EPERM },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		*el2_page(TR_PAGE) = cases[i].first;
		*el2_page(TR_NEXT) = cases[i].second;
		CHECK_EQ(tr_call(cases[i].op, TR_PAGE, 2), cases[i].ret);
		CHECK(!memcmp(el2_page(TR_PAGE), &cases[i].first, sizeof(cases[i].first)));
		CHECK(!memcmp(el2_page(TR_NEXT), &cases[i].second,
			      sizeof(cases[i].second)));
	}
	*el2_page(TR_PAGE) = host;
	*el2_page(TR_NEXT) = host;

	/* Beyond the 48-bit PA range, and wrapping. */
	CHECK_EQ(__pkvm_host_donate_hyp(BIT_ULL(48 - PAGE_SHIFT), 1), -EINVAL);
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(TR_PAGE), -1ULL), -EINVAL);
	CHECK_EQ(__pkvm_hyp_donate_host(BIT_ULL(48 - PAGE_SHIFT), 1), -EINVAL);
	/* MMIO: not memory; a range across the end of memory. */
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(0x09000000), 1), -EPERM);
	CHECK_EQ(__pkvm_host_share_dma(last, 2 * PAGE_SIZE), -EINVAL);
	/*
	 * Host MMIO (a peer's BAR): shareable once pKVM has finalised, in one
	 * MMIO range, never a frame the hypervisor took (mem_protect.c:
	 * host_check_shareable_mmio_locked()).
	 */
	kvm_protected_mode_initialized.enabled = false;
	CHECK_EQ(__pkvm_host_share_dma(0x09000000, PAGE_SIZE), -EPERM);
	kvm_protected_mode_initialized.enabled = true;
	CHECK_EQ(__pkvm_host_share_dma(0x09000000, PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_host_share_dma(0x09000000, PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_host_share_dma(EL2_MEM_BASE - PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	CHECK_EQ(__pkvm_host_share_dma(last + PAGE_SIZE, PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_host_share_dma(BIT_ULL(EL2_PA_BITS) - PAGE_SIZE, 2 * PAGE_SIZE),
		 -ERANGE);
	CHECK_EQ(__pkvm_host_donate_hyp_mmio(hyp_phys_to_pfn(0x09010000), 1), 0);
	CHECK_EQ(__pkvm_host_share_dma(0x09000000, 32 * PAGE_SIZE), -EPERM);
	CHECK_EQ(__pkvm_host_share_dma(0x09010000, PAGE_SIZE), -EPERM);
	CHECK_EQ(__pkvm_host_share_dma(0x09011000, PAGE_SIZE), 0);
	CHECK_EQ(__pkvm_host_donate_hyp(hyp_phys_to_pfn(last), 2), -EINVAL);
	CHECK(!memcmp(el2_page(last), &host, sizeof(host)));
}

int main(void)
{
	el2_init(1);
	el2_set_cpu(0);
	tap_plan(5);
	tap_run("el2_shim_transitions_donate_hyp", test_donate_hyp);
	tap_run("el2_shim_transitions_hyp_donate_host", test_hyp_donate_host);
	tap_run("el2_shim_transitions_share_dma", test_share_dma);
	tap_run("el2_shim_transitions_unshare_dma", test_unshare_dma);
	tap_run("el2_shim_transitions_ranges", test_ranges);
	return tap_exit();
}
