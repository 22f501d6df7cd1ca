"""What other apps may react to, without oauth importing them.

Both are sent inside the request or transaction that caused them: a receiver that queues work
does so with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# A shop's installation works from now on (OAuth callback completed, or a pending grant
# confirmed or proven). Argument: ``company_id``.
app_installed = Signal()

# A verified launch opened an embedded session for a shop. Argument: ``company_id``.
app_launched = Signal()
