"""Textual widgets of the desk."""
