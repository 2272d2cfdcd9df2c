"""Checklists: the rollout checklist and implementation plan as YAML data, and their validated loader."""
