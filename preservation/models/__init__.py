"""The data model, one module per topic; import models from ``preservation.models``."""
from .core import *  # noqa: F401,F403
