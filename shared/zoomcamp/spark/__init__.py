from .session import *  # noqa: F403
from .session import __all__  # noqa: F401
