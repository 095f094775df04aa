"""The studies layer: what is specific to a Table I study and to a model study.

`kinds` (read when the workflow is parsed) says what each kind builds: its template, tables,
figures and the inputs of its report and confusion matrix. `experiments` and `models` turn a
kind's results into the report's context; `report` dispatches on the kind.
"""
