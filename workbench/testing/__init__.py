"""Test helpers for workbench (fake LLM API server: see ``workbench.testing.mockserver``).

Nothing is imported here on purpose, so ``python -m workbench.testing.mockserver`` runs cleanly.
"""
