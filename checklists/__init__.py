"""Checklists: filled by a later issue (see the tracker)."""
