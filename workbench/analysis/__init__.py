"""Statistics for comparing prompt variants honestly: is B really better than A?

:mod:`workbench.analysis.stats` says which function answers which question; intervals, paired
tests and agreement live in their own modules and are re-exported here.
"""

from workbench.analysis.compare import Comparison
from workbench.analysis.intervals import (
    bootstrap_mean_interval,
    describe_latency,
    normal_quantile,
    wilson_interval,
)
from workbench.analysis.multiplicity import HolmStep, holm_steps
from workbench.analysis.paired import (
    McNemarResult,
    PairedBootstrapResult,
    WilcoxonResult,
    holm,
    mcnemar_exact,
    paired_bootstrap,
    wilcoxon_signed_rank,
)
from workbench.analysis.permutation import SignFlip, sign_flip
from workbench.analysis.proportions import (
    PairedInterval,
    TangoResult,
    clopper_pearson,
    mcnemar_interval,
    tango_interval,
    tango_test,
)
from workbench.analysis.stats import (
    AgreementResult,
    agreement,
    cohen_kappa,
    confusion_table,
    required_sample_size_means,
    required_sample_size_paired,
)
from workbench.analysis.verdict import ScorerVerdict, Verdict

__all__ = [
    "AgreementResult",
    "Comparison",
    "HolmStep",
    "McNemarResult",
    "PairedBootstrapResult",
    "PairedInterval",
    "ScorerVerdict",
    "SignFlip",
    "TangoResult",
    "Verdict",
    "WilcoxonResult",
    "agreement",
    "bootstrap_mean_interval",
    "clopper_pearson",
    "cohen_kappa",
    "confusion_table",
    "describe_latency",
    "holm",
    "holm_steps",
    "mcnemar_exact",
    "mcnemar_interval",
    "normal_quantile",
    "paired_bootstrap",
    "required_sample_size_means",
    "required_sample_size_paired",
    "sign_flip",
    "tango_interval",
    "tango_test",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
