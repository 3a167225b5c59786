"""The immutable model: a validated rulebook and one assessment's evidence, as frozen data."""
