"""The sample corpus (``corpus.toml``) and its loader."""
