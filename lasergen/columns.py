"""Columnar tables: a dataclass of equal-length numpy arrays, one per named column.

Toolpaths and exposure ledgers hold 10^5..10^7 rows, so a row is never an object. A subclass
declares its fields and `COLUMNS` (name -> dtype); this base gives the operations they share.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class ColumnTable:
    COLUMNS: ClassVar[dict] = {}

    @classmethod
    def empty(cls):
        return cls(**{name: np.zeros(0, dtype) for name, dtype in cls.COLUMNS.items()})

    @classmethod
    def concat(cls, parts: list):
        """Rows of all parts in order (a single non-empty part is returned as it is)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in cls.COLUMNS})

    def __len__(self) -> int:
        return len(getattr(self, next(iter(self.COLUMNS))))

    def take(self, index):
        """The rows at `index` (an index array, a mask or a slice)."""
        return type(self)(**{name: getattr(self, name)[index] for name in self.COLUMNS})
