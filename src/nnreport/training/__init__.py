"""The training layer: one job runner, the loops, schedules, history, the from-scratch back-end."""
