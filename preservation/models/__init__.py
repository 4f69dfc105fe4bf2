"""The data model, one module per topic; import models from ``preservation.models``."""
from .core import *  # noqa: F401,F403
from .reminders import *  # noqa: F401,F403
from .api import *  # noqa: F401,F403
from .accounts import *  # noqa: F401,F403
from .audit import *  # noqa: F401,F403
from .documents import *  # noqa: F401,F403
from .evidence import *  # noqa: F401,F403
from .correspondence import *  # noqa: F401,F403
