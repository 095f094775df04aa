"""The reporting layer: figures, tables, labels, the report's context, the LaTeX build."""
