"""The one exception type for problems a user can fix.

The CLI prints a ``UserError`` as a single ``error: ...`` line (no traceback) and
exits with status 2; so does an ``OSError`` (a full disk, a read-only folder: see
``intergan.files``); anything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input, a missing file, a mismatched checkpoint: the message says the fix."""
