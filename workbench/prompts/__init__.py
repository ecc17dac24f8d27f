"""Prompt variants: messages as sandboxed Jinja2 templates, a model id and parameters."""

from workbench.prompts.render import Message, render_template, template_variables
from workbench.prompts.variant import Variant

__all__ = ["Message", "Variant", "render_template", "template_variables"]
