"""Statistics for comparing prompt variants honestly: is B really better than A?

:mod:`workbench.analysis.stats` says which function answers which question; intervals, paired
tests and agreement live in their own modules and are re-exported here.
"""

from workbench.analysis.intervals import (
    bootstrap_mean_interval,
    describe_latency,
    normal_quantile,
    wilson_interval,
)
from workbench.analysis.paired import (
    McNemarResult,
    PairedBootstrapResult,
    WilcoxonResult,
    holm,
    mcnemar_exact,
    paired_bootstrap,
    wilcoxon_signed_rank,
)
from workbench.analysis.stats import (
    AgreementResult,
    agreement,
    cohen_kappa,
    confusion_table,
    required_sample_size_means,
    required_sample_size_paired,
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
