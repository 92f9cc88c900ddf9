"""The one door to the shards.

Only this package opens shard connections, sets ``search_path``, names schemas or reads the
photo->user map. Everything else asks it with a user ID or a photo ID.
"""
