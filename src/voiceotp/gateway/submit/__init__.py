"""The Submit pipeline: decode -> rules (directory, limits, abuse) -> store.accept."""
