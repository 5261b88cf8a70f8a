"""Importing this module registers every generator architecture with the registry."""

from . import compact  # noqa: F401
from . import grl  # noqa: F401
from . import rrdb  # noqa: F401
from . import waifu2x  # noqa: F401
