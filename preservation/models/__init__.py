"""The data model, one module per topic; import models from ``preservation.models``."""
from preservation.models.accounts import *  # noqa: F401,F403
from preservation.models.api import *  # noqa: F401,F403
from preservation.models.audit import *  # noqa: F401,F403
from preservation.models.core import *  # noqa: F401,F403
from preservation.models.correspondence import *  # noqa: F401,F403
from preservation.models.documents import *  # noqa: F401,F403
from preservation.models.evidence import *  # noqa: F401,F403
from preservation.models.reminders import *  # noqa: F401,F403
from preservation.models.providers import *  # noqa: F401,F403
