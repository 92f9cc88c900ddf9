from accounts.models.graph import Block, BlockedBy, Follower, Following, GraphCounts, GraphOutbox
from accounts.models.moderation import ModeratorAction
from accounts.models.users import User

__all__ = [
    "Block",
    "BlockedBy",
    "Follower",
    "Following",
    "GraphCounts",
    "GraphOutbox",
    "ModeratorAction",
    "User",
]
