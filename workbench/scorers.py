"""Public scorer API (``wb.scorers``): every built-in scorer, reducers over repeats, ``custom``,
and the ``scorer`` decorator. The names are those of :mod:`workbench.scoring`."""

from workbench.scoring import *  # noqa: F403
from workbench.scoring import __all__ as __all__
