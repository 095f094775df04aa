"""The base layer: errors, atomic file writes, logging, TeX escaping, damaged-file checks."""
