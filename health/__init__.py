"""Health: the health page's view of a Snapshot; health rules arrive with the health issue."""
