"""The errors whose message says all a person needs: a job ends with that message alone."""


class ExpectedError(Exception):
    """A problem the message fully explains (file, value, fix): logged without a traceback.

    Each module's own error subclasses it beside the built-in error it is (an OSError, a
    ValueError), so the logging set-up needs to know no module above it.
    """
