"""The API app has no models; Django imports this module at start-up, when receivers can connect.

ApiConfig.ready() would be the usual home for this call.
"""

from instaclone.api.tokens import connect_token_cache_receivers

connect_token_cache_receivers()
