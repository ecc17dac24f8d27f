"""Statistics for comparing prompt variants honestly: is B really better than A?

Everything lives in :mod:`workbench.analysis.stats` (its docstring says which function answers
which question) and is re-exported here.
"""

from workbench.analysis.stats import (
    AgreementResult,
    McNemarResult,
    PairedBootstrapResult,
    WilcoxonResult,
    agreement,
    bootstrap_mean_interval,
    cohen_kappa,
    confusion_table,
    describe_latency,
    holm,
    mcnemar_exact,
    normal_quantile,
    paired_bootstrap,
    required_sample_size_means,
    required_sample_size_paired,
    wilcoxon_signed_rank,
    wilson_interval,
)

__all__ = [
    "AgreementResult",
    "McNemarResult",
    "PairedBootstrapResult",
    "WilcoxonResult",
    "agreement",
    "bootstrap_mean_interval",
    "cohen_kappa",
    "confusion_table",
    "describe_latency",
    "holm",
    "mcnemar_exact",
    "normal_quantile",
    "paired_bootstrap",
    "required_sample_size_means",
    "required_sample_size_paired",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
