"""Moved to :mod:`intergan.models.pretrained` (evaluation and export resolve bundled
names too, without importing the editor). This name stays an alias of that module,
so ``from intergan.editing.pretrained import resolve_model`` and monkeypatching
either name keep working."""

import sys

from intergan.models import pretrained as _pretrained

sys.modules[__name__] = _pretrained
