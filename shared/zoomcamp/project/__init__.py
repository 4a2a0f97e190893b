from .pipeline import *  # noqa: F403
from .pipeline import __all__  # noqa: F401
