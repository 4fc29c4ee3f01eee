// What each analysis command computes and writes, beside the analysis that owns the files: the commands'
// help text quotes these, and the CSV columns come from the tables' header constants, so each schema is
// written once.

extension SymmetryStudy {
    /// The command's method and files, for its help text.
    public static let outputs = """
        For each pair and η, one step on u and one on v from the same θ, each probed on the other. Token level: \
        pairs of token examples (--pair ID:POS,ID:POS, or --pairs N drawn with --seed from the tokens --select picks); \
        sequence level: pairs of examples (--pair ID,ID or drawn), update and probe both ℓ̄ (Eq. 10's SFT step). \
        Writes OUT (every point: \(pointsHeader.joined(separator: ","))), OUT.slopes.csv (\
        \(slopesHeader.joined(separator: ",")): log-log slopes of |Δ| and of a = |Δ_vu − Δ_uv| vs η, pooled over pairs \
        with one intercept per pair, and per pair) and OUT.meta.json, and prints a verdict per optimizer. Points enter \
        the fits when above the round-off floor c·ε·(|f_u| + |f_v| + 1) (--floor-factor c) and when both changes are \
        within --max-relative-residual of their first-order predictions.
        """
}

extension ProbeKernel {
    /// The command's method and files, for its help text.
    public static let outputs = """
        Writes OUT (safetensors: per pair i ≤ j 'pairs', 'trace', 'influence', 'tensor_trace', with --blocks 'blocks' [P, V, V]; \
        for a whole run also 'trace_kernel' and 'influence_matrix' [N, N]), OUT.csv (\(pairHeader.joined(separator: ","))), \
        OUT.tensors.csv (\(tensorHeader.joined(separator: ","))) and OUT.meta.json with the per-layer plan. --shard k/n computes the k-th of n slices of \
        the pairs; 'analyze kernel-merge' assembles the shards into the file one run writes.
        """
}

extension KernelDriftComparison {
    /// The command's method and files, for its help text.
    public static let outputs = """
        For each checkpoint the probe kernel is computed (or read with --kernel, e.g. merged shards); then one CSV row per \
        checkpoint pair (a, b): trace_distance and full_distance (1 − ⟨K_a, K_b⟩_F / (‖K_a‖_F ‖K_b‖_F) for the N × N trace kernel \
        and the (N·V) × (N·V) kernel), influence_spearman (rank correlation of the off-diagonal influences I_ij = A K G), and each \
        side's effective rank. OUT.spectrum.csv lists every eigenvalue of each trace kernel (LAPACKE dsyevd), largest first.
        """
}

extension InfluenceMatrix {
    /// The command's method and files, for its help text.
    public static let outputs = """
        I_ij = η·⟨∇θ log π(X_i), ∇θ ℓ̄(X_j)⟩: the probe's sequence log-probability summed over its scored tokens, the \
        update Eq. 10's SFT step on one training example (weight 1/|o_j|); one gemm of probe gradients by train \
        gradients, no Jacobian. --measure also takes each step for real and re-evaluates every probe. Writes OUT \
        (long format: \(header(measured: false).joined(separator: ","))[,measured]), OUT.tasks.csv (\
        \(tasksHeader.joined(separator: ",")) of I per task pair, tasks from the examples' task field or "unknown"; a probe that is the training \
        example itself is left out of the summary) and OUT.meta.json.
        """
}

extension OneStepDecomposition {
    /// The command's method and files, for its help text.
    public static let outputs = """
        Writes OUT (one row per pair and η: \(changesHeader.joined(separator: ","))), \
        OUT.shares.csv (\(sharesHeader.joined(separator: ",")): each parameter tensor's part of the prediction per unit η; shares sum to 1) \
        and OUT.meta.json. Token level: --u/--v are ID:POSITION and the step is SGD ascent on log π(x_u). Sequence level: \
        --u/--v are example ids, the step is Eq. 10's SFT step on X_u (weight 1/|o_u|) and the probe is log π(X_v) summed \
        over its scored tokens. With --advantages (CSV id,advantage) the update is GRPO-weighted: token t of x_u carries \
        c_t = Â + β(π_ref/π_θ − 1) (--beta, --reference CKPT; without a reference c_t = Â). --u and --v may be repeated \
        (paired in order; a single one pairs with all of the other). The summary fits log|residual| vs log η (≈ 2) on \
        the points above the round-off floor and in the first-order regime (relative error ≤ 0.1).
        """
}

extension PerplexityReport {
    /// The command's method and files, for its help text.
    public static let outputs = """
        For each of the first Q questions of --data (both prompt styles are built from each example with the world's templates), all \
        scored by the base model: K rollouts of the base and K of the policy on the reasoning prompt, K rollouts of the base on the plain \
        prompt, and the ground-truth answer on the plain prompt. Writes OUT (one row per response: \
        \(ScoredResponse.header.joined(separator: ","))), OUT.gaps.csv (per question: Q1 and median PPLs, \
        g_R, g_GT, and the ground truth's percentile rank among the base plain-prompt rollouts), OUT.summary.csv (n, mean, sd, 5/25/50/75/95 % \
        quantiles of each distribution; quantiles of type 7), OUT.histogram.csv (shared bins for g_R and g_GT, and for the four PPLs), \
        OUT.test.csv (one-sided Wilcoxon signed-rank test of g_R < g_GT paired by question: exact for n ≤ 50 without ties or zero \
        differences, else normal approximation with tie and continuity corrections, as R's wilcox.test; the median of g_GT − g_R with a \
        seeded percentile-bootstrap 95 % interval) and OUT.meta.json. Sample k of source S for question ID draws from the stream \
        'perplexity.S.ID.k'; the bytes do not depend on --threads.
        """
}
