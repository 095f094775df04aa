"""The evaluation layer: statistics of metrics, confusion matrices, selection, prediction."""
