"""Drop-in for ``from pyBKT.models import Model``."""

from .bkt import BKTModel as Model

__all__ = ["Model"]
