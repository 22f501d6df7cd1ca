# Models are split by concern; Django finds them all through this package.
from .fulfillments import *  # noqa: F403
from .prices import *  # noqa: F403
from .webhooks import *  # noqa: F403
