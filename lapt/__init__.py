"""lapt: neural architecture search by design-principle transfer with LLM agents."""

__version__ = "0.1.0"
